/**
 * Neural-network ops, as compositions of primitives: their gradients come from the primitives' rules, so
 * they differentiate to any order. softmax, logSoftmax and crossEntropy go through logsumexp, which
 * subtracts the max: stable for large logits.
 */
import { formatShape, ShapeError, sameShape } from "../shape";
import { Tensor } from "../tensor";
import { equal, logsumexp, reshape, sqrt, square, sum } from "./api";

/** log softmax along an axis (default the last), computed stably as x − logsumexp(x). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return x.sub(logsumexp(x, axis, true));
}

/** Softmax along an axis (default the last), computed stably. */
export function softmax(x: Tensor, axis = -1): Tensor {
  return logSoftmax(x, axis).exp();
}

/**
 * Mean cross-entropy of logits [N,C] against class indices [N] (whole numbers fed as floats), or against
 * probability targets [N,C].
 */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  if (logits.rank !== 2) {
    throw new ShapeError(`crossEntropy: logits must be [N,C], got ${formatShape(logits.shape)}`);
  }
  const [n, c] = logits.shape;
  const logp = logSoftmax(logits, 1);
  if (sameShape(labels.shape, logits.shape)) return sum(logp.mul(labels)).mul(-1 / n);
  if (labels.rank !== 1 || labels.shape[0] !== n) {
    throw new ShapeError(
      `crossEntropy: labels must be class indices [${n}] or probabilities [${n},${c}] for logits ${formatShape(logits.shape)}, got ${formatShape(labels.shape)}`,
    );
  }
  if (labels.role === "input") labels.graph.declareClassIndices(labels, c, "crossEntropy");
  const classes = labels.graph.constant(
    Array.from({ length: c }, (_, i) => i),
    [c],
  );
  const oneHot = equal(reshape(labels, [n, 1]), classes);
  return sum(logp.mul(oneHot)).mul(-1 / n);
}

/** Mean (or sum) of squared differences between pred and target, as torch.nn.functional.mse_loss. */
export function mseLoss(pred: Tensor, target: Tensor, reduction: "mean" | "sum" = "mean"): Tensor {
  if (!sameShape(pred.shape, target.shape)) {
    throw new ShapeError(
      `mseLoss: prediction ${formatShape(pred.shape)} and target ${formatShape(target.shape)} must have the same shape`,
    );
  }
  if (reduction !== "mean" && reduction !== "sum") {
    throw new Error(`mseLoss: reduction must be "mean" or "sum", got ${JSON.stringify(reduction)}`);
  }
  const se = square(pred.sub(target));
  return reduction === "sum" ? sum(se) : se.mean();
}

/** The L2 norm of all elements (not squared). */
export function norm(x: Tensor): Tensor {
  return sqrt(sum(square(x)));
}

/** x·Wᵀ + b with torch's layout: W [out,in], b [out]. */
export function linear(x: Tensor, W: Tensor, b?: Tensor): Tensor {
  if (W.rank !== 2 || x.shape[x.rank - 1] !== W.shape[1]) {
    throw new ShapeError(
      `linear: input ${formatShape(x.shape)} does not fit weight ${formatShape(W.shape)} (expected W [out, ${x.shape[x.rank - 1]}])`,
    );
  }
  const y = x.matmul(W.transpose());
  if (!b) return y;
  if (!(b instanceof Tensor) || b.rank !== 1 || b.shape[0] !== W.shape[0]) {
    throw new ShapeError(
      `linear: bias must be [${W.shape[0]}], got ${b instanceof Tensor ? formatShape(b.shape) : String(b)}`,
    );
  }
  return y.add(b);
}
