/**
 * Reductions (sum, max, logsumexp) over some axes, with their fused elementwise prologue. Large ones are
 * split over the threads by their kept dims (loop-split.ts): each output is still reduced by one thread,
 * in the same order.
 */
import { bin, cond, type Expr, id, logical, math, num, sizeOf } from "@adjoint/core";
import { affine, assign, block, constDecl, ifStmt, letDecl, load, loopNest, type Stmt } from "./ast";
import { memberStatements, operandStrides, type Renderer, reader } from "./context";
import { splitNest } from "./loop-split";
import { collapse, contiguous, stridesIn } from "./loops";

export const renderReduce: Renderer = (g, ctx) => {
  const p = ctx.schedule.program;
  const root = p.nodes[g.root!];
  const x = root.inputs[0];
  const inShape = p.nodes[x].shape;
  const axes = root.attrs.axes as number[];
  const kept = inShape.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...kept, ...axes];
  const permuted = (s: readonly number[]) => order.map((d) => s[d]);
  const loop = permuted(inShape);
  const prologue = g.nodes.filter((n) => n !== g.root);

  // The output is contiguous over the kept dims (keepdims layout), constant over the reduced ones.
  const keepShape = inShape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outStrides = contiguous(keepShape).map((s, i) => (axes.includes(i) ? 0 : s));
  const lists = [
    outStrides,
    ...operandStrides(ctx, prologue, inShape),
    ...(prologue.includes(x) ? [] : [stridesIn(ctx.schedule.views.access(x)!, inShape)]),
  ].map(permuted);
  const outer = collapse(
    loop.slice(0, kept.length),
    lists.map((s) => s.slice(0, kept.length)),
  );
  const inner = collapse(
    loop.slice(kept.length),
    lists.map((s) => s.slice(kept.length)),
  );
  const fullMap = (s: readonly number[]) => {
    const ps = permuted(s);
    return [...outer.map(ps.slice(0, kept.length)), ...inner.map(ps.slice(kept.length))];
  };
  const read = reader(ctx, inShape, fullMap);
  const outIndex = (ov: Expr[]) =>
    affine(ctx.plan.location.get(g.root!)!, ov, outer.map(permuted(outStrides).slice(0, kept.length)));

  // In a block: when the reduced loop vanishes (size-1 axes), two passes would declare `v` twice.
  const element = (ov: Expr[], rv: Expr[], combine: (v: Expr) => Stmt[]) => {
    const vars = [...ov, ...rv];
    const locals = new Set<number>();
    return [
      ...memberStatements(ctx, prologue, vars, read, locals),
      constDecl("v", read(x, vars, locals)),
      ...combine(id("v")),
    ];
  };
  // Many outputs over a small window each (a pool's 2×2): the window is unrolled, the inner loops'
  // overhead was most of the work (measured: LeNet's forward 12.2 → 9.3 ms, interleaved). Each element in
  // a block of its own (they all declare v).
  const unrolled =
    outer.dims.length > 0 && inner.dims.length > 0 && inner.dims.reduce((a, d) => a * d, 1) <= UNROLL_REDUCE;
  const valueLoop = (ov: Expr[], combine: (v: Expr) => Stmt[]) =>
    unrolled
      ? indexTuples(inner.dims).map((t) => block(element(ov, t.map(num), combine)))
      : [block(loopNest("r", inner.dims, (rv) => element(ov, rv, combine)))];

  const acc = id("acc");
  const reads = [...prologue.flatMap((m) => p.nodes[m].inputs), x]
    .filter((i) => !prologue.includes(i))
    .map((i) => ctx.schedule.views.access(i)!);
  return splitNest(ctx, "o", outer.dims, sizeOf(inShape), reads, [g.root!], (ov) => {
    switch (root.op) {
      case "sum":
        return [
          letDecl("acc", num(0)),
          ...valueLoop(ov, (v) => [assign(acc, v, "+=")]),
          assign(load(outIndex(ov)), acc),
        ];
      case "max":
        return [
          letDecl("acc", num(Number.NEGATIVE_INFINITY)),
          // v !== v lets a NaN through instead of silently dropping it.
          ...valueLoop(ov, (v) => [
            ifStmt(logical("||", bin(">", v, acc), bin("!==", v, v)), [assign(acc, v)]),
          ]),
          assign(load(outIndex(ov)), acc),
        ];
      case "logsumexp":
        return [
          letDecl("acc", num(Number.NEGATIVE_INFINITY)),
          ...valueLoop(ov, (v) => [
            ifStmt(logical("||", bin(">", v, acc), bin("!==", v, v)), [assign(acc, v)]),
          ]),
          letDecl("s", num(0)),
          ...valueLoop(ov, (v) => [assign(id("s"), math("exp", bin("-", v, acc)), "+=")]),
          assign(
            load(outIndex(ov)),
            cond(bin("===", acc, num(Number.NEGATIVE_INFINITY)), acc, bin("+", acc, math("log", id("s")))),
          ),
        ];
    }
    throw new Error(`codegen: no renderer for reduction ${root.op}`);
  });
};

/** Reductions over at most this many elements per output are unrolled. */
const UNROLL_REDUCE = 16;

/** Every index tuple of a shape, in row-major order. */
function indexTuples(dims: readonly number[]): number[][] {
  let out: number[][] = [[]];
  for (const d of dims) out = out.flatMap((t) => Array.from({ length: d }, (_, i) => [...t, i]));
  return out;
}
