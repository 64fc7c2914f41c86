import type { Graph } from "./graph";
import * as ops from "./ops/api";
import * as nn from "./ops/neural";
import * as win from "./ops/window";
import * as conv from "./ops/conv";
import * as pool from "./ops/pool";
import * as spatial from "./ops/spatial";
import { formatShape, type Shape, sizeOf } from "./shape";

/** A value an op's attributes may hold: numbers, strings, flags, shapes and constant data. */
export type AttrValue = number | string | boolean | null | readonly number[] | Float32Array;
/** An op's attributes by name (axes, shapes, constants, ...), frozen once the node is made. */
export type Attrs = Readonly<Record<string, AttrValue>>;

/** A leaf fed at run time, a trainable parameter, a non-trainable buffer (optimizer state), a constant, or an op. */
export type Role = "input" | "param" | "state" | "const" | "op";

/** Where a parameter's or buffer's float32 values live: a byte offset into the graph's shared memory. */
export interface Storage {
  readonly offset: number;
  readonly value: Float32Array;
}

/** A Tensor, or a number that binary ops lift to a scalar constant. */
export type TensorLike = Tensor | number;

/**
 * What a composite op (conv2d, maxPool2d, avgPool2d, pad2d, batchNorm, layerNorm) records on the tensor it
 * returns: the op as one unit, with its operands and normalized attributes. The graph itself holds only
 * primitives (their VJPs give every gradient); exporters (ONNX Conv, MaxPool, ...) and dumps read this mark
 * to see the composite again, and may skip the primitive nodes between `inputs` and the marked result.
 */
export interface CompositeMark {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly attrs: Attrs;
}

/**
 * A symbolic tensor: one node of a define-then-run graph. Nodes are immutable and numbered in creation
 * order, which is always a topological order (an op's inputs exist before it).
 */
