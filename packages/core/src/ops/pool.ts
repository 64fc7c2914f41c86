/**
 * Pooling as compositions of primitives, over the last two axes of [N, C, H, W] (or [C, H, W]), as torch:
 *
 *   maxPool2d: pad with −∞ → slidingWindows [.., kh, kw, Ho, Wo] → max over (kh, kw) with ties "first"
 *              (its VJP sends the gradient to the first maximum of each window, as torch; via firstMaxMask,
 *              which is not differentiable, so grad of grad builds and is zero almost everywhere);
 *   avgPool2d: pad with zeros → slidingWindows → sum over (kh, kw) / (kh·kw) (count_include_pad, torch's
 *              default).
 */
import { formatShape, ShapeError } from "../shape";
import type { Tensor } from "../tensor";
import { sumAxes } from "./api";
import {
  checkTensor,
  markComposite,
  outputSize,
  type Pair,
  padLastTwo,
  pair,
  type WindowGeometry,
} from "./spatial";
import { slidingWindows } from "./window";

/** Options of {@link maxPool2d} and {@link avgPool2d}: stride and padding. */
export interface PoolOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  /** On both sides of each spatial axis; at most half the kernel (as torch); default 0. */
  padding?: Pair;
}

const KNOWN = ["stride", "padding"];

function geometry(op: string, x: Tensor, kernel: Pair, options: PoolOptions): WindowGeometry {
  checkTensor(op, "the input", x);
  for (const k of Object.keys(options ?? {})) {
    if (!KNOWN.includes(k)) throw new Error(`${op}: unknown option "${k}" (known: ${KNOWN.join(", ")})`);
  }
  if (x.rank !== 3 && x.rank !== 4) {
    throw new ShapeError(`${op}: input must be [N, C, H, W] or [C, H, W], got ${formatShape(x.shape)}`);
  }
  const k = pair(op, "kernel", kernel, 1, 1);
  const geo: WindowGeometry = {
    kernel: k,
    stride: pair(op, "stride", options.stride, k, 1),
    padding: pair(op, "padding", options.padding, 0, 0),
    dilation: [1, 1],
  };
  for (let a = 0; a < 2; a++) {
    if (2 * geo.padding[a] > geo.kernel[a]) {
      throw new Error(
        `${op}: padding ${geo.padding[a]} must be at most half the kernel size ${geo.kernel[a]} (as torch)`,
      );
    }
  }
  outputSize(op, x, geo);
  return geo;
}

function windowsOf(x: Tensor, geo: WindowGeometry, fill: number): Tensor {
  const [ph, pw] = geo.padding;
  const xp = padLastTwo(x, [ph, ph, pw, pw], fill);
  return slidingWindows(xp, { kernel: geo.kernel, stride: geo.stride, dilation: geo.dilation });
}

function attrsOf(geo: WindowGeometry) {
  return { kernel: geo.kernel, stride: geo.stride, padding: geo.padding };
}

/** torch.nn.functional.max_pool2d (dilation 1, floor mode); padding counts as −∞. */
export function maxPool2d(x: Tensor, kernel: Pair, options: PoolOptions = {}): Tensor {
  const geo = geometry("maxPool2d", x, kernel, options);
  const w = windowsOf(x, geo, Number.NEGATIVE_INFINITY);
  const axes = [x.rank - 2, x.rank - 1];
  const y = w.graph.addNode("max", [w], { axes, keepdims: false, ties: "first" });
  return markComposite(y, "maxPool2d", [x], attrsOf(geo));
}

/** torch.nn.functional.avg_pool2d with count_include_pad (its default): padded zeros count in the mean. */
export function avgPool2d(x: Tensor, kernel: Pair, options: PoolOptions = {}): Tensor {
  const geo = geometry("avgPool2d", x, kernel, options);
  const w = windowsOf(x, geo, 0);
  const y = sumAxes(w, [x.rank - 2, x.rank - 1]).mul(1 / (geo.kernel[0] * geo.kernel[1]));
  return markComposite(y, "avgPool2d", [x], { ...attrsOf(geo), countIncludePad: true });
}
