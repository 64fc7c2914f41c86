/**
 * conv2d as a composition of primitives (NCHW, weights [O, C/groups, kh, kw], as torch):
 *
 *   pad (zeros) → slidingWindows [N, C, kh, kw, Ho, Wo] → reshape [N·G, Cg·kh·kw, Ho·Wo]  (the im2col buffer)
 *   → matmul with the weight [O, K] (groups = 1) or [N·G, Og, K] (the weight broadcast over the batch)
 *   → [N, O, Ho, Wo] (+ bias [O, 1, 1]).
 *
 * Every gradient (input, weight, bias; any order) comes from the primitives' VJPs: the input gradient is
 * foldWindows (col2im) of Wᵀ·g, the weight gradient g·colsᵀ. The matmul puts the output channels before the
 * pixels, so the result is already NCHW: no transpose of the output.
 */
import { formatShape, ShapeError } from "../shape";
import type { Tensor } from "../tensor";
import { checkTensor, markComposite, outputSize, type Pair, padLastTwo, pair } from "./spatial";
import { slidingWindows } from "./window";

/** Options of {@link conv2d}: stride, padding, dilation, groups (as torch). */
export interface Conv2dOptions {
  /** Default 1. */
  stride?: Pair;
  /** Zeros on both sides of each spatial axis; default 0. */
  padding?: Pair;
  /** Default 1. */
  dilation?: Pair;
  /** Default 1; must divide the input and output channels (groups = C: depthwise). */
  groups?: number;
}

const KNOWN = ["stride", "padding", "dilation", "groups"];

/** torch.nn.functional.conv2d: x [N,C,H,W], w [O, C/groups, kh, kw], b [O] → [N, O, Ho, Wo]. */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const op = "conv2d";
  checkTensor(op, "the input", x);
  checkTensor(op, "the weight", w);
  for (const k of Object.keys(options ?? {})) {
    if (!KNOWN.includes(k)) throw new Error(`conv2d: unknown option "${k}" (known: ${KNOWN.join(", ")})`);
  }
  if (x.rank !== 4) {
    throw new ShapeError(`conv2d: input must be 4-D [N, C, H, W], got ${formatShape(x.shape)}`);
  }
  if (w.rank !== 4) {
    throw new ShapeError(`conv2d: weight must be 4-D [out, in/groups, kh, kw], got ${formatShape(w.shape)}`);
  }
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new Error(`conv2d: groups must be a whole number >= 1, got ${groups}`);
  }
  const [N, C] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  if (C % groups !== 0 || O % groups !== 0) {
    throw new ShapeError(
      `conv2d: groups = ${groups} must divide both the input channels (${C}, input ${formatShape(x.shape)}) ` +
        `and the output channels (${O}, weight ${formatShape(w.shape)})`,
    );
  }
  if (Cg * groups !== C) {
    throw new ShapeError(
      `conv2d: weight ${formatShape(w.shape)} expects ${Cg * groups} input channels (${Cg} per group × ${groups} ` +
        `group${groups > 1 ? "s" : ""}), but the input ${formatShape(x.shape)} has ${C}`,
    );
  }
  if (b !== undefined && b !== null) {
    checkTensor(op, "the bias", b);
    if (b.rank !== 1 || b.shape[0] !== O) {
      throw new ShapeError(
        `conv2d: bias must be [${O}] (one per output channel), got ${formatShape(b.shape)}`,
      );
    }
  }
  const geo = {
    kernel: [kh, kw] as [number, number],
    stride: pair(op, "stride", options.stride, 1, 1),
    padding: pair(op, "padding", options.padding, 0, 0),
    dilation: pair(op, "dilation", options.dilation, 1, 1),
  };
  if (kh < 1 || kw < 1) throw new ShapeError(`conv2d: weight ${formatShape(w.shape)} has an empty kernel`);
  const [Ho, Wo] = outputSize(op, x, geo);

  const [ph, pw] = geo.padding;
  const xp = padLastTwo(x, [ph, ph, pw, pw], 0);
  const windows = slidingWindows(xp, { kernel: geo.kernel, stride: geo.stride, dilation: geo.dilation });
  const G = groups;
  const Og = O / G;
  const K = Cg * kh * kw;
  const L = Ho * Wo;
  let y: Tensor;
  if (G === 1) {
    // [O, K] · [N, K, L] → [N, O, L]
    y = w.reshape([O, K]).matmul(windows.reshape([N, K, L]));
  } else {
    // [N·G, Og, K] · [N·G, K, L] → [N·G, Og, L]: the (small) weight is broadcast over the batch.
    const wg = w
      .reshape([1, G, Og, K])
      .broadcastTo([N, G, Og, K])
      .reshape([N * G, Og, K]);
    y = wg.matmul(windows.reshape([N * G, K, L]));
  }
  y = y.reshape([N, O, Ho, Wo]);
  if (b) y = y.add(b.reshape([O, 1, 1]));
  return markComposite(y, "conv2d", b ? [x, w, b] : [x, w], {
    stride: geo.stride,
    padding: geo.padding,
    dilation: geo.dilation,
    groups,
    kernel: geo.kernel,
  });
}
