/** Elementwise groups: one loop nest computing the fused members and storing the group's outputs. */
import { type Expr, type Shape, sizeOf } from "@adjoint/core";
import { affine, loopNest, rangeNest, type Stmt } from "./ast";
import {
  memberStatements,
  operandStrides,
  type RenderContext,
  type Renderer,
  reader,
  storeOutputs,
} from "./context";
import { loopParts, memoryReads, slicesMayRace, splitOuterLoop } from "./loop-split";
import { collapse, contiguous, type DimSlice, sliceRanges, splitBarrier } from "./loops";

/** A standalone group: split over the threads (loop-split.ts) when it is large enough and that is safe. */
export const renderElementwise: Renderer = (g, ctx) => {
  const shape = ctx.schedule.program.nodes[g.nodes[0]].shape;
  const nest = elementwiseNest(ctx, shape, g.nodes, g.outputs, () => [], new Set());
  const outerUnits = nest.dims[0];
  let parts = loopParts(ctx, sizeOf(shape), outerUnits);
  if (parts > 1 && slicesMayRace(ctx, shape, memoryReads(ctx, g.nodes), g.outputs, true)) parts = 1;
  return splitOuterLoop(ctx, parts, outerUnits, (outer) =>
    nest.render(outer ? nest.dims.map((d, i) => (i === 0 ? outer : [0, d])) : undefined),
  );
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
  const nest = elementwiseNest(ctx, shape, members, outputs, prelude, known, slice);
  return nest.render(slice ? sliceRanges(shape, nest.collapsed, slice) : undefined);
}

/** The collapsed loop dims of such a nest, and its statements over all of them or over given ranges. */
function elementwiseNest(
  ctx: RenderContext,
  shape: Shape,
  members: readonly number[],
  outputs: readonly number[],
  prelude: (vars: Expr[], map: (strides: readonly number[]) => number[]) => Stmt[],
  known: ReadonlySet<number>,
  slice?: DimSlice,
) {
  const out = contiguous(shape);
  const lists = [out, ...operandStrides(ctx, members, shape, known)];
  if (slice) lists.push(splitBarrier(shape, slice.dim));
  const collapsed = collapse(shape, lists);
  const { dims, map } = collapsed;
  const read = reader(ctx, shape, map);
  const inner = (vars: Expr[]) => {
    const locals = new Set<number>(known);
    return [
      ...prelude(vars, map),
      ...memberStatements(ctx, members, vars, read, locals),
      ...storeOutputs(ctx, outputs, affine(0, vars, map(out))),
    ];
  };
  return {
    dims,
    collapsed,
    render: (ranges?: readonly (readonly [number | Expr, number | Expr])[]): Stmt[] =>
      ranges ? rangeNest("i", ranges, inner) : loopNest("i", dims, inner),
  };
}
