/**
 * The op functions users call (each is also a Tensor method). They lift plain numbers to constants,
 * normalize axes and check arguments at graph-build time, then add a node.
 */
import {
  broadcastAxes,
  formatShape,
  normalizeAxis,
  type Shape,
  ShapeError,
  sameShape,
  sizeOf,
} from "../shape";
import { Tensor, type TensorLike } from "../tensor";

function graphOf(op: string, ...xs: TensorLike[]) {
  const t = xs.find((x): x is Tensor => x instanceof Tensor);
  if (!t)
    throw new TypeError(`${op}: at least one operand must be a Tensor (got ${xs.map(String).join(", ")})`);
  return t.graph;
}

function lift(op: string, x: TensorLike, like: TensorLike): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== "number") throw new TypeError(`${op}: operand ${String(x)} is not a Tensor or a number`);
  return graphOf(op, like).scalar(x);
}

function binary(op: string, a: TensorLike, b: TensorLike): Tensor {
  const g = graphOf(op, a, b);
  return g.addNode(op, [lift(op, a, b), lift(op, b, a)]);
}

function unary(op: string, x: Tensor, attrs = {}): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: operand ${String(x)} is not a Tensor`);
  return x.graph.addNode(op, [x], attrs);
}

function finite(op: string, name: string, v: number): number {
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new Error(`${op}: ${name} must be a finite number, got ${v}`);
  return v;
}

/** Elementwise a + b, broadcasting numpy-style (a number becomes a constant). */
export const add = (a: TensorLike, b: TensorLike) => binary("add", a, b);
/** Elementwise a − b, broadcasting. */
export const sub = (a: TensorLike, b: TensorLike) => binary("sub", a, b);
/** Elementwise a · b, broadcasting. */
export const mul = (a: TensorLike, b: TensorLike) => binary("mul", a, b);
/** Elementwise a / b, broadcasting. */
export const div = (a: TensorLike, b: TensorLike) => binary("div", a, b);
/** Elementwise max(a, b), broadcasting; the gradient goes to the larger operand (halved on ties). */
export const maximum = (a: TensorLike, b: TensorLike) => binary("maximum", a, b);
/** Elementwise min(a, b), broadcasting; the gradient goes to the smaller operand (halved on ties). */
export const minimum = (a: TensorLike, b: TensorLike) => binary("minimum", a, b);
/** 1 where equal, else 0 (not differentiable). */
export const equal = (a: TensorLike, b: TensorLike) => binary("equal", a, b);

/** Elementwise −x. */
export const neg = (x: Tensor) => unary("neg", x);
/** Elementwise eˣ. */
export const exp = (x: Tensor) => unary("exp", x);
/** Elementwise natural logarithm. */
export const log = (x: Tensor) => unary("log", x);
/** Elementwise square root. */
export const sqrt = (x: Tensor) => unary("sqrt", x);
/** Elementwise hyperbolic tangent. */
export const tanh = (x: Tensor) => unary("tanh", x);
/** Elementwise logistic function 1 / (1 + e⁻ˣ). */
export const sigmoid = (x: Tensor) => unary("sigmoid", x);
/** Elementwise max(x, 0). */
export const relu = (x: Tensor) => unary("relu", x);
/** Elementwise |x|. */
export const abs = (x: Tensor) => unary("abs", x);
/** x, or 0 where |x| < 2⁻¹²⁶ (a float32 subnormal): flush-to-zero as an op. */
export const flushSubnormal = (x: Tensor) => unary("flushSubnormal", x);
/** Elementwise x². */
export const square = (x: Tensor) => unary("square", x);
/** Elementwise xᵖ for a finite constant exponent p. */
export const pow = (x: Tensor, p: number) => unary("pow", x, { p: finite("pow", "the exponent", p) });
/** Elementwise sine. */
export const sin = (x: Tensor) => unary("sin", x);
/** Elementwise cosine. */
export const cos = (x: Tensor) => unary("cos", x);
/** Elementwise 1 / x. */
export const reciprocal = (x: Tensor) => unary("reciprocal", x);
/** Elementwise x for x > 0, alpha · x otherwise (alpha defaults to 0.01). */
export const leakyRelu = (x: Tensor, alpha = 0.01) =>
  unary("leakyRelu", x, { alpha: finite("leakyRelu", "alpha", alpha) });
/** Elementwise log(1 + eˣ), computed without overflow. */
export const softplus = (x: Tensor) => unary("softplus", x);
/** Elementwise GELU, x · Φ(x) (the tanh approximation, as torch's approximate="tanh"). */
export const gelu = (x: Tensor) => unary("gelu", x);
/** Elementwise sign: −1, 0 or 1. */
export const sign = (x: Tensor) => unary("sign", x);
/** Heaviside step; `at0` is its value at 0. Not differentiable. */
export const step = (x: Tensor, at0 = 0) => unary("step", x, { at0: finite("step", "at0", at0) });
/** The same values, seen by grad as a constant (no gradient flows through). */
export const stopGradient = (x: Tensor) => unary("stopGradient", x);

function axesOf(op: string, x: Tensor, axis: number | null | undefined): number[] {
  if (axis === null || axis === undefined) return x.shape.map((_, i) => i);
  const a = normalizeAxis(op, axis, x.shape);
  return x.rank === 0 ? [] : [a]; // a 0-d tensor reduces to itself
}

/** sum over explicit axes (several at once): the form grad and the compiler use. */
export function sumAxes(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  return x.graph.addNode("sum", [x], { axes: [...axes].sort((a, b) => a - b), keepdims });
}

/** Sum over one axis, or over all of them when axis is null (the default). */
export const sum = (x: Tensor, axis: number | null = null, keepdims = false) =>
  x.graph.addNode("sum", [x], { axes: axesOf("sum", x, axis), keepdims });

/** Mean over one axis, or over all of them when axis is null (the default). */
export function mean(x: Tensor, axis: number | null = null, keepdims = false): Tensor {
  const axes = axesOf("mean", x, axis);
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  if (count === 0) throw new ShapeError(`mean: reducing ${formatShape(x.shape)} over an empty axis`);
  return sumAxes(x, axes, keepdims).mul(1 / count);
}

/**
 * Maximum over one axis, or over all of them when axis is null; ties share the gradient evenly (as
 * torch.amax).
 */
export const max = (x: Tensor, axis: number | null = null, keepdims = false) =>
  x.graph.addNode("max", [x], { axes: axesOf("max", x, axis), keepdims });

/** log Σ eˣ over one axis (or all), computed stably (shifted by the maximum). */
export const logsumexp = (x: Tensor, axis: number | null = null, keepdims = false) =>
  x.graph.addNode("logsumexp", [x], { axes: axesOf("logsumexp", x, axis), keepdims });

/** Matrix product a · b of [m, k] and [k, n] (leading batch dimensions broadcast). */
export const matmul = (a: Tensor, b: Tensor) => a.graph.addNode("matmul", [a, b]);

/** Reorders the axes: axis i of the result is axis perm[i] of x. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  return x.graph.addNode("permute", [x], { perm: perm.map((p) => normalizeAxis("permute", p, x.shape)) });
}

/** The transpose of a matrix (for a batch of matrices, of each one). */
export function transpose(x: Tensor): Tensor {
  if (x.rank < 2) {
    throw new ShapeError(
      `transpose: needs a 2-D tensor, got ${formatShape(x.shape)} (use reshape or permute)`,
    );
  }
  return swapLastAxes(x);
}

/** Swaps the last two axes (the transpose of each matrix of a batch). */
export function swapLastAxes(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = x.rank;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return permute(x, perm);
}

/** Reshape; one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1)
    throw new ShapeError(`reshape: at most one dimension may be -1, got ${formatShape(shape)}`);
  let to = [...shape];
  if (unknown === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(`reshape: cannot reshape ${formatShape(x.shape)} to ${formatShape(shape)}`);
    }
    to = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  return x.graph.addNode("reshape", [x], { shape: to });
}

/** Broadcasts x to a larger shape (numpy rules); its gradient sums back. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  return x.graph.addNode("broadcastTo", [x], { shape: [...shape] });
}

/** Elements [start, end) along an axis (the axis is kept). */
export function slice(x: Tensor, start: number, end: number, axis = 0): Tensor {
  return x.graph.addNode("slice", [x], { start, end, axis: normalizeAxis("slice", axis, x.shape) });
}

/** `before` and `after` elements of `value` (default 0; ±Infinity allowed) around one axis. */
export function pad(x: Tensor, before: number, after: number, axis = 0, value = 0): Tensor {
  const attrs = { before, after, axis: normalizeAxis("pad", axis, x.shape) };
  return x.graph.addNode("pad", [x], value === 0 ? attrs : { ...attrs, value });
}

/** Joins tensors of equal shapes (but for `axis`) along `axis`. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error("concat: needs at least one tensor");
  return tensors[0].graph.addNode("concat", tensors, {
    axis: normalizeAxis("concat", axis, tensors[0].shape),
  });
}

/** Sums a (broadcast) tensor back to `shape`: undoes a broadcast; what grad applies to every cotangent. */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const axes = broadcastAxes(shape, x.shape);
  const summed = sumAxes(x, axes, true);
  return sameShape(summed.shape, shape) ? summed : reshape(summed, shape);
}

/** target ← value at the end of the step (see ops/update.ts). */
export function assign(target: Tensor, value: Tensor): Tensor {
  if (target.role !== "param" && target.role !== "state") {
    throw new Error(`assign: the target must be a param or a buffer, got ${target.describe()}`);
  }
  return target.graph.addNode("assign", [target, value]);
}
