/** Elementwise groups: one loop nest computing the fused members and storing the group's outputs. */
import type { Expr, Shape } from "@adjoint/core";
import { affine, loopNest, rangeNest, type Stmt } from "./ast";
import {
  memberStatements,
  operandStrides,
  type RenderContext,
  type Renderer,
  reader,
  storeOutputs,
} from "./context";
import { collapse, contiguous, type DimSlice, sliceRanges, splitBarrier } from "./loops";

export const renderElementwise: Renderer = (g, ctx) => {
  const shape = ctx.schedule.program.nodes[g.nodes[0]].shape;
  return renderElementwiseOver(ctx, shape, g.nodes, g.outputs, () => [], new Set());
};

/**
 * One loop nest over `shape` computing `members` (elementwise, in order) and storing `outputs`; `prelude`
 * may define locals first (`known`: nodes it defines, such as a matmul product read from memory). With a
 * `slice`, only that range of one dimension (one thread's share).
 */
export function renderElementwiseOver(
  ctx: RenderContext,
  shape: Shape,
  members: readonly number[],
  outputs: readonly number[],
  prelude: (vars: Expr[], map: (strides: readonly number[]) => number[]) => Stmt[],
  known: ReadonlySet<number>,
  slice?: DimSlice,
): Stmt[] {
  const out = contiguous(shape);
  const lists = [out, ...operandStrides(ctx, members, shape, known)];
  if (slice) lists.push(splitBarrier(shape, slice.dim));
  const collapsed = collapse(shape, lists);
  const { dims, map } = collapsed;
  const read = reader(ctx, shape, map);
  const nest = (inner: (vars: Expr[]) => Stmt[]) =>
    slice ? rangeNest("i", sliceRanges(shape, collapsed, slice), inner) : loopNest("i", dims, inner);
  return nest((vars) => {
    const locals = new Set<number>(known);
    return [
      ...prelude(vars, map),
      ...memberStatements(ctx, members, vars, read, locals),
      ...storeOutputs(ctx, outputs, affine(0, vars, map(out))),
    ];
  });
}
