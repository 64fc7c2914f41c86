/**
 * Layout ops (reshape, permute, broadcastTo, slice, slidingWindows) are never executed: a consumer reads
 * their source through an affine access, base + offset + Σ coord·stride. That is how transposes reach the
 * matmul unmaterialized, how a bias broadcasts inside a fused loop and how a pool reads its windows. Only
 * a reshape of a non-contiguous view needs a copy, and its source is then materialized: the reshape of a
 * conv's windows to [N, K, L] is that copy, the im2col buffer, planned like any intermediate.
 */
import { type Shape, stridesOf, windowGeometry, windowStrides } from "@adjoint/core";
import type { PNode, Program } from "../program";

export const VIEW_OPS = new Set([
  "reshape",
  "permute",
  "broadcastTo",
  "slice",
  "stopGradient",
  "slidingWindows",
]);

/** Where a node's values are: a buffer's elements at an affine index, or one constant everywhere. */
export type Access =
  | { kind: "buffer"; base: number; offset: number; shape: Shape; strides: readonly number[] }
  | { kind: "scalar"; value: number; shape: Shape };

export function isContiguous(a: Access): boolean {
  if (a.kind !== "buffer") return false;
  const s = stridesOf(a.shape);
  return a.shape.every((d, i) => d === 1 || a.strides[i] === s[i]);
}

export function isScalarConst(n: PNode): boolean {
  return n.op === "const" && n.attrs.data === undefined;
}

export class Views {
  private readonly cache = new Map<number, Access | null>();
  constructor(
    private readonly p: Program,
    /** Nodes that own a buffer even though they are views (their own copy). */
    readonly materialized: Set<number>,
  ) {}

  isView(id: number): boolean {
    return VIEW_OPS.has(this.p.nodes[id].op) && !this.materialized.has(id);
  }

  /** The access of a node's values; null when it cannot be a view (a reshape of a strided view). */
  access(id: number): Access | null {
    if (this.cache.has(id)) return this.cache.get(id)!;
    const a = this.resolve(this.p.nodes[id]);
    this.cache.set(id, a);
    return a;
  }

  /** The node owning the memory a node's values are read from (itself unless it is a view). */
  baseOf(id: number): number | null {
    const a = this.access(id);
    return a && a.kind === "buffer" ? a.base : null;
  }

  /** A materialized view's source access: what its copy reads. */
  sourceAccess(id: number): Access | null {
    return this.resolve(this.p.nodes[id], true);
  }

  private resolve(n: PNode, asView = false): Access | null {
    if (this.materialized.has(n.id) && !asView) {
      return { kind: "buffer", base: n.id, offset: 0, shape: n.shape, strides: stridesOf(n.shape) };
    }
    if (isScalarConst(n)) return { kind: "scalar", value: n.attrs.value as number, shape: n.shape };
    if (!asView && !this.isView(n.id))
      return { kind: "buffer", base: n.id, offset: 0, shape: n.shape, strides: stridesOf(n.shape) };
    const src = this.access(n.inputs[0]);
    if (!src) return null;
    if (src.kind === "scalar") return { ...src, shape: n.shape };
    switch (n.op) {
      case "stopGradient":
        return src;
      case "broadcastTo": {
        const lead = n.shape.length - src.shape.length;
        const strides = n.shape.map((d, i) => {
          const j = i - lead;
          return j < 0 || (src.shape[j] === 1 && d !== 1) ? 0 : src.strides[j];
        });
        return { ...src, shape: n.shape, strides };
      }
      case "permute": {
        const perm = n.attrs.perm as number[];
        return { ...src, shape: n.shape, strides: perm.map((q) => src.strides[q]) };
      }
      case "slidingWindows":
        // [..., H, W] read as [..., kh, kw, Ho, Wo]: the window offsets and positions compose the strides.
        return { ...src, shape: n.shape, strides: windowStrides(src.strides, windowGeometry(n.op, n.attrs)) };
      case "slice": {
        const { start, axis } = n.attrs as { start: number; axis: number };
        return { ...src, offset: src.offset + start * src.strides[axis], shape: n.shape };
      }
      case "reshape":
        if (isContiguous(src)) return { ...src, shape: n.shape, strides: stridesOf(n.shape) };
        if (src.strides.every((s) => s === 0))
          return { ...src, shape: n.shape, strides: n.shape.map(() => 0) };
        return null;
    }
    throw new Error(`views: ${n.op} is not a view op`);
  }
}
