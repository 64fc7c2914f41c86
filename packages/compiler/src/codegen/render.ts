/**
 * Renders each scheduled group as a loop nest over the heap F (one Float32Array over the graph's
 * memory), with every shape and offset baked in as a constant. The renderer of a group is chosen per
 * group (RENDERERS), so a matmul can go to a generated WebAssembly kernel instead.
 */
import {
  bin,
  cond,
  type ElementwiseDef,
  type Expr,
  getOp,
  id,
  index,
  logical,
  math,
  num,
  padValue,
  type Shape,
  sizeOf,
} from "@adjoint/core";
import type { MemoryPlan } from "../memory/plan";
import type { Program } from "../program";
import type { Group, Schedule } from "../schedule/fuse";
import type { Access } from "../schedule/views";
import {
  affine,
  assign,
  block,
  constDecl,
  F,
  forLoop,
  ifStmt,
  letDecl,
  load,
  loopNest,
  ret,
  type Stmt,
} from "./ast";
import { collapse, contiguous, stridesIn } from "./loops";
import { renderFirstMaxMask, renderFoldAtFirstMax, renderFoldWindows } from "./windows";

export interface RenderContext {
  schedule: Schedule;
  plan: MemoryPlan;
  /** Renderers may register extra callables (generated wasm kernels) here, by name. */
  externals: Map<string, () => void>;
}

export type Renderer = (g: Group, ctx: RenderContext) => Stmt[];

const local = (n: number) => `t${n}`;

/** The float index where an access's element 0 lives. */
function baseIndex(a: Access & { kind: "buffer" }, ctx: RenderContext): number {
  const loc = ctx.plan.location.get(a.base);
  if (loc === undefined) throw new Error(`codegen: node %${a.base} has no memory location`);
  return loc + a.offset;
}

/** An expression reading input `input` at loop coordinates `vars` over `loop` (after merging). */
function reader(ctx: RenderContext, loop: Shape, collapseMap: (s: readonly number[]) => number[]) {
  return (input: number, vars: Expr[], locals: Set<number>): Expr => {
    if (locals.has(input)) return id(local(input));
    const a = ctx.schedule.views.access(input)!;
    if (a.kind === "scalar") return num(a.value);
    return load(affine(baseIndex(a, ctx), vars, collapseMap(stridesIn(a, loop))));
  };
}

