import type { Graph } from "./graph";
import * as ops from "./ops/api";
import * as nn from "./ops/neural";
import * as win from "./ops/window";
import * as conv from "./ops/conv";
import * as pool from "./ops/pool";
import * as spatial from "./ops/spatial";
import { formatShape, type Shape, sizeOf } from "./shape";

export type AttrValue = number | string | boolean | null | readonly number[] | Float32Array;
export type Attrs = Readonly<Record<string, AttrValue>>;

/** A leaf fed at run time, a trainable parameter, a non-trainable buffer (optimizer state), a constant, or an op. */
export type Role = "input" | "param" | "state" | "const" | "op";

/** Where a parameter's or buffer's float32 values live: a byte offset into the graph's shared memory. */
export interface Storage {
  readonly offset: number;
  readonly value: Float32Array;
}

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

  describe(): string {
    const label = this.name ? ` "${this.name}"` : "";
    return `${this.role === "op" ? this.op : this.role}${label} %${this.id} ${formatShape(this.shape)}`;
  }

  toString(): string {
    return `Tensor(${this.describe()})`;
  }

  // Elementwise.
  add(b: TensorLike): Tensor {
    return ops.add(this, b);
  }
  sub(b: TensorLike): Tensor {
    return ops.sub(this, b);
  }
  mul(b: TensorLike): Tensor {
    return ops.mul(this, b);
  }
  div(b: TensorLike): Tensor {
    return ops.div(this, b);
  }
  maximum(b: TensorLike): Tensor {
    return ops.maximum(this, b);
  }
  minimum(b: TensorLike): Tensor {
    return ops.minimum(this, b);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  pow(p: number): Tensor {
    return ops.pow(this, p);
  }
  sin(): Tensor {
    return ops.sin(this);
  }
  cos(): Tensor {
    return ops.cos(this);
  }
  reciprocal(): Tensor {
    return ops.reciprocal(this);
  }
  leakyRelu(alpha = 0.01): Tensor {
    return ops.leakyRelu(this, alpha);
  }
  softplus(): Tensor {
    return ops.softplus(this);
  }
  gelu(): Tensor {
    return ops.gelu(this);
  }
  sign(): Tensor {
    return ops.sign(this);
  }

  // Reductions.
  sum(axis: number | null = null, keepdims = false): Tensor {
    return ops.sum(this, axis, keepdims);
  }
  mean(axis: number | null = null, keepdims = false): Tensor {
    return ops.mean(this, axis, keepdims);
  }
  max(axis: number | null = null, keepdims = false): Tensor {
    return ops.max(this, axis, keepdims);
  }
  logsumexp(axis: number | null = null, keepdims = false): Tensor {
    return ops.logsumexp(this, axis, keepdims);
  }

  // Structure.
  matmul(b: Tensor): Tensor {
    return ops.matmul(this, b);
  }
  transpose(): Tensor {
    return ops.transpose(this);
  }
  permute(perm: readonly number[]): Tensor {
    return ops.permute(this, perm);
  }
  reshape(shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }
  broadcastTo(shape: readonly number[]): Tensor {
    return ops.broadcastTo(this, shape);
  }
  slice(start: number, end: number, axis = 0): Tensor {
    return ops.slice(this, start, end, axis);
  }

  // Windows (the primitives of convolution and pooling).
  slidingWindows(options: win.WindowOptions): Tensor {
    return win.slidingWindows(this, options);
  }
  foldWindows(options: win.FoldOptions): Tensor {
    return win.foldWindows(this, options);
  }
  firstMaxMask(axes: readonly number[]): Tensor {
    return win.firstMaxMask(this, axes);
  }

  // Convolution, pooling, padding (NCHW, as torch).
  conv2d(w: Tensor, options: conv.Conv2dOptions = {}): Tensor {
    return conv.conv2d(this, w, undefined, options);
  }
  maxPool2d(kernel: win.Pair, options: pool.PoolOptions = {}): Tensor {
    return pool.maxPool2d(this, kernel, options);
  }
  avgPool2d(kernel: win.Pair, options: pool.PoolOptions = {}): Tensor {
    return pool.avgPool2d(this, kernel, options);
  }
  /** Pads the last two axes by [top, bottom, left, right] with `value`. */
  pad(pads: readonly [number, number, number, number], value = 0): Tensor {
    return spatial.pad2d(this, pads, value);
  }

  // Neural.
  softmax(axis = -1): Tensor {
    return nn.softmax(this, axis);
  }
  logSoftmax(axis = -1): Tensor {
    return nn.logSoftmax(this, axis);
  }
  norm(): Tensor {
    return nn.norm(this);
  }
  stopGradient(): Tensor {
    return ops.stopGradient(this);
  }
  /** PyTorch's name for stopGradient. */
  detach(): Tensor {
    return ops.stopGradient(this);
  }
}
