/**
 * Renders each scheduled group as a loop nest over the heap F (one Float32Array over the graph's
 * memory), with every shape and offset baked in as a constant. The renderer of a group is chosen per
 * group (RENDERERS), so a matmul can go to a generated WebAssembly kernel instead.
 */
import { bin, type Expr, id, num, padValue, type Shape, sizeOf } from "@adjoint/core";
import type { Group } from "../schedule/fuse";
import type { Access } from "../schedule/views";
import { affine, assign, block, constDecl, forLoop, ifStmt, load, ret, type Stmt } from "./ast";
import { baseIndex, type RenderContext, type Renderer } from "./context";
import { renderElementwise } from "./elementwise";
import { splitNest } from "./loop-split";
import { collapse, contiguous, stridesIn } from "./loops";
import { renderMatmul } from "./matmul-js";
import { renderPaddedWindows } from "./padded-windows";
import { renderReduce } from "./reduce";
import { renderFirstMaxMask, renderFoldAtFirstMax, renderFoldWindows } from "./windows";

export { isSmallMatmul, matmulScratchFloats } from "../schedule/matmul-lowering";
export type { RenderContext, Renderer } from "./context";
export { renderElementwise, renderElementwiseOver } from "./elementwise";
export { matmulGeometry, renderMatmulJs, renderMatmulSmall } from "./matmul-js";
export { renderReduce } from "./reduce";

export const renderCopy: Renderer = (g, ctx) => {
  const p = ctx.schedule.program;
  const node = p.nodes[g.root ?? g.nodes[0]];
  const outLoc = ctx.plan.location.get(node.id)!;
  const outStrides = contiguous(node.shape);
  const copyInto = (src: Access, shape: Shape, outBase: number): Stmt[] => {
    const lists = [outStrides, stridesIn(src, shape)];
    const { dims, map } = collapse(shape, lists);
    const read = (vars: Expr[]) =>
      src.kind === "scalar" ? num(src.value) : load(affine(baseIndex(src, ctx), vars, map(lists[1])));
    const last = dims.length - 1;
    if (last >= 1 && dims[last] <= UNROLL_COPY) {
      // A short innermost run (an im2col row of Wo elements) is unrolled: the loop's overhead was most of
      // its cost (measured: LeNet's forward 25.3 → 18.9 ms, interleaved on a busy machine). Offsets from the
      // row's first element are constants.
      const [so, ss] = [map(outStrides)[last], map(lists[1])[last]];
      return splitNest(ctx, "i", dims.slice(0, last), sizeOf(shape), [src], [node.id], (vars) => {
        const at = [...vars, num(0)];
        const stmts: Stmt[] = [constDecl("d", affine(outBase, at, map(outStrides)))];
        if (src.kind === "buffer") stmts.push(constDecl("s", affine(baseIndex(src, ctx), at, map(lists[1]))));
        for (let e = 0; e < dims[last]; e++) {
          const value = src.kind === "scalar" ? num(src.value) : load(bin("+", id("s"), num(e * ss)));
          stmts.push(assign(load(bin("+", id("d"), num(e * so))), value));
        }
        return stmts;
      });
    }
    return splitNest(ctx, "i", dims, sizeOf(shape), [src], [node.id], (vars) => [
      assign(load(affine(outBase, vars, map(outStrides))), read(vars)),
    ]);
  };
  switch (node.op) {
    case "pad": {
      const { before, axis } = node.attrs as { before: number; axis: number };
      const x = ctx.schedule.views.access(node.inputs[0])!;
      const fill = num(padValue(node.attrs));
      return [
        // The fill, then the copy: two jobs when split (the join orders them).
        ...splitNest(ctx, "i", [sizeOf(node.shape)], sizeOf(node.shape), [], [node.id], ([i]) => [
          assign(load(bin("+", num(outLoc), i)), fill),
        ]),
        ...copyInto(x, x.shape, outLoc + before * outStrides[axis]),
      ];
    }
    case "foldWindows":
      return renderFoldWindows(g, ctx);
    case "firstMaxMask":
      return renderFirstMaxMask(g, ctx);
    case "foldAtFirstMax":
      return renderFoldAtFirstMax(g, ctx);
    case "paddedWindows":
      return renderPaddedWindows(g, ctx);
    case "concat": {
      const axis = node.attrs.axis as number;
      let at = 0;
      return node.inputs.flatMap((i) => {
        const x = ctx.schedule.views.access(i)!;
        const stmts = copyInto(x, x.shape, outLoc + at * outStrides[axis]);
        at += p.nodes[i].shape[axis];
        return [block(stmts)];
      });
    }
    default: {
      // A view (or a constant) that must own its memory.
      const src = ctx.schedule.views.sourceAccess(node.id)!;
      return copyInto(src, node.shape, outLoc);
    }
  }
};

/** Copies whose innermost run is at most this long are unrolled along it. */
const UNROLL_COPY = 32;

export const RENDERERS: Record<Group["kind"], Renderer> = {
  elementwise: renderElementwise,
  reduce: renderReduce,
  matmul: renderMatmul,
  copy: renderCopy,
};

/** Stops the step at the first non-finite value a group stored, returning the node's id. */
export function finiteChecks(g: Group, ctx: RenderContext): Stmt[] {
  const p = ctx.schedule.program;
  return g.outputs.map((o) =>
    forLoop("i", num(0), num(sizeOf(p.nodes[o].shape)), [
      constDecl("x", load(bin("+", num(ctx.plan.location.get(o)!), id("i")))),
      ifStmt(bin("!==", bin("-", id("x"), id("x")), num(0)), [ret(num(o))]),
    ]),
  );
}
