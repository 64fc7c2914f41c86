/**
 * Large elementwise loops in wasm SIMD (wasm/elementwise.ts): a standalone elementwise group, or the
 * epilogue a matmul group runs over its product (an optimizer's update, a ReLU's mask), when every
 * operand is read contiguously or as one broadcast value and every member's formula is one the kernel
 * has (+ − × ÷, √, |x|, min, max, negation, and comparisons choosing between values: relu, step,
 * equal...). Anything else (exp, tanh, a broadcast along rows) stays a JS loop. Which one a group gets
 * depends on the group alone, never on the thread count, so a step split over threads computes the same
 * bits as on one.
 *
 * Each member's formula is the op's own `js` rule (the one the JS loops inline), read as an expression
 * over the kernel's lanes: one rule per op, two renderings.
 */
import { type ElementwiseDef, type Expr, getOp, id, member, num, type Shape, sizeOf } from "@adjoint/core";
import type { Group } from "../schedule/fuse";
import {
  buildElementwiseModule,
  ELEMENTWISE_EXPORT,
  type ElementwiseSpec,
  type LaneExpr,
  type LaneMask,
  operandSpan,
} from "../wasm/elementwise";
import { simdAvailable } from "../wasm/features";
import { wasmApi } from "../wasm/js-api";
import { call, exprStmt, forLoop, type Stmt } from "./ast";
import { baseIndex, type RenderContext, type Renderer } from "./context";
import { loopParts, memoryReads, slicesMayRace, splitOuterLoop } from "./loop-split";
import { contiguous, type DimSlice, stridesIn } from "./loops";

/**
 * Loops over fewer elements stay in JS: below this, the call into wasm and the loop's set-up cost about
 * what the JS loop does (W1's 16-wide layers).
 */
export const WASM_ELEMENTWISE_MIN = 256;

/** A kernel for the loop, registered under `name` (and with the workers, when the loop is split). */
export interface ElementwiseKernel {
  name: string;
  count: number;
  module: object;
  /** What run(lo, hi) ranges over: the elements (count), or the rows of a kernel over rows. */
  units: number;
}

/** Rows shorter than this stay JS loops: the per-row set-up would cost more than the SIMD gains. */
export const WASM_ELEMENTWISE_MIN_ROW = 16;

/**
 * The lane spec of the loop computing `members` over `shape` and storing `outputs` (what
 * buildElementwiseKernel compiles, or a matmul runs on its tiles), or null when it is one the kernel cannot
 * run. `known`: values the loop reads that are not members, by float offset (a matmul's product).
 */
export function elementwiseSpec(
  ctx: RenderContext,
  shape: Shape,
  members: readonly number[],
  outputs: readonly number[],
  known: ReadonlyMap<number, number> = new Map(),
  byRows = false,
): ElementwiseSpec | null {
  const count = sizeOf(shape);
  if (!simdAvailable() || count < WASM_ELEMENTWISE_MIN) return null;
  let spec = laneSpec(ctx, shape, members, outputs, known);
  // `byRows`: else as rows over the outer dims, the longest rows along which every operand is
  // contiguous or broadcast (a batch norm's statistics per channel).
  for (let split = 1; byRows && !spec && split < shape.length; split++) {
    if (sizeOf(shape.slice(split)) < WASM_ELEMENTWISE_MIN_ROW) break;
    spec = laneSpec(ctx, shape, members, outputs, known, split);
  }
  return !spec || hazard(spec) ? null : spec;
}

/** Compiles the loop's kernel and registers it as wasm.ewN. */
export function buildElementwiseKernel(ctx: RenderContext, spec: ElementwiseSpec): ElementwiseKernel {
  const count = spec.count;
  const name = `ew${ctx.externals.size}`;
  const built = buildElementwiseModule(spec);
  const module = new wasmApi.Module(built.encode());
  ctx.listings.set(name, () => built.listing());
  const memory = ctx.schedule.program.graph.memory.memory;
  const instance = new wasmApi.Instance(module, { env: { memory } });
  ctx.externals.set(name, instance.exports[ELEMENTWISE_EXPORT] as (lo: number, hi: number) => void);
  const units = spec.rows ? count / spec.rows.inner : count;
  return { name, count, module, units };
}

/** wasm.<name>(lo, hi). */
export function callKernel(kernel: ElementwiseKernel, lo: Expr, hi: Expr): Stmt {
  return exprStmt(call(member(id("wasm"), kernel.name), [lo, hi]));
}

