/**
 * foldWindows (col2im) per output row, with every output element's window-column terms summed in a
 * register: for output row y and each window row i that reaches it (from window position p), element x
 * takes Σ_j cols[i, j, p, (x − j·dw)/sw] over the j that reach x, one store (the first i) or one += (the
 * others) per element. The x loop is unrolled with each element's j terms as constants, so the borders
 * (fewer j reach them) cost no bounds checks, and the interior has no per-element test either.
 *
 * Why: the row scatter before it did one read-modify-write per (i, j, q) term, 25 per element for a 5×5
 * kernel; this does one per (i, element). On W5's conv2 input gradient (384 planes, 5×5 windows of
 * 10×10 → 14×14) it took 0.50-0.58× the time of the row scatter (microbenchmark, interleaved). Fully
 * unrolling the rows too (one sum of up to 25 terms per element, 36 kB of source) ran 18× slower.
 * With wasm on, a fold with column stride 1 runs in wasm/col2im.ts instead (W5's: 1.31 → 0.22 ms); this
 * renders the others, and every fold with wasm off.
 */
import { bin, cond, type Expr, id, logical, member, num } from "@adjoint/core";
import { assign, block, call, constDecl, forLoop, ifStmt, load, loopNest, type Stmt } from "./ast";

/** Above this many unrolled terms (row width × window width) the row scatter renders the fold instead. */
export const FOLD_ROWS_MAX_TERMS = 1024;

export interface FoldRowsGeometry {
  kernel: readonly [number, number];
  stride: readonly [number, number];
  dilation: readonly [number, number];
  /** Output plane [H, W] and window counts [Ho, Wo]. */
  size: readonly [number, number];
  windows: readonly [number, number];
  /** Strides of the window tensor over (i, j, p, q). */
  srcStrides: readonly [number, number, number, number];
  /** Collapsed leading loop dims, and the output and source base expressions at their indices. */
  leadDims: readonly number[];
  outBase: (lead: Expr[]) => Expr;
  srcBase: (lead: Expr[]) => Expr;
  /** The nest over leadDims (default loopNest; windows.ts passes splitNest, to split it over threads). */
  nest?: (prefix: string, dims: readonly number[], body: (lead: Expr[]) => Stmt[]) => Stmt[];
}

/** Whether the unrolled row body stays small enough to emit. */
export function foldRowsFits(W: number, kw: number): boolean {
  return W * kw <= FOLD_ROWS_MAX_TERMS;
}

export function renderFoldRows(g: FoldRowsGeometry): Stmt[] {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [dh, dw] = g.dilation;
  const [H, W] = g.size;
  const [Ho, Wo] = g.windows;
  const [si, sj, sp, sq] = g.srcStrides;
  const v = (n: string) => id(n);
  /** Output element x's terms: the window columns j that reach it, as offsets from the row's source s. */
  const terms = (x: number): Expr[] => {
    const found: Expr[] = [];
    for (let j = 0; j < kw; j++) {
      const tx = x - j * dw;
      if (tx < 0 || tx % sw !== 0 || tx / sw >= Wo) continue;
      found.push(load(bin("+", v("s"), num(j * sj + (tx / sw) * sq))));
    }
    return found;
  };
  const sum = (list: Expr[]) => list.reduce((a, b) => bin("+", a, b));
  /** The row body for source s: store (first window row) or add into each output element. */
  const body = (first: boolean): Stmt[] =>
    Array.from({ length: W }, (_, x) => x).flatMap((x) => {
      const t = terms(x);
      const at = load(bin("+", v("row"), num(x)));
      if (t.length === 0) return first ? [assign(at, num(0))] : [];
      return [assign(at, sum(t), first ? "=" : "+=")];
    });
  const sourceAt = (lead: Expr[], i: Expr, p: Expr) =>
    bin("+", g.srcBase(lead), bin("+", bin("*", i, num(si)), bin("*", p, num(sp))));
  const zeroRow = forLoop("x", num(0), num(W), [assign(load(bin("+", v("row"), v("x"))), num(0))]);

  return (g.nest ?? loopNest)("b", g.leadDims, (lead) => {
    const rowStart = bin("+", g.outBase(lead), bin("*", v("y"), num(W)));
    if (sh !== 1) {
      // Window row i reaches y from p = (y − i·dh)/sh when that is whole and in range: a zeroed row,
      // then a test per i.
      return [
        forLoop("y", num(0), num(H), [
          constDecl("row", rowStart),
          zeroRow,
          forLoop("i", num(0), num(kh), [
            constDecl("ty", bin("-", v("y"), bin("*", v("i"), num(dh)))),
            ifStmt(
              logical(
                "&&",
                logical("&&", bin(">=", v("ty"), num(0)), bin("===", bin("%", v("ty"), num(sh)), num(0))),
                bin("<", v("ty"), num(Ho * sh)),
              ),
              [constDecl("s", sourceAt(lead, v("i"), bin("/", v("ty"), num(sh)))), ...body(false)],
            ),
          ]),
        ]),
      ];
    }
    // Stride 1: the window rows reaching y are the i with 0 <= y − i·dh < Ho, one contiguous range.
    const math = (f: string, ...args: Expr[]) => call(member(id("Math"), f), args);
    const lo =
      dh === 1
        ? cond(bin(">", v("y"), num(Ho - 1)), bin("-", v("y"), num(Ho - 1)), num(0))
        : math("max", num(0), math("ceil", bin("/", bin("-", v("y"), num(Ho - 1)), num(dh))));
    const hi =
      dh === 1
        ? cond(bin("<", v("y"), num(kh - 1)), v("y"), num(kh - 1))
        : math("min", num(kh - 1), math("floor", bin("/", v("y"), num(dh))));
    const pOf = (i: Expr) => bin("-", v("y"), bin("*", i, num(dh)));
    return [
      forLoop("y", num(0), num(H), [
        constDecl("row", rowStart),
        constDecl("lo", lo),
        constDecl("hi", hi),
        ifStmt(
          bin(">", v("lo"), v("hi")),
          [zeroRow],
          [
            block([constDecl("s", sourceAt(lead, v("lo"), pOf(v("lo")))), ...body(true)]),
            forLoop("i", bin("+", v("lo"), num(1)), bin("+", v("hi"), num(1)), [
              constDecl("s", sourceAt(lead, v("i"), pOf(v("i")))),
              ...body(false),
            ]),
          ],
        ),
      ]),
    ];
  });
}