/** Stride lists of every operand read from memory by these members, in the loop shape. */
function operandStrides(
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
function memberStatements(
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

function storeOutputs(ctx: RenderContext, outputs: readonly number[], index: Expr): Stmt[] {
  return outputs.map((o) => assign(load(bin("+", num(ctx.plan.location.get(o)!), index)), id(local(o))));
}

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
  const valueLoop = (ov: Expr[], combine: (v: Expr) => Stmt[]) => [
    block(
      loopNest("r", inner.dims, (rv) => {
        const vars = [...ov, ...rv];
        const locals = new Set<number>();
        return [
          ...memberStatements(ctx, prologue, vars, read, locals),
          constDecl("v", read(x, vars, locals)),
          ...combine(id("v")),
        ];
      }),
    ),
  ];

  const acc = id("acc");
  return loopNest("o", outer.dims, (ov) => {
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

/**
 * A register-blocked matmul, GotoBLAS-style: A is packed once into MR-row panels and each NR-column
 * panel of B is packed k-major, both zero-padded, so the inner loop streams two contiguous arrays
 * whatever the operands' orientation (A·B, Aᵀ·B and A·Bᵀ read their operands through strides only while
 * packing). An MR×NR tile of C lives in locals while k runs; an epilogue loop over the tile applies the
 * fused elementwise ops and stores.
 *
 * Tuned for V8 (see JS_MR): a small tile, whose 9 accumulators and 4 operands nearly fit the 15 usable
 * XMM registers (4×4 spills), the heap read through a block-local alias `H` of F (the closure variable F
 * is reloaded from its context every iteration), and `| 0` on the inner loop's indices (an int32 add
 * with no overflow check ahead of the bounds check).
 */
export const renderMatmulJs: Renderer = (g, ctx) => {
  const p = ctx.schedule.program;
  const mm = p.nodes[g.root!];
  const { batch, m, n, k, aBase, bBase, sA, sB } = matmulGeometry(ctx, g);
  const MR = JS_MR;
  const NR = JS_NR;
  const S = ctx.plan.scratch; // MR·NR floats: the C tile
  const U = JS_KU;
  const kP = Math.ceil(k / U) * U; // k padded to the unroll (zeros in both panels)
  const P = S + MATMUL_TILE_FLOATS; // NR·kP floats: the packed B panel
  const Q = P + NR * kP; // ceil(m/MR)·MR·kP floats: A in row panels
  const v = (name: string) => id(name);
  const H = v("H");
  const at = (i: Expr) => index(H, i);
  const plus = (a: Expr, c: number) => (c === 0 ? a : bin("+", a, num(c)));
  const int = (e: Expr) => (e.type === "Identifier" ? e : bin("|", e, num(0)));
  const clampedLoad = (base: Expr, c: number, stride: number, limit: string) =>
    c === 0 ? at(base) : cond(bin("<", num(c), v(limit)), at(plus(base, c * stride)), num(0));

  const packA = forLoop(
    "i0",
    num(0),
    num(m),
    [
      constDecl("rows", minTile(m, "i0", MR)),
      forLoop("k", num(0), num(k), [
        constDecl("src", affine(aBase, [v("b"), v("i0"), v("k")], sA)),
        constDecl("dst", affine(Q, [v("i0"), v("k")], [kP, MR])),
        ...range(MR).map((r) => assign(at(plus(v("dst"), r)), clampedLoad(v("src"), r, sA[1], "rows"))),
      ]),
      ...(kP > k
        ? [
            forLoop("k", num(k), num(kP), [
              constDecl("dst", affine(Q, [v("i0"), v("k")], [kP, MR])),
              ...range(MR).map((r) => assign(at(plus(v("dst"), r)), num(0))),
            ]),
          ]
        : []),
    ],
    MR,
  );
  const packB = forLoop("k", num(0), num(k), [
    constDecl("src", affine(bBase, [v("b"), v("k"), v("j0")], sB)),
    constDecl("dst", affine(P, [v("k")], [NR])),
    ...range(NR).map((c) => assign(at(plus(v("dst"), c)), clampedLoad(v("src"), c, sB[2], "cols"))),
  ]);
  const padB =
    kP > k
      ? [
          forLoop("k", num(k), num(kP), [
            constDecl("dst", affine(P, [v("k")], [NR])),
            ...range(NR).map((c) => assign(at(plus(v("dst"), c)), num(0))),
          ]),
        ]
      : [];

  const cName = (r: number, c: number) => `c${r}${c}`;
  const tile: Stmt[] = [];
  for (let r = 0; r < MR; r++) for (let c = 0; c < NR; c++) tile.push(letDecl(cName(r, c), num(0)));
  tile.push(letDecl("pa", affine(Q, [v("i0")], [kP])));
  tile.push(letDecl("pb", num(P)));
  const kBody: Stmt[] = [];
  for (let u = 0; u < U; u++) {
    for (let r = 0; r < MR; r++) kBody.push(constDecl(`a${r}_${u}`, at(int(plus(v("pa"), u * MR + r)))));
    for (let c = 0; c < NR; c++) kBody.push(constDecl(`b${c}_${u}`, at(int(plus(v("pb"), u * NR + c)))));
    for (let r = 0; r < MR; r++)
      for (let c = 0; c < NR; c++)
        kBody.push(assign(v(cName(r, c)), bin("*", v(`a${r}_${u}`), v(`b${c}_${u}`)), "+="));
  }
  kBody.push(assign(v("pa"), num(MR * U), "+="), assign(v("pb"), num(NR * U), "+="));
  tile.push(forLoop("k", num(0), num(kP), kBody, U));
  for (let r = 0; r < MR; r++)
    for (let c = 0; c < NR; c++) tile.push(assign(at(num(S + r * NR + c)), v(cName(r, c))));

  // Epilogue: C[b,i,j] through the fused elementwise ops, then stores.
  const outShape = mm.shape;
  const vars = outShape.length === 3 ? [v("b"), v("i"), v("j")] : [v("i"), v("j")];
  const epilogue = g.nodes.filter((x) => x !== g.root);
  const read = reader(ctx, outShape, (s) => [...s]);
  const locals = new Set<number>([g.root!]);
  const store = forLoop("r", num(0), v("rows"), [
    forLoop("c", num(0), v("cols"), [
      constDecl("i", bin("+", v("i0"), v("r"))),
      constDecl("j", bin("+", v("j0"), v("c"))),
      constDecl(local(g.root!), at(bin("+", num(S), bin("+", bin("*", v("r"), num(NR)), v("c"))))),
      ...memberStatements(ctx, epilogue, vars, read, locals),
      ...storeOutputs(ctx, g.outputs, affine(0, vars, contiguous(outShape))),
    ]),
  ]);

  // H: a block-local alias of the heap (each group is rendered inside its own block).
  return [
    constDecl("H", F),
    forLoop("b", num(0), num(batch), [
      packA,
      forLoop(
        "j0",
        num(0),
        num(n),
        [
          constDecl("cols", minTile(n, "j0", NR)),
          packB,
          ...padB,
          forLoop("i0", num(0), num(m), [constDecl("rows", minTile(m, "i0", MR)), ...tile, store], MR),
        ],
        NR,
      ),
    ]),
  ];
};

/**
 * Register tile of the JS matmul: MR rows of A by NR columns of B, and the unroll of its k loop. Measured
 * at 512³ (GFLOP/s, best of 6, the three orientations, four interleaved rounds of bundled builds on plain
 * node): 3×4 4.4-5.1, 4×3 4.0-5.2, 3×3 3.5-4.6; earlier, under tsx: 4×4 4.2, 2×4 3.6; unrolling k by 2 was
 * slower for every tile. 12 accumulators + 3 + 4 operands still spill a little; every larger tile spilled more.
 */
const JS_MR = 3;
const JS_NR = 4;
const JS_KU = 1;
/** Floats reserved for the C tile at the start of the scratch. */
const MATMUL_TILE_FLOATS = 16;

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/** min(size − v, t): the rows or columns left in an edge tile. */
function minTile(size: number, v: string, t: number): Expr {
  return cond(bin("<", bin("-", num(size), id(v)), num(t)), bin("-", num(size), id(v)), num(t));
}

/** Scratch floats a JS matmul of these sizes needs: the C tile, a packed B panel, A in row panels. */
export function matmulScratchFloats(m: number, k: number): number {
  const kP = Math.ceil(k / JS_KU) * JS_KU;
  return MATMUL_TILE_FLOATS + JS_NR * kP + Math.ceil(m / JS_MR) * JS_MR * kP;
}

/**
 * Small products (a batch of one, a thin matrix): a plain dot product per element with the epilogue
 * inline: no packing, no tile, which dominate at these sizes (the 8→16→1 net's step is ~1 µs).
 */
export const renderMatmulSmall: Renderer = (g, ctx) => {
  const p = ctx.schedule.program;
  const mm = p.nodes[g.root!];
  const { batch, m, n, k, aBase, bBase, sA, sB } = matmulGeometry(ctx, g);
  const v = (name: string) => id(name);
  const outShape = mm.shape;
  const vars = outShape.length === 3 ? [v("b"), v("i"), v("j")] : [v("i"), v("j")];
  const epilogue = g.nodes.filter((x) => x !== g.root);
  const read = reader(ctx, outShape, (s) => [...s]);
  const locals = new Set<number>([g.root!]);
  const dot = loopOrConst("k", k, [
    assign(
      v("acc"),
      bin(
        "*",
        load(affine(aBase, [v("b"), v("i"), v("k")], sA)),
        load(affine(bBase, [v("b"), v("k"), v("j")], sB)),
      ),
      "+=",
    ),
  ]);
  // A batch-summed product (see passes/batch-sum.ts) runs its batch inside the dot product.
  const summed = mm.attrs.sumBatch === true;
  const body = [
    letDecl("acc", num(0)),
    ...(summed ? loopOrConst("b", batch, dot) : dot),
    constDecl(local(g.root!), v("acc")),
    ...memberStatements(ctx, epilogue, vars, read, locals),
    ...storeOutputs(ctx, g.outputs, affine(0, vars, contiguous(outShape))),
  ];
  const loops = loopOrConst("i", m, loopOrConst("j", n, body));
  if (summed) return loops;
  return batch === 1 ? [constDecl("b", num(0)), ...loops] : [forLoop("b", num(0), num(batch), loops)];
};

/** A loop over [0, extent), or for an extent of 1 the body once with the variable a constant 0 (no loop). */
function loopOrConst(v: string, extent: number, body: Stmt[]): Stmt[] {
  return extent === 1 ? [block([constDecl(v, num(0)), ...body])] : [forLoop(v, num(0), num(extent), body)];
}

/** Whether a product is small enough for the plain loops (measured: below this, packing and tiles cost more). */
export function isSmallMatmul(m: number, n: number, k: number): boolean {
  return m < 4 || n < 4 || m * n * k <= 4096;
}

const renderMatmul: Renderer = (g, ctx) => {
  const { m, n, k } = matmulGeometry(ctx, g);
  const summed = ctx.schedule.program.nodes[g.root!].attrs.sumBatch === true;
  return summed || isSmallMatmul(m, n, k) ? renderMatmulSmall(g, ctx) : renderMatmulJs(g, ctx);
};

/** Shapes and strides of a matmul's operands: [batch, rows, cols] strides, batch stride 0 when shared. */
export function matmulGeometry(ctx: RenderContext, g: Group) {
  const p: Program = ctx.schedule.program;
  const mm = p.nodes[g.root!];
  const [ai, bi] = mm.inputs;
  const a = ctx.schedule.views.access(ai)!;
  const b = ctx.schedule.views.access(bi)!;
  if (a.kind !== "buffer" || b.kind !== "buffer")
    throw new Error("codegen: matmul of a constant operand is not supported");
  const as = a.shape;
  const bs = b.shape;
  const m = as[as.length - 2];
  const k = as[as.length - 1];
  const n = bs[bs.length - 1];
  // A batch-summed product has a 2-D result but reads batched operands.
  const batch = mm.attrs.sumBatch
    ? Math.max(as.length === 3 ? as[0] : 1, bs.length === 3 ? bs[0] : 1)
    : mm.shape.length === 3
      ? mm.shape[0]
      : 1;
  const tail = (s: readonly number[]) => (s.length === 3 ? [s[0], s[1], s[2]] : [0, s[0], s[1]]);
  return {
    batch,
    m,
    n,
    k,
    a,
    b,
    aBase: baseIndex(a, ctx),
    bBase: baseIndex(b, ctx),
    sA: tail(a.strides),
    sB: tail(b.strides),
  };
}

export const renderCopy: Renderer = (g, ctx) => {
  const p = ctx.schedule.program;
  const node = p.nodes[g.root ?? g.nodes[0]];
  const outLoc = ctx.plan.location.get(node.id)!;
  const outStrides = contiguous(node.shape);
  const copyInto = (src: Access, shape: Shape, outBase: number): Stmt[] => {
    const lists = [outStrides, stridesIn(src, shape)];
    const { dims, map } = collapse(shape, lists);
    return loopNest("i", dims, (vars) => [
      assign(
        load(affine(outBase, vars, map(outStrides))),
        src.kind === "scalar" ? num(src.value) : load(affine(baseIndex(src, ctx), vars, map(lists[1]))),
      ),
    ]);
  };
  switch (node.op) {
    case "pad": {
      const { before, axis } = node.attrs as { before: number; axis: number };
      const x = ctx.schedule.views.access(node.inputs[0])!;
      const fill = num(padValue(node.attrs));
      return [
        forLoop("i", num(0), num(sizeOf(node.shape)), [assign(load(bin("+", num(outLoc), id("i"))), fill)]),
        ...copyInto(x, x.shape, outLoc + before * outStrides[axis]),
      ];
    }
    case "foldWindows":
      return renderFoldWindows(g, ctx);
    case "firstMaxMask":
      return renderFirstMaxMask(g, ctx);
    case "foldAtFirstMax":
      return renderFoldAtFirstMax(g, ctx);
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
