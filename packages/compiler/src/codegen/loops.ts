/** Loop-nest geometry shared by the renderers: broadcasting an access to a loop shape, merging dimensions. */
import { type Shape, stridesOf } from "@adjoint/core";
import type { Access } from "../schedule/views";

/** Strides of an access read at every coordinate of `loop` (NumPy broadcasting: missing or size-1 dims read stride 0). */
export function stridesIn(a: Access, loop: Shape): number[] {
  if (a.kind === "scalar") return loop.map(() => 0);
  const lead = loop.length - a.shape.length;
  return loop.map((d, i) => {
    const j = i - lead;
    return j < 0 || (a.shape[j] === 1 && d !== 1) ? 0 : a.strides[j];
  });
}

/**
 * Merges adjacent loop dimensions wherever every stride list allows it (stride[d] = stride[d+1]·size[d+1]),
 * and drops size-1 dimensions: a contiguous [64,128] loop becomes one loop of 8192.
 */
export function collapse(
  shape: Shape,
  lists: readonly (readonly number[])[],
): { dims: number[]; map: (s: readonly number[]) => number[]; groups: number[][] } {
  const keep = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const groups: number[][] = [];
  for (const d of keep) {
    const last = groups[groups.length - 1];
    const prev = last?.[last.length - 1];
    if (prev !== undefined && lists.every((s) => s[prev] === s[d] * shape[d])) last.push(d);
    else groups.push([d]);
  }
  return {
    dims: groups.map((g) => g.reduce((n, d) => n * shape[d], 1)),
    map: (s) => groups.map((g) => s[g[g.length - 1]]),
    groups,
  };
}

export function contiguous(shape: Shape): number[] {
  return stridesOf(shape);
}

/** A range [lo, hi) of one dimension of a loop shape: one thread's share of an elementwise loop. */
export interface DimSlice {
  dim: number;
  lo: number;
  hi: number;
}

/**
 * A stride list that only keeps dimension `dim` from merging with the one before it, so that after
 * collapse() a slice of `dim` is one contiguous range of a single loop variable.
 */
export function splitBarrier(shape: Shape, dim: number): number[] {
  const c = stridesOf(shape);
  return shape.map((_, i) => (i < dim ? 0 : c[i]));
}

/** The [from, to) range of every collapsed loop for a slice of dimension `slice.dim` (whole ranges elsewhere). */
export function sliceRanges(
  shape: Shape,
  collapsed: { dims: number[]; groups: number[][] },
  slice: DimSlice,
): Array<[number, number]> {
  return collapsed.dims.map((extent, g) => {
    const group = collapsed.groups[g];
    if (!group.includes(slice.dim)) return [0, extent];
    if (group[0] !== slice.dim) throw new Error("codegen: a sliced dimension must start its loop");
    const inner = extent / shape[slice.dim];
    return [slice.lo * inner, slice.hi * inner];
  });
}