export class Tensor {
  /** Set by ops that create gradient nodes (see grad): told apart in dumps. */
  readonly isGradient: boolean;
  /** Set by backward(): this leaf's gradient, a symbolic tensor (accumulated over several backward calls). */
  grad: Tensor | null = null;
  /** Module path at creation ("0", "encoder.fc1"): dumps group nodes by it. */
  readonly scope: string;
  /** Set on the result of a composite op (see CompositeMark); null for every other node. */
  composite: CompositeMark | null = null;

  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly op: string,
    readonly inputs: readonly Tensor[],
    readonly attrs: Attrs,
    readonly shape: Shape,
    readonly requiresGrad: boolean,
    readonly role: Role,
    readonly storage: Storage | null,
  ) {
    this.isGradient = graph.markingGradients && role === "op";
    this.scope = graph.currentScope;
  }

  get name(): string | undefined {
    const n = this.attrs.name;
    return typeof n === "string" ? n : undefined;
  }
  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get dtype(): "f32" {
    return "f32";
  }

  /** The one copy of a parameter's (or buffer's) values, a view into the graph's shared memory. */
  get value(): Float32Array {
    if (!this.storage) throw new Error(`${this.describe()} has no stored value: only params and buffers do`);
    return this.storage.value;
  }

  /** A short label: the op (or role), the name, the node id and the shape, e.g. `matmul %12 [64,10]`. */
  describe(): string {
    const label = this.name ? ` "${this.name}"` : "";
    return `${this.role === "op" ? this.op : this.role}${label} %${this.id} ${formatShape(this.shape)}`;
  }

  /** `Tensor(<describe()>)`. */
  toString(): string {
    return `Tensor(${this.describe()})`;
  }

  // Elementwise.
  /** This + b, elementwise with broadcasting (see {@link add}). */
  add(b: TensorLike): Tensor {
    return ops.add(this, b);
  }
  /** This − b, elementwise with broadcasting (see {@link sub}). */
  sub(b: TensorLike): Tensor {
    return ops.sub(this, b);
  }
  /** This · b, elementwise with broadcasting (see {@link mul}). */
  mul(b: TensorLike): Tensor {
    return ops.mul(this, b);
  }
  /** This / b, elementwise with broadcasting (see {@link div}). */
  div(b: TensorLike): Tensor {
    return ops.div(this, b);
  }
  /** Elementwise max(this, b) (see {@link maximum}). */
  maximum(b: TensorLike): Tensor {
    return ops.maximum(this, b);
  }
  /** Elementwise min(this, b) (see {@link minimum}). */
  minimum(b: TensorLike): Tensor {
    return ops.minimum(this, b);
  }
  /** Elementwise −x. */
  neg(): Tensor {
    return ops.neg(this);
  }
  /** Elementwise eˣ. */
  exp(): Tensor {
    return ops.exp(this);
  }
  /** Elementwise natural logarithm. */
  log(): Tensor {
    return ops.log(this);
  }
  /** Elementwise square root. */
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  /** Elementwise hyperbolic tangent. */
  tanh(): Tensor {
    return ops.tanh(this);
  }
  /** Elementwise logistic function. */
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  /** Elementwise max(x, 0). */
  relu(): Tensor {
    return ops.relu(this);
  }
  /** Elementwise |x|. */
  abs(): Tensor {
    return ops.abs(this);
  }
  /** x, or 0 where |x| < 2⁻¹²⁶ (a float32 subnormal). */
  flushSubnormal(): Tensor {
    return ops.flushSubnormal(this);
  }
  /** Elementwise x². */
  square(): Tensor {
    return ops.square(this);
  }
  /** Elementwise xᵖ for a constant p. */
  pow(p: number): Tensor {
    return ops.pow(this, p);
  }
  /** Elementwise sine. */
  sin(): Tensor {
    return ops.sin(this);
  }
  /** Elementwise cosine. */
  cos(): Tensor {
    return ops.cos(this);
  }
  /** Elementwise 1 / x. */
  reciprocal(): Tensor {
    return ops.reciprocal(this);
  }
  /** Elementwise leaky ReLU with slope `alpha` below 0 (see {@link leakyRelu}). */
  leakyRelu(alpha = 0.01): Tensor {
    return ops.leakyRelu(this, alpha);
  }
  /** Elementwise log(1 + eˣ). */
  softplus(): Tensor {
    return ops.softplus(this);
  }
  /** Elementwise GELU (tanh approximation; see {@link gelu}). */
  gelu(): Tensor {
    return ops.gelu(this);
  }
  /** Elementwise sign. */
  sign(): Tensor {
    return ops.sign(this);
  }

  // Reductions.
  /** Sum over one axis, or all of them (see {@link sum}). */
  sum(axis: number | null = null, keepdims = false): Tensor {
    return ops.sum(this, axis, keepdims);
  }
  /** Mean over one axis, or all of them (see {@link mean}). */
  mean(axis: number | null = null, keepdims = false): Tensor {
    return ops.mean(this, axis, keepdims);
  }
  /** Maximum over one axis, or all of them (see {@link max}). */
  max(axis: number | null = null, keepdims = false): Tensor {
    return ops.max(this, axis, keepdims);
  }
  /** Stable log Σ exp over one axis, or all of them (see {@link logsumexp}). */
  logsumexp(axis: number | null = null, keepdims = false): Tensor {
    return ops.logsumexp(this, axis, keepdims);
  }

  // Structure.
  /** Matrix product this · b (see {@link matmul}). */
  matmul(b: Tensor): Tensor {
    return ops.matmul(this, b);
  }
  /** The transpose of a matrix, or of each matrix of a batch (see {@link transpose}). */
  transpose(): Tensor {
    return ops.transpose(this);
  }
  /** Reorders the axes (see {@link permute}). */
  permute(perm: readonly number[]): Tensor {
    return ops.permute(this, perm);
  }
  /** The same elements in another shape; one dimension may be −1 (see {@link reshape}). */
  reshape(shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }
  /** Broadcasts to a larger shape (see {@link broadcastTo}). */
  broadcastTo(shape: readonly number[]): Tensor {
    return ops.broadcastTo(this, shape);
  }
  /** Elements [start, end) along an axis (see {@link slice}). */
  slice(start: number, end: number, axis = 0): Tensor {
    return ops.slice(this, start, end, axis);
  }

  // Windows (the primitives of convolution and pooling).
  /** [..., H, W] → [..., kh, kw, Ho, Wo]: every window, the primitive under convolution and pooling. */
  slidingWindows(options: win.WindowOptions): Tensor {
    return win.slidingWindows(this, options);
  }
  /** [..., kh, kw, Ho, Wo] → [..., H, W]: window elements summed back to their positions (col2im). */
  foldWindows(options: win.FoldOptions): Tensor {
    return win.foldWindows(this, options);
  }
  /** 1 at the first maximum (row-major) over `axes`, 0 elsewhere; not differentiable. */
  firstMaxMask(axes: readonly number[]): Tensor {
    return win.firstMaxMask(this, axes);
  }

  // Convolution, pooling, padding (NCHW, as torch).
  /** 2-D convolution of this NCHW input with weights [out, in/groups, kh, kw] (see {@link conv2d}). */
  conv2d(w: Tensor, options: conv.Conv2dOptions = {}): Tensor {
    return conv.conv2d(this, w, undefined, options);
  }
  /** 2-D max pooling over the last two axes (see {@link maxPool2d}). */
  maxPool2d(kernel: win.Pair, options: pool.PoolOptions = {}): Tensor {
    return pool.maxPool2d(this, kernel, options);
  }
  /** 2-D average pooling over the last two axes (see {@link avgPool2d}). */
  avgPool2d(kernel: win.Pair, options: pool.PoolOptions = {}): Tensor {
    return pool.avgPool2d(this, kernel, options);
  }
  /** Pads the last two axes by [top, bottom, left, right] with `value`. */
  pad(pads: readonly [number, number, number, number], value = 0): Tensor {
    return spatial.pad2d(this, pads, value);
  }

  // Neural.
  /** Softmax along `axis` (default: the last). */
  softmax(axis = -1): Tensor {
    return nn.softmax(this, axis);
  }
  /** Log-softmax along `axis` (default: the last), computed stably. */
  logSoftmax(axis = -1): Tensor {
    return nn.logSoftmax(this, axis);
  }
  /** The L2 norm of all elements. */
  norm(): Tensor {
    return nn.norm(this);
  }
  /** The same values, a constant for grad (see {@link stopGradient}). */
  stopGradient(): Tensor {
    return ops.stopGradient(this);
  }
  /** PyTorch's name for stopGradient. */
  detach(): Tensor {
    return ops.stopGradient(this);
  }
}
