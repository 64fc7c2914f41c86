/**
 * Window primitives: convolution and pooling are compositions of these (conv2d = pad → slidingWindows →
 * reshape → matmul), so their gradients of any order come from three small rules here and the compiler
 * reuses its matmul kernels.
 *
 *   slidingWindows  x [..., H, W] -> [..., kh, kw, Ho, Wo],  out[.., i, j, p, q] = x[.., p·sh + i·dh, q·sw + j·dw]
 *                   (im2col as a view: the compiler reads x through composed strides)
 *   foldWindows     its adjoint (col2im): [..., kh, kw, Ho, Wo] -> [..., H, W], each window element summed
 *                   back to its position
 *   firstMaxMask    1 at the first maximum (row-major) over the given axes, 0 elsewhere; not differentiable
 *                   (max pooling sends its gradient there, as torch does)
 */
import { formatShape, normalizeAxis, ShapeError, sizeOf } from "../shape";
import type { Attrs, Tensor } from "../tensor";
import { reductionMap } from "./reduction-map";
import { defineOp } from "./registry";

/** A size for both spatial axes, or [for H, for W]. */
export type Pair = number | readonly [number, number];

/** The windows of {@link slidingWindows}: kernel, stride, dilation. */
export interface WindowOptions {
  kernel: Pair;
  /** Default 1. */
  stride?: Pair;
  /** Default 1. */
  dilation?: Pair;
}

/** The windows of {@link foldWindows}, and the size of the input they came from. */
export interface FoldOptions extends WindowOptions {
  /** The spatial size, [H, W], of the input the windows were taken from. */
  size: readonly [number, number];
}

/** The resolved window geometry, as stored in a node's attributes. */
export interface WindowGeometry {
  kernel: readonly [number, number];
  stride: readonly [number, number];
  dilation: readonly [number, number];
}

function pair(op: string, name: string, v: Pair | undefined, fallback: number): [number, number] {
  const p: readonly number[] = v === undefined ? [fallback, fallback] : typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ShapeError(
      `${op}: ${name} must be a whole number >= 1 or a pair [h, w] of them, got ${JSON.stringify(v)}`,
    );
  }
  return [p[0], p[1]];
}

/** Reads and checks a window op's attributes into its geometry. */
export function windowGeometry(op: string, attrs: Attrs): WindowGeometry {
  return {
    kernel: pair(op, "kernel", attrs.kernel as Pair, 1),
    stride: pair(op, "stride", attrs.stride as Pair, 1),
    dilation: pair(op, "dilation", attrs.dilation as Pair, 1),
  };
}

/** Output positions along one axis: floor((size − d·(k−1) − 1)/s) + 1; throws when the window does not fit. */
export function windowCount(op: string, size: number, k: number, s: number, d: number, axis: string): number {
  const extent = d * (k - 1) + 1;
  if (extent > size) {
    throw new ShapeError(
      `${op}: the window (kernel ${k}, dilation ${d}: extent ${extent}) is larger than the input's ${axis} (${size})`,
    );
  }
  return Math.floor((size - extent) / s) + 1;
}

function outputSize(op: string, hw: readonly number[], g: WindowGeometry): [number, number] {
  return [
    windowCount(op, hw[0], g.kernel[0], g.stride[0], g.dilation[0], "height"),
    windowCount(op, hw[1], g.kernel[1], g.stride[1], g.dilation[1], "width"),
  ];
}

/**
 * Visits every (window element, output position) pair with the flat offsets of the window tensor and of
 * the spatial input, per leading index: the one loop both references share.
 */
function forEachWindowElement(
  lead: number,
  [H, W]: readonly number[],
  g: WindowGeometry,
  [Ho, Wo]: readonly number[],
  f: (windowFlat: number, inputFlat: number) => void,
) {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [dh, dw] = g.dilation;
  let w = 0;
  for (let b = 0; b < lead; b++) {
    const base = b * H * W;
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++)
        for (let p = 0; p < Ho; p++)
          for (let q = 0; q < Wo; q++) f(w++, base + (p * sh + i * dh) * W + q * sw + j * dw);
  }
}

defineOp({
  name: "slidingWindows",
  kind: "layout",
  shape([x], attrs) {
    if (x.length < 2) {
      throw new ShapeError(`slidingWindows: needs an input [..., H, W] (rank >= 2), got ${formatShape(x)}`);
    }
    const g = windowGeometry("slidingWindows", attrs);
    const [Ho, Wo] = outputSize("slidingWindows", x.slice(-2), g);
    return [...x.slice(0, -2), g.kernel[0], g.kernel[1], Ho, Wo];
  },
  evaluate([x], node) {
    const xs = node.inputs[0].shape;
    const out = new Float64Array(node.size);
    forEachWindowElement(
      sizeOf(xs.slice(0, -2)),
      xs.slice(-2),
      windowGeometry("slidingWindows", node.attrs),
      node.shape.slice(-2),
      (w, i) => {
        out[w] = x[i];
      },
    );
    return out;
  },
  vjp(g, node) {
    const s = node.inputs[0].shape;
    return [foldWindows(g, { ...geometryOf(node), size: [s[s.length - 2], s[s.length - 1]] })];
  },
});