/** Makes the kernel callable from the workers' slices. */
export function shareWithWorkers(ctx: RenderContext, kernel: ElementwiseKernel): void {
  for (const modules of ctx.parallel?.modules ?? []) {
    if (!modules.some(([name]) => name === kernel.name)) modules.push([kernel.name, kernel.module]);
  }
}

/**
 * The calls computing one slice of the loop over `shape` (a thread's share of a product's epilogue): one
 * call when the slice is one range of the flat loop, else one per index of the dimensions before it.
 */
export function sliceCalls(kernel: ElementwiseKernel, shape: Shape, slice: DimSlice): Stmt[] {
  const inner = shape.slice(slice.dim + 1).reduce((n, d) => n * d, 1);
  const outer = shape.slice(0, slice.dim).reduce((n, d) => n * d, 1);
  const block = shape[slice.dim] * inner;
  if (outer === 1) return [callKernel(kernel, num(slice.lo * inner), num(slice.hi * inner))];
  const start = (o: Expr, at: number) => ({
    type: "BinaryExpression" as const,
    operator: "+" as const,
    left: { type: "BinaryExpression" as const, operator: "*" as const, left: o, right: num(block) },
    right: num(at),
  });
  return [
    forLoop("o", num(0), num(outer), [
      callKernel(kernel, start(id("o"), slice.lo * inner), start(id("o"), slice.hi * inner)),
    ]),
  ];
}

/** A standalone elementwise group in wasm, split over the threads as the JS loop would be; else the fallback. */
export function wasmElementwiseRenderer(fallback: Renderer): Renderer {
  return (g: Group, ctx: RenderContext) => {
    const shape = ctx.schedule.program.nodes[g.nodes[0]].shape;
    const spec = elementwiseSpec(ctx, shape, g.nodes, g.outputs, new Map(), true);
    if (!spec) return fallback(g, ctx);
    const kernel = buildElementwiseKernel(ctx, spec);
    let parts = loopParts(ctx, kernel.count, kernel.units);
    if (parts > 1 && slicesMayRace(ctx, shape, memoryReads(ctx, g.nodes), g.outputs, true)) parts = 1;
    if (parts > 1) shareWithWorkers(ctx, kernel);
    return splitOuterLoop(ctx, parts, kernel.units, (outer) => [
      outer ? callKernel(kernel, outer[0], outer[1]) : callKernel(kernel, num(0), num(kernel.units)),
    ]);
  };
}

/**
 * The kernel's spec: operands read contiguously or broadcast, members as lane expressions; else null.
 * With `split`, the loop is rows over the dims before it, and each operand needs to be contiguous or
 * broadcast over the dims from it on only, at any non-negative strides over the dims before.
 */
function laneSpec(
  ctx: RenderContext,
  shape: Shape,
  members: readonly number[],
  outputs: readonly number[],
  known: ReadonlyMap<number, number>,
  split?: number,
): ElementwiseSpec | null {
  const p = ctx.schedule.program;
  const dense = contiguous(shape);
  const within = split ?? 0;
  const operands: ElementwiseSpec["operands"] = [];
  const operandAt = new Map<string, number>();
  const operand = (offset: number, broadcast: boolean, rowStrides?: number[]): LaneExpr => {
    const key = `${offset}:${broadcast}:${rowStrides}`;
    if (!operandAt.has(key))
      operandAt.set(key, operands.push({ offset: offset * 4, broadcast, rowStrides }) - 1);
    return { kind: "operand", index: operandAt.get(key)! };
  };
  const index = new Map(members.map((m, i) => [m, i]));
  const read = (input: number): LaneExpr | null => {
    const local = index.get(input);
    if (local !== undefined) return { kind: "member", index: local };
    const at = known.get(input);
    if (at !== undefined) return split === undefined ? operand(at, false) : null;
    const a = ctx.schedule.views.access(input)!;
    if (a.kind === "scalar") return { kind: "const", value: a.value };
    const strides = stridesIn(a, shape);
    const inner = (d: number) => d >= within && shape[d] !== 1;
    const rowStrides =
      split === undefined ? undefined : strides.slice(0, split).map((s, d) => (shape[d] === 1 ? 0 : s * 4));
    if (rowStrides?.some((s) => s < 0)) return null;
    if (strides.every((s, d) => s === 0 || !inner(d))) return operand(baseIndex(a, ctx), true, rowStrides);
    if (strides.every((s, d) => s === dense[d] || !inner(d)))
      return operand(baseIndex(a, ctx), false, rowStrides);
    return null;
  };
  const lanes: LaneExpr[] = [];
  for (const m of members) {
    const n = p.nodes[m];
    const def = getOp(n.op) as ElementwiseDef;
    const args = n.inputs.map(read);
    if (args.some((a) => a === null)) return null;
    const names = new Map(args.map((a, i) => [`in${i}`, a!]));
    const formula = def.js(
      n.inputs.map((_, i) => id(`in${i}`)),
      n.attrs,
    );
    const lane = laneOf(formula, names);
    if (!lane) return null;
    lanes.push(lane);
  }
  const stores = outputs.map((o) => ({ member: index.get(o)!, offset: ctx.plan.location.get(o)! * 4 }));
  if (stores.some((s) => s.member === undefined)) return null;
  const rows =
    split === undefined ? undefined : { outer: shape.slice(0, split), inner: sizeOf(shape.slice(split)) };
  return { count: sizeOf(shape), operands, members: lanes, stores, rows };
}

