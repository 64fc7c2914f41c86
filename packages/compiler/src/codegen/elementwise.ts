/** Elementwise groups: one loop nest computing the fused members and storing the group's outputs. */
import type { Expr, Shape } from "@adjoint/core";
import { affine, loopNest, type Stmt } from "./ast";
import { collapse, contiguous } from "./loops";
import {
  memberStatements,
  operandStrides,
  reader,
  type RenderContext,
  type Renderer,
  storeOutputs,
} from "./context";

export const renderElementwise: Renderer = (g, ctx) => {
  const shape = ctx.schedule.program.nodes[g.nodes[0]].shape;
  return renderElementwiseOver(ctx, shape, g.nodes, g.outputs, () => [], new Set());
};

/**
 * One loop nest over `shape` computing `members` (elementwise, in order) and storing `outputs`; `prelude`
 * may define locals first (`known`: nodes it defines, such as a matmul product read from memory).
 */
export function renderElementwiseOver(
  ctx: RenderContext,
  shape: Shape,
  members: readonly number[],
  outputs: readonly number[],
  prelude: (vars: Expr[], map: (strides: readonly number[]) => number[]) => Stmt[],
  known: ReadonlySet<number>,
): Stmt[] {
  const out = contiguous(shape);
  const { dims, map } = collapse(shape, [out, ...operandStrides(ctx, members, shape, known)]);
  const read = reader(ctx, shape, map);
  return loopNest("i", dims, (vars) => {
    const locals = new Set<number>(known);
    return [
      ...prelude(vars, map),
      ...memberStatements(ctx, members, vars, read, locals),
      ...storeOutputs(ctx, outputs, affine(0, vars, map(out))),
    ];
  });
}
