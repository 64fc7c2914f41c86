/**
 * Batch and layer normalization as compositions of primitives (sums, elementwise ops, broadcasts): their
 * gradients, of any order, come from the primitives' VJPs, and the compiler fuses them like any
 * elementwise chain. Semantics are torch's (F.batch_norm in training mode, F.layer_norm).
 */
import { formatShape, ShapeError, sameShape } from "../shape";
import type { Tensor } from "../tensor";
import { sumAxes } from "./api";
import { checkTensor, markComposite } from "./spatial";

/** Options of the normalization ops (eps). */
export interface NormOptions {
  /** Added to the variance; default 1e-5. */
  eps?: number;
}

function epsOf(op: string, options: NormOptions): number {
  const eps = options.eps ?? 1e-5;
  if (typeof eps !== "number" || !Number.isFinite(eps) || eps < 0) {
    throw new Error(`${op}: eps must be a finite number >= 0, got ${String(eps)}`);
  }
  return eps;
}

/** The per-channel affine parameter [C], or nothing; checked against the channel count. */
function checkAffine(
  op: string,
  what: string,
  t: Tensor | null | undefined,
  shape: readonly number[],
  x: Tensor,
) {
  if (t === undefined || t === null) return null;
  checkTensor(op, what, t);
  if (!sameShape(t.shape, shape)) {
    throw new ShapeError(
      `${op}: ${what} must be ${formatShape(shape)} for input ${formatShape(x.shape)}, got ${formatShape(t.shape)}`,
    );
  }
  return t;
}

/**
 * centered·(weight/√(variance + eps)) + bias, with the scale computed once per channel (or per normalized
 * element): one multiply (and add) per element, and a gradient with no division per element.
 */
function scaleAndShift(centered: Tensor, variance: Tensor, eps: number, w: Tensor | null, b: Tensor | null) {
  let scale = variance.add(eps).sqrt().reciprocal();
  if (w) scale = scale.mul(w);
  const y = centered.mul(scale);
  return b ? y.add(b) : y;
}

/** [1, C, 1, ...]: a per-channel tensor shaped to broadcast against x along axis 1. */
function perChannel(t: Tensor, x: Tensor): Tensor {
  return t.reshape(x.shape.map((d, i) => (i === 1 ? d : 1)));
}

/** What {@link batchNormStatistics} returns: the output and the batch mean and variance. */
export interface BatchStatistics {
  /** The normalized (and affine-transformed) output. */
  y: Tensor;
  /** The batch mean per channel, [C]. */
  mean: Tensor;
  /** The biased batch variance per channel, [C]. */
  variance: Tensor;
  /** How many values each channel's statistics are over (N·H·W). */
  count: number;
}

function checkBatchInput(op: string, x: Tensor): number[] {
  checkTensor(op, "the input", x);
  if (x.rank < 2) {
    throw new ShapeError(
      `${op}: input must be [N, C] or [N, C, H, W] (channels on axis 1), got ${formatShape(x.shape)}`,
    );
  }
  return x.shape.map((_, i) => i).filter((i) => i !== 1);
}

/**
 * Training-mode batch normalization, with the statistics it used (BatchNorm modules update their running
 * estimates from them): y = (x − mean)/√(var + eps)·weight + bias, mean and (biased) var over every axis
 * but 1.
 */
export function batchNormStatistics(
  x: Tensor,
  weight?: Tensor | null,
  bias?: Tensor | null,
  options: NormOptions = {},
): BatchStatistics {
  const op = "batchNorm";
  const axes = checkBatchInput(op, x);
  const eps = epsOf(op, options);
  const C = x.shape[1];
  const w = checkAffine(op, "weight", weight, [C], x);
  const b = checkAffine(op, "bias", bias, [C], x);
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  if (count <= 1) {
    throw new ShapeError(
      `batchNorm: expected more than 1 value per channel in training mode, got input ${formatShape(x.shape)}`,
    );
  }
  const mean = sumAxes(x, axes, true).mul(1 / count);
  const centered = x.sub(mean);
  const variance = sumAxes(centered.square(), axes, true).mul(1 / count);
  const y = scaleAndShift(centered, variance, eps, w && perChannel(w, x), b && perChannel(b, x));
  markComposite(y, "batchNorm", [x, ...(w ? [w] : []), ...(b ? [b] : [])], {
    eps,
    training: true,
    weight: w !== null,
    bias: b !== null,
  });
  return { y, mean: mean.reshape([C]), variance: variance.reshape([C]), count };
}

