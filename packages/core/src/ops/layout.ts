/** Ops that move data without arithmetic: permute, reshape, broadcastTo, slice, pad, concat. */
import { broadcastsTo, formatShape, type Shape, ShapeError, sizeOf, stridesOf } from "../shape";
import type { Attrs, Tensor } from "../tensor";
import { pad, permute, slice, sumTo } from "./api";
import { indexer } from "./elementwise";
import { defineOp } from "./registry";

/** Calls f(outFlat, coords) for every element of a shape, in row-major order. */
function forEachIndex(shape: Shape, f: (flat: number, coords: number[]) => void) {
  const n = sizeOf(shape);
  const coords = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    f(flat, coords);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++coords[d] < shape[d]) break;
      coords[d] = 0;
    }
  }
}

defineOp({
  name: "permute",
  kind: "layout",
  shape([x], attrs) {
    const perm = attrs.perm as number[];
    const ok = perm.length === x.length && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
    if (!ok) {
      throw new ShapeError(
        `permute: [${perm.join(",")}] is not a permutation of the ${x.length} axes of ${formatShape(x)}`,
      );
    }
    return perm.map((p) => x[p]);
  },
  evaluate([x], node) {
    const perm = node.attrs.perm as number[];
    const inStrides = stridesOf(node.inputs[0].shape);
    const out = new Float64Array(node.size);
    forEachIndex(node.shape, (flat, c) => {
      let src = 0;
      for (let d = 0; d < perm.length; d++) src += c[d] * inStrides[perm[d]];
      out[flat] = x[src];
    });
    return out;
  },
  vjp(g, node) {
    const perm = node.attrs.perm as number[];
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [permute(g, inverse)];
  },
});

defineOp({
  name: "reshape",
  kind: "layout",
  shape([x], attrs) {
    const to = attrs.shape as number[];
    if (sizeOf(to) !== sizeOf(x)) {
      throw new ShapeError(
        `reshape: cannot reshape ${formatShape(x)} (${sizeOf(x)} elements) to ${formatShape(to)} (${sizeOf(to)} elements)`,
      );
    }
    return to;
  },
  evaluate: ([x]) => Float64Array.from(x),
  vjp: (g, node) => [g.reshape(node.inputs[0].shape)],
});

defineOp({
  name: "broadcastTo",
  kind: "layout",
  shape([x], attrs) {
    const to = attrs.shape as number[];
    if (!broadcastsTo(x, to)) {
      throw new ShapeError(
        `broadcastTo: ${formatShape(x)} cannot be broadcast to ${formatShape(to)} (aligned on the right, each dimension must equal the target's or be 1)`,
      );
    }
    return to;
  },
  evaluate([x], node) {
    const ix = indexer(node.inputs[0].shape, node.shape);
    const out = new Float64Array(node.size);
    for (let i = 0; i < out.length; i++) out[i] = x[ix(i)];
    return out;
  },
  vjp: (g, node) => [sumTo(g, node.inputs[0].shape)],
});

/** Copies a block along one axis: out[.., i, ..] = x[.., i + from, ..] for i < count. */
function copyAlongAxis(
  x: Float64Array,
  xShape: Shape,
  out: Float64Array,
  outShape: Shape,
  axis: number,
  xStart: number,
  outStart: number,
  count: number,
) {
  const outer = sizeOf(xShape.slice(0, axis));
  const inner = sizeOf(xShape.slice(axis + 1));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < count; i++) {
      const src = (o * xShape[axis] + xStart + i) * inner;
      const dst = (o * outShape[axis] + outStart + i) * inner;
      for (let j = 0; j < inner; j++) out[dst + j] = x[src + j];
    }
  }
}

defineOp({
  name: "slice",
  kind: "layout",
  shape([x], attrs) {
    const { start, end, axis } = attrs as { start: number; end: number; axis: number };
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= x[axis])) {
      throw new ShapeError(
        `slice: [${start}, ${end}) is not a range within axis ${axis} of ${formatShape(x)} (expected 0 <= start <= end <= ${x[axis]})`,
      );
    }
    return x.map((d, i) => (i === axis ? end - start : d));
  },
  evaluate([x], node) {
    const { start, end, axis } = node.attrs as { start: number; end: number; axis: number };
    const out = new Float64Array(node.size);
    copyAlongAxis(x, node.inputs[0].shape, out, node.shape, axis, start, 0, end - start);
    return out;
  },
  vjp(g, node) {
    const { start, end, axis } = node.attrs as { start: number; end: number; axis: number };
    return [pad(g, start, node.inputs[0].shape[axis] - end, axis)];
  },
});

/** `value` (default 0: the VJP of slice; −∞ before a max pool) before and after along one axis. */
defineOp({
  name: "pad",
  kind: "layout",
  infiniteAttrs: ["value"],
  shape([x], attrs) {
    const { before, after, axis } = attrs as { before: number; after: number; axis: number };
    if (!(Number.isInteger(before) && Number.isInteger(after) && before >= 0 && after >= 0)) {
      throw new ShapeError(`pad: before (${before}) and after (${after}) must be whole numbers >= 0`);
    }
    if (attrs.value !== undefined && (typeof attrs.value !== "number" || Number.isNaN(attrs.value))) {
      throw new ShapeError(
        `pad: value must be a number (±Infinity allowed, not NaN), got ${String(attrs.value)}`,
      );
    }
    return x.map((d, i) => (i === axis ? d + before + after : d));
  },
  evaluate([x], node) {
    const { before, axis } = node.attrs as { before: number; axis: number };
    const xs = node.inputs[0].shape;
    const out = new Float64Array(node.size).fill(padValue(node.attrs));
    copyAlongAxis(x, xs, out, node.shape, axis, 0, before, xs[axis]);
    return out;
  },
  vjp(g, node) {
    const { before, axis } = node.attrs as { before: number; axis: number };
    return [slice(g, before, before + node.inputs[0].shape[axis], axis)];
  },
});

/** The fill of a pad node (0 when the attribute is absent, as in graphs built before it existed). */
export function padValue(attrs: Attrs): number {
  return typeof attrs.value === "number" ? attrs.value : 0;
}

defineOp({
  name: "concat",
  kind: "layout",
  shape(xs, attrs) {
    const axis = attrs.axis as number;
    const first = xs[0];
    for (const s of xs) {
      if (s.length !== first.length || s.some((d, i) => i !== axis && d !== first[i])) {
        throw new ShapeError(
          `concat: shapes ${xs.map(formatShape).join(", ")} differ outside axis ${axis} (all other dimensions must be equal)`,
        );
      }
    }
    return first.map((d, i) => (i === axis ? xs.reduce((acc, s) => acc + s[axis], 0) : d));
  },
  evaluate(xs, node) {
    const axis = node.attrs.axis as number;
    const out = new Float64Array(node.size);
    let at = 0;
    node.inputs.forEach((t: Tensor, i) => {
      copyAlongAxis(xs[i], t.shape, out, node.shape, axis, 0, at, t.shape[axis]);
      at += t.shape[axis];
    });
    return out;
  },
  vjp(g, node) {
    const axis = node.attrs.axis as number;
    let at = 0;
    return node.inputs.map((t) => {
      const part = t.requiresGrad ? slice(g, at, at + t.shape[axis], axis) : null;
      at += t.shape[axis];
      return part;
    });
  },
});
