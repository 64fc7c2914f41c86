/**
 * What every renderer reads: the schedule and the memory plan, and the element-level pieces they share
 * (where an operand lives, reading it at loop coordinates, a fused member's formula, storing outputs).
 */
import { bin, type ElementwiseDef, type Expr, getOp, id, num, type Shape } from "@adjoint/core";
import type { MemoryPlan } from "../memory/plan";
import type { Group, Schedule } from "../schedule/fuse";
import type { Access } from "../schedule/views";
import { affine, assign, constDecl, load, type Stmt } from "./ast";
import { stridesIn } from "./loops";
import type { ParallelBuild } from "./parallel";

export interface RenderContext {
  schedule: Schedule;
  plan: MemoryPlan;
  /** Renderers may register extra callables (generated wasm kernels) here, by name. */
  externals: Map<string, (...args: number[]) => void>;
  /** The readable listing of each generated wasm kernel other than the products, by name (kernel.wasmListing). */
  listings: Map<string, () => string>;
  /** With threads > 1: where renderers register parallel jobs (see parallel.ts). */
  parallel?: ParallelBuild;
}

export type Renderer = (g: Group, ctx: RenderContext) => Stmt[];

export const local = (n: number) => `t${n}`;

/** The float index where an access's element 0 lives. */
export function baseIndex(a: Access & { kind: "buffer" }, ctx: RenderContext): number {
  const loc = ctx.plan.location.get(a.base);
  if (loc === undefined) throw new Error(`codegen: node %${a.base} has no memory location`);
  return loc + a.offset;
}

/** An expression reading input `input` at loop coordinates `vars` over `loop` (after merging). */
export function reader(ctx: RenderContext, loop: Shape, collapseMap: (s: readonly number[]) => number[]) {
  return (input: number, vars: Expr[], locals: Set<number>): Expr => {
    if (locals.has(input)) return id(local(input));
    const a = ctx.schedule.views.access(input)!;
    if (a.kind === "scalar") return num(a.value);
    return load(affine(baseIndex(a, ctx), vars, collapseMap(stridesIn(a, loop))));
  };
}

/** Stride lists of every operand read from memory by these members, in the loop shape. */
export function operandStrides(
  ctx: RenderContext,
  members: readonly number[],
  loop: Shape,
  known: ReadonlySet<number> = new Set(),
): number[][] {
  const p = ctx.schedule.program;
  const inside = new Set([...members, ...known]);
  const lists: number[][] = [];
  for (const m of members) {
    for (const i of p.nodes[m].inputs) {
      if (inside.has(i)) continue;
      lists.push(stridesIn(ctx.schedule.views.access(i)!, loop));
    }
  }
  return lists;
}

/** const t5 = <formula of node 5>; for each member in order. */
export function memberStatements(
  ctx: RenderContext,
  members: readonly number[],
  vars: Expr[],
  read: (input: number, vars: Expr[], locals: Set<number>) => Expr,
  locals: Set<number>,
): Stmt[] {
  const p = ctx.schedule.program;
  return members.map((m) => {
    const n = p.nodes[m];
    const def = getOp(n.op) as ElementwiseDef;
    const value = def.js(
      n.inputs.map((i) => read(i, vars, locals)),
      n.attrs,
    );
    locals.add(m);
    return constDecl(local(m), value);
  });
}

export function storeOutputs(ctx: RenderContext, outputs: readonly number[], index: Expr): Stmt[] {
  return outputs.map((o) => assign(load(bin("+", num(ctx.plan.location.get(o)!), index)), id(local(o))));
}
