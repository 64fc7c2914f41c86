/** Shapes, strides and NumPy broadcasting. Every shape error names the op and both shapes. */

export type Shape = readonly number[];

/** A shape as text, `[64,784]`. */
export function formatShape(s: Shape): string {
  return `[${s.join(",")}]`;
}

/** The number of elements of a shape (1 for a scalar). */
export function sizeOf(s: Shape): number {
  let n = 1;
  for (const d of s) n *= d;
  return n;
}

/** Row-major strides, in elements. */
export function stridesOf(s: Shape): number[] {
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

/** Whether two shapes are equal. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** An error about shapes, naming the op, the shapes and what was expected. */
export class ShapeError extends Error {
  override name = "ShapeError";
}

/** Checks that a shape is an array of whole numbers ≥ 0 (throws a ShapeError naming `op` otherwise). */
export function checkShape(op: string, shape: readonly number[]): Shape {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(
        `${op}: invalid shape ${formatShape(shape)}: dimensions must be whole numbers >= 0`,
      );
    }
  }
  return Object.freeze([...shape]);
}

/** NumPy broadcasting of two shapes: align on the right, a dimension of 1 stretches. */
export function broadcastShapes(op: string, a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together ` +
          `(dimension ${i} of the result: ${da} vs ${db}; each pair must be equal or one of them 1)`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return Object.freeze(out);
}

/** Whether `from` broadcasts to `to` (the rule of broadcastTo). */
export function broadcastsTo(from: Shape, to: Shape): boolean {
  if (from.length > to.length) return false;
  for (let i = 0; i < from.length; i++) {
    const d = from[from.length - 1 - i];
    if (d !== 1 && d !== to[to.length - 1 - i]) return false;
  }
  return true;
}

/**
 * The axes of `to` along which `from` was stretched: summing a gradient over them (then reshaping)
 * undoes a broadcast. Leading axes that `from` lacks count too.
 */
export function broadcastAxes(from: Shape, to: Shape): number[] {
  const axes: number[] = [];
  const lead = to.length - from.length;
  for (let i = 0; i < to.length; i++) {
    if (i < lead || (from[i - lead] === 1 && to[i] !== 1)) axes.push(i);
  }
  return axes;
}

/** Normalizes a possibly negative axis; an axis out of range is an error naming the op and shape. */
export function normalizeAxis(op: string, axis: number, shape: Shape): number {
  const rank = shape.length;
  // A 0-d tensor accepts axis 0 and -1 alike, as torch does.
  const span = Math.max(rank, 1);
  if (!Number.isInteger(axis) || axis < -span || axis >= span) {
    throw new ShapeError(
      `${op}: axis ${axis} is out of range for shape ${formatShape(shape)} (rank ${rank}: expected -${rank} <= axis < ${rank})`,
    );
  }
  return axis < 0 ? axis + span : axis;
}

/**
 * For each flat index of `out`, the flat index of `src` it reads under broadcasting. Used by the
 * reference interpreter (clarity over speed).
 */
export function broadcastIndexMap(src: Shape, out: Shape): Int32Array {
  const n = sizeOf(out);
  const map = new Int32Array(n);
  const outStrides = stridesOf(out);
  const srcStrides = stridesOf(src);
  const lead = out.length - src.length;
  for (let flat = 0; flat < n; flat++) {
    let rem = flat;
    let idx = 0;
    for (let d = 0; d < out.length; d++) {
      const coord = Math.floor(rem / outStrides[d]);
      rem -= coord * outStrides[d];
      if (d >= lead && src[d - lead] !== 1) idx += coord * srcStrides[d - lead];
    }
    map[flat] = idx;
  }
  return map;
}