defineOp({
  name: "foldWindows",
  kind: "layout",
  shape([x], attrs) {
    const g = windowGeometry("foldWindows", attrs);
    const size = attrs.size as readonly number[] | undefined;
    if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ShapeError(
        `foldWindows: size must be [H, W] (whole numbers >= 1), got ${JSON.stringify(size)}`,
      );
    }
    const [Ho, Wo] = outputSize("foldWindows", size, g);
    const expected = [g.kernel[0], g.kernel[1], Ho, Wo];
    const tail = x.slice(-4);
    if (x.length < 4 || tail.some((d, i) => d !== expected[i])) {
      throw new ShapeError(
        `foldWindows: input ${formatShape(x)} does not hold the windows of a ${size[0]}x${size[1]} input ` +
          `(expected [..., ${expected.join(", ")}]: kernel, then the window counts)`,
      );
    }
    return [...x.slice(0, -4), size[0], size[1]];
  },
  evaluate([x], node) {
    const out = new Float64Array(node.size);
    forEachWindowElement(
      sizeOf(node.shape.slice(0, -2)),
      node.shape.slice(-2),
      windowGeometry("foldWindows", node.attrs),
      node.inputs[0].shape.slice(-2),
      (w, i) => {
        out[i] += x[w];
      },
    );
    return out;
  },
  vjp: (g, node) => [slidingWindows(g, geometryOf(node))],
});

defineOp({
  name: "firstMaxMask",
  kind: "layout",
  shape([x], attrs) {
    const axes = attrs.axes as readonly number[];
    if (!Array.isArray(axes) || axes.some((a) => !Number.isInteger(a) || a < 0 || a >= x.length)) {
      throw new ShapeError(`firstMaxMask: axes ${JSON.stringify(axes)} are not axes of ${formatShape(x)}`);
    }
    return x;
  },
  evaluate([x], node) {
    const map = reductionMap(node.shape, node.attrs.axes as number[]);
    // A loop, not Math.max(...map): spreading a map of a few hundred thousand entries overflows the stack.
    let groups = 0;
    for (let i = 0; i < map.length; i++) if (map[i] >= groups) groups = map[i] + 1;
    const best = new Int32Array(groups).fill(-1);
    for (let i = 0; i < x.length; i++) {
      const b = best[map[i]];
      // A NaN wins (the max lets it through), else only a strictly larger value: ties keep the first.
      if (b < 0 || (!Number.isNaN(x[b]) && (x[i] > x[b] || Number.isNaN(x[i])))) best[map[i]] = i;
    }
    const out = new Float64Array(node.size);
    for (const i of best) if (i >= 0) out[i] = 1;
    return out;
  },
});

function geometryOf(node: Tensor): WindowGeometry {
  return windowGeometry(node.op, node.attrs);
}

function checkTensor(op: string, x: Tensor) {
  if (typeof x !== "object" || x === null || !("graph" in x))
    throw new TypeError(`${op}: operand ${String(x)} is not a Tensor`);
}

/** x [..., H, W] -> [..., kh, kw, Ho, Wo]: every window of x, as a strided view. */
export function slidingWindows(x: Tensor, options: WindowOptions): Tensor {
  checkTensor("slidingWindows", x);
  const g = windowGeometry("slidingWindows", options as unknown as Attrs);
  return x.graph.addNode("slidingWindows", [x], { ...g });
}

/** [..., kh, kw, Ho, Wo] -> [..., H, W]: each window element summed back to its position (col2im). */
export function foldWindows(x: Tensor, options: FoldOptions): Tensor {
  checkTensor("foldWindows", x);
  const g = windowGeometry("foldWindows", options as unknown as Attrs);
  return x.graph.addNode("foldWindows", [x], { ...g, size: options.size && [...options.size] });
}

/** 1 at the first maximum (row-major) over `axes`, 0 elsewhere. Not differentiable. */
export function firstMaxMask(x: Tensor, axes: readonly number[]): Tensor {
  checkTensor("firstMaxMask", x);
  if (!Array.isArray(axes) || axes.length === 0)
    throw new ShapeError(`firstMaxMask: needs a non-empty list of axes, got ${JSON.stringify(axes)}`);
  const normalized = [...new Set(axes.map((a) => normalizeAxis("firstMaxMask", a, x.shape)))].sort(
    (a, b) => a - b,
  );
  return x.graph.addNode("firstMaxMask", [x], { axes: normalized });
}

/** Strides of the window view [..., kh, kw, Ho, Wo] over an input read with strides `s` [..., H, W]. */
export function windowStrides(s: readonly number[], g: WindowGeometry): number[] {
  const r = s.length;
  const [sh, sw] = g.stride;
  const [dh, dw] = g.dilation;
  return [...s.slice(0, r - 2), dh * s[r - 2], dw * s[r - 1], sh * s[r - 2], sw * s[r - 1]];
}
