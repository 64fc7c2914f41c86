/** Matmuls as JS loops: plain dot products for small ones, a packed register-tiled kernel for the rest. */
import { bin, cond, type Expr, id, index, num } from "@adjoint/core";
import type { Program } from "../program";
import type { Group } from "../schedule/fuse";
import {
  isSmallMatmul,
  JS_KU,
  JS_MR,
  JS_NR,
  MATMUL_TILE_FLOATS,
  matmulScratchFloats,
} from "../schedule/matmul-lowering";
import { affine, assign, block, constDecl, F, forLoop, letDecl, load, type Stmt } from "./ast";
import {
  baseIndex,
  local,
  memberStatements,
  type RenderContext,
  type Renderer,
  reader,
  storeOutputs,
} from "./context";
import { contiguous } from "./loops";
import { forkJoin, share } from "./parallel";

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
  const { batch, m, n, k } = matmulGeometry(ctx, g);
  const par = ctx.parallel;
  const panels = Math.ceil(n / JS_NR);
  const parts = Math.min(par?.slices ?? 1, panels);
  if (!par || parts < 2 || m * n * k * batch < par.minMacs || epilogueOverwritesOperand(g, ctx)) {
    return renderMatmulColumns(g, ctx, 0, n, ctx.plan.scratch);
  }
  // Split by column panels: each slice packs A itself and has scratch of its own (slices run at once).
  const memory = ctx.schedule.program.graph.memory;
  const slices = Array.from({ length: parts }, (_, s) => {
    const [p0, p1] = share(panels, parts, s);
    const scratch = memory.allocate(matmulScratchFloats(m, k)) / 4;
    return renderMatmulColumns(g, ctx, p0 * JS_NR, Math.min(n, p1 * JS_NR), scratch);
  });
  return forkJoin(par, slices);
};

/**
 * Whether a stored output of the group overlaps the memory its operands are read from (an optimizer
 * update written in place into a weight the product reads): the tiles store as they go, so such a product
 * must not be split (another slice could still be packing the old value).
 */
function epilogueOverwritesOperand(g: Group, ctx: RenderContext): boolean {
  const { batch, m, n, k, aBase, bBase, sA, sB } = matmulGeometry(ctx, g);
  const span = (base: number, strides: number[], dims: number[]) => [
    base,
    base + 1 + dims.reduce((e, d, i) => e + (d - 1) * Math.abs(strides[i]), 0),
  ];
  const operands = [span(aBase, sA, [batch, m, k]), span(bBase, sB, [batch, k, n])];
  const p = ctx.schedule.program;
  return g.outputs.some((o) => {
    const start = ctx.plan.location.get(o)!;
    const end = start + p.nodes[o].shape.reduce((x, d) => x * d, 1);
    return operands.some(([a, b]) => start < b && a < end);
  });
}

/** The register-blocked product of columns [j0lo, j0hi) of C (j0lo a multiple of NR), with scratch at S. */
function renderMatmulColumns(g: Group, ctx: RenderContext, j0lo: number, j0hi: number, S: number): Stmt[] {
  const p = ctx.schedule.program;
  const mm = p.nodes[g.root!];
  const { batch, m, k, aBase, bBase, sA, sB } = matmulGeometry(ctx, g);
  const n = j0hi;
  const MR = JS_MR;
  const NR = JS_NR;
  // S: MR·NR floats, the C tile
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
        num(j0lo),
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
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/** min(size − v, t): the rows or columns left in an edge tile. */
function minTile(size: number, v: string, t: number): Expr {
  return cond(bin("<", bin("-", num(size), id(v)), num(t)), bin("-", num(size), id(v)), num(t));
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

export const renderMatmul: Renderer = (g, ctx) => {
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