const ARITHMETIC: Record<string, "add" | "sub" | "mul" | "div"> = {
  "+": "add",
  "-": "sub",
  "*": "mul",
  "/": "div",
};
const COMPARISON: Record<string, LaneMask["op"]> = {
  "===": "eq",
  "==": "eq",
  "!==": "ne",
  "!=": "ne",
  "<": "lt",
  "<=": "le",
  ">": "gt",
  ">=": "ge",
};

/** An op's JS formula as a lane expression, or null where it uses what the kernel does not have. */
function laneOf(e: Expr, names: ReadonlyMap<string, LaneExpr>): LaneExpr | null {
  switch (e.type) {
    case "Literal":
      return { kind: "const", value: e.value };
    case "Identifier":
      return names.get(e.name) ?? null;
    case "UnaryExpression": {
      const x = laneOf(e.argument, names);
      if (!x) return null;
      if (e.operator === "-") return { kind: "unary", op: "neg", x };
      return e.operator === "+" ? x : null;
    }
    case "BinaryExpression": {
      const op = ARITHMETIC[e.operator];
      const a = op && laneOf(e.left, names);
      const b = a && laneOf(e.right, names);
      return b ? { kind: "binary", op, a: a!, b } : null;
    }
    case "ConditionalExpression": {
      if (e.test.type !== "BinaryExpression" || !COMPARISON[e.test.operator]) return null;
      const a = laneOf(e.test.left, names);
      const b = laneOf(e.test.right, names);
      const whenTrue = laneOf(e.consequent, names);
      const whenFalse = laneOf(e.alternate, names);
      if (!a || !b || !whenTrue || !whenFalse) return null;
      return { kind: "select", test: { op: COMPARISON[e.test.operator], a, b }, whenTrue, whenFalse };
    }
    case "CallExpression": {
      const callee = e.callee;
      if (callee.object.type !== "Identifier" || callee.object.name !== "Math" || callee.computed)
        return null;
      if (callee.property.type !== "Identifier") return null;
      const args = e.arguments.map((x) => laneOf(x, names));
      if (args.some((x) => x === null)) return null;
      const [x, y] = args as LaneExpr[];
      const fn = callee.property.name;
      if (args.length === 1 && (fn === "sqrt" || fn === "abs")) return { kind: "unary", op: fn, x };
      if (args.length === 1 && fn === "fround") return x;
      if (args.length === 2 && (fn === "min" || fn === "max")) return { kind: "binary", op: fn, a: x, b: y };
      return null;
    }
    default:
      return null;
  }
}

/**
 * Whether the kernel could read memory the loop has already written, where the JS loop would not: a
 * broadcast operand inside a stored output (the kernel reads it once, before the loop or the row), or
 * an operand overlapping an output other than at the very index it is stored at (the kernel reads four
 * elements before storing four).
 */
function hazard(spec: ElementwiseSpec): boolean {
  const bytes = spec.count * 4;
  const dense = spec.rows && contiguous(spec.rows.outer).map((s) => s * spec.rows!.inner * 4);
  return spec.stores.some((s) =>
    spec.operands.some((o) => {
      const [start, end] = operandSpan(spec, o);
      const overlaps = start < s.offset + bytes && s.offset < end;
      const sameIndex =
        !o.broadcast && o.offset === s.offset && (!dense || o.rowStrides!.every((x, d) => x === dense[d]));
      return overlaps && !sameIndex;
    }),
  );
}