/** torch.nn.functional.batch_norm(training=True): normalizes with the batch statistics (biased variance). */
export function batchNorm(
  x: Tensor,
  weight?: Tensor | null,
  bias?: Tensor | null,
  options: NormOptions = {},
): Tensor {
  return batchNormStatistics(x, weight, bias, options).y;
}

/**
 * Eval-mode batch normalization: with given (running) statistics, [C] each:
 * y = (x − mean)/√(var + eps)·weight + bias.
 */
export function batchNormInference(
  x: Tensor,
  mean: Tensor,
  variance: Tensor,
  weight?: Tensor | null,
  bias?: Tensor | null,
  options: NormOptions = {},
): Tensor {
  const op = "batchNorm";
  checkBatchInput(op, x);
  const eps = epsOf(op, options);
  const C = x.shape[1];
  const m = checkAffine(op, "running mean", mean, [C], x)!;
  const v = checkAffine(op, "running variance", variance, [C], x)!;
  const w = checkAffine(op, "weight", weight, [C], x);
  const b = checkAffine(op, "bias", bias, [C], x);
  // x·scale + shift with scale = weight/√(var + eps), shift = bias − mean·scale, both per channel.
  let scale = v.add(eps).sqrt().reciprocal();
  if (w) scale = scale.mul(w);
  const shift = b ? b.sub(m.mul(scale)) : m.mul(scale).neg();
  const y = x.mul(perChannel(scale, x)).add(perChannel(shift, x));
  return markComposite(y, "batchNorm", [x, m, v, ...(w ? [w] : []), ...(b ? [b] : [])], {
    eps,
    training: false,
    weight: w !== null,
    bias: b !== null,
  });
}

/**
 * torch.nn.functional.layer_norm: normalizes over the trailing `normalizedShape` axes (biased variance),
 * then weight and bias of that shape (each optional).
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  options: NormOptions = {},
): Tensor {
  const op = "layerNorm";
  checkTensor(op, "the input", x);
  const shape = typeof normalizedShape === "number" ? [normalizedShape] : [...(normalizedShape ?? [])];
  if (shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new Error(`layerNorm: normalizedShape must be whole numbers >= 1, got [${shape.join(", ")}]`);
  }
  const k = shape.length;
  if (x.rank < k || !sameShape(x.shape.slice(x.rank - k), shape)) {
    throw new ShapeError(
      `layerNorm: input ${formatShape(x.shape)} must end in the normalized shape ${formatShape(shape)}`,
    );
  }
  const eps = epsOf(op, options);
  const w = checkAffine(op, "weight", weight, shape, x);
  const b = checkAffine(op, "bias", bias, shape, x);
  const axes = shape.map((_, i) => x.rank - k + i);
  const count = shape.reduce((n, d) => n * d, 1);
  const mean = sumAxes(x, axes, true).mul(1 / count);
  const centered = x.sub(mean);
  const variance = sumAxes(centered.square(), axes, true).mul(1 / count);
  // Here the statistics are per row and weight/bias per normalized element: they do not combine.
  let y = centered.mul(variance.add(eps).sqrt().reciprocal());
  if (w) y = y.mul(w);
  if (b) y = y.add(b);
  return markComposite(y, "layerNorm", [x, ...(w ? [w] : []), ...(b ? [b] : [])], {
    normalizedShape: shape,
    eps,
    weight: w !== null,
    bias: b !== null,
  });
}
