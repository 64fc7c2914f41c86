/**
 * Loops of the window primitives that are not views:
 *  - foldWindows (col2im, the input gradient of a convolution or a pool) in gather form, per output row
 *    (leading index, y): fold-rows.ts sums each element's terms in a register; rows too wide to unroll
 *    are zeroed here, then the window rows that reach them are added in, each a stride-sw run over the
 *    row. Every output row is written by one iteration only: no scatter races, and the loop splits by
 *    rows;
 *  - firstMaxMask: per kept index, the first maximum over the reduced axes (row-major), then 0/1 stores.
 */
import { bin, cond, type Expr, id, logical, num, type Shape, sizeOf, windowGeometry } from "@adjoint/core";
import type { Group } from "../schedule/fuse";
import type { Access } from "../schedule/views";
import { affine, assign, constDecl, forLoop, ifStmt, letDecl, load, loopNest, type Stmt } from "./ast";
import type { RenderContext } from "./context";
import { foldRowsFits, renderFoldRows } from "./fold-rows";
import { splitNest } from "./loop-split";
import { collapse, contiguous, stridesIn } from "./loops";

function bufferAccess(ctx: RenderContext, input: number, op: string): Access & { kind: "buffer" } {
  const a = ctx.schedule.views.access(input)!;
  if (a.kind !== "buffer") throw new Error(`codegen: ${op} of a constant is not supported (internal error)`);
  return a;
}

function baseOf(ctx: RenderContext, a: Access & { kind: "buffer" }): number {
  return ctx.plan.location.get(a.base)! + a.offset;
}

export function renderFoldWindows(g: Group, ctx: RenderContext): Stmt[] {
  const node = ctx.schedule.program.nodes[g.root ?? g.nodes[0]];
  const src = bufferAccess(ctx, node.inputs[0], "foldWindows");
  const { kernel, stride, dilation } = windowGeometry("foldWindows", node.attrs);
  const [kh, kw] = kernel;
  const [sh, sw] = stride;
  const [dh, dw] = dilation;
  const r = node.shape.length;
  const [H, W] = node.shape.slice(r - 2);
  const [Ho, Wo] = src.shape.slice(src.shape.length - 2);
  const lead = node.shape.slice(0, r - 2);
  const outStrides = contiguous(node.shape);
  const s = src.strides;
  const q = s.length;
  const [si, sj, sp, sq] = [s[q - 4], s[q - 3], s[q - 2], s[q - 1]];
  const leadLists = [outStrides.slice(0, r - 2), s.slice(0, q - 4)];
  const { dims, map } = collapse(lead, leadLists);
  const outLoc = ctx.plan.location.get(node.id)!;
  const srcBase = baseOf(ctx, src);
  const v = (n: string) => id(n);
  if (foldRowsFits(W, kw)) {
    return renderFoldRows({
      kernel: [kh, kw],
      stride: [sh, sw],
      dilation: [dh, dw],
      size: [H, W],
      windows: [Ho, Wo],
      srcStrides: [si, sj, sp, sq],
      leadDims: dims,
      outBase: (bv) => affine(outLoc, bv, map(leadLists[0])),
      srcBase: (bv) => affine(srcBase, bv, map(leadLists[1])),
      // Split by the leading index as below: each writes output rows of its own.
      nest: (prefix, d, body) => splitNest(ctx, prefix, d, sizeOf(src.shape), [src], [node.id], body),
    });
  }

  // Split over the threads by the leading (batch × channel) index: each writes output rows of its own.
  return splitNest(ctx, "b", dims, sizeOf(src.shape), [src], [node.id], (bv) => {
    const outRow = bin("+", affine(outLoc, bv, map(leadLists[0])), bin("*", v("y"), num(W)));
    const srcLead = affine(srcBase, bv, map(leadLists[1]));
    // Window row i reaches output row y from position p = (y − i·dh)/sh, when that is whole and in range.
    const reach: Stmt[] = [
      forLoop("i", num(0), num(kh), [
        constDecl("ty", bin("-", v("y"), bin("*", v("i"), num(dh)))),
        ifStmt(
          sh === 1
            ? logical("&&", bin(">=", v("ty"), num(0)), bin("<", v("ty"), num(Ho)))
            : logical(
                "&&",
                logical("&&", bin(">=", v("ty"), num(0)), bin("===", bin("%", v("ty"), num(sh)), num(0))),
                bin("<", v("ty"), num(Ho * sh)),
              ),
          [
            constDecl("p", sh === 1 ? v("ty") : bin("/", v("ty"), num(sh))),
            forLoop("j", num(0), num(kw), [
              constDecl(
                "src",
                bin(
                  "+",
                  srcLead,
                  bin(
                    "+",
                    bin("*", v("i"), num(si)),
                    bin("+", bin("*", v("j"), num(sj)), bin("*", v("p"), num(sp))),
                  ),
                ),
              ),
              constDecl("dst", bin("+", v("row"), bin("*", v("j"), num(dw)))),
              // A short window row (Wo <= 32) is unrolled: constant offsets, no loop overhead.
              ...(Wo <= 32
                ? Array.from({ length: Wo }, (_, q) =>
                    assign(
                      load(bin("+", v("dst"), num(q * sw))),
                      load(bin("+", v("src"), num(q * sq))),
                      "+=",
                    ),
                  )
                : [
                    forLoop("q", num(0), num(Wo), [
                      assign(
                        load(bin("+", v("dst"), sw === 1 ? v("q") : bin("*", v("q"), num(sw)))),
                        load(bin("+", v("src"), sq === 1 ? v("q") : bin("*", v("q"), num(sq)))),
                        "+=",
                      ),
                    ]),
                  ]),
            ]),
          ],
        ),
      ]),
    ];
    return [
      forLoop("y", num(0), num(H), [
        constDecl("row", outRow),
        forLoop("x", num(0), num(W), [assign(load(bin("+", v("row"), v("x"))), num(0))]),
        ...reach,
      ]),
    ];
  });
}

export function renderFirstMaxMask(g: Group, ctx: RenderContext): Stmt[] {
  const node = ctx.schedule.program.nodes[g.root ?? g.nodes[0]];
  const src = ctx.schedule.views.access(node.inputs[0])!;
  const outLoc = ctx.plan.location.get(node.id)!;
  const shape: Shape = node.shape;
  const axes = node.attrs.axes as number[];
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const pick = (list: readonly number[], which: readonly number[]) => which.map((d) => list[d]);
  const outStrides = contiguous(shape);
  const inStrides = src.kind === "buffer" ? src.strides : shape.map(() => 0);
  const inBase = src.kind === "buffer" ? baseOf(ctx, src) : 0;
  const read = (ov: Expr[], rv: Expr[]) =>
    src.kind === "scalar"
      ? num(src.value)
      : load(bin("+", affine(inBase, ov, pick(inStrides, kept)), affine(0, rv, pick(inStrides, axes))));
  const at = (ov: Expr[], rv: Expr[]) =>
    bin("+", affine(outLoc, ov, pick(outStrides, kept)), affine(0, rv, pick(outStrides, axes)));
  const v = (n: string) => id(n);
  return loopNest("o", pick(shape, kept), (ov) => [
    letDecl("best", num(Number.NEGATIVE_INFINITY)),
    letDecl(
      "bestAt",
      at(
        ov,
        axes.map(() => num(0)),
      ),
    ),
    letDecl("seen", num(0)),
    ...loopNest("r", pick(shape, axes), (rv) => [
      constDecl("x", read(ov, rv)),
      // The first element, a strictly larger one, or the first NaN (the max lets a NaN through).
      ifStmt(
        logical(
          "||",
          bin("===", v("seen"), num(0)),
          logical(
            "&&",
            bin("===", v("best"), v("best")),
            logical("||", bin(">", v("x"), v("best")), bin("!==", v("x"), v("x"))),
          ),
        ),
        [assign(v("best"), v("x")), assign(v("bestAt"), at(ov, rv)), assign(v("seen"), num(1))],
      ),
      assign(load(at(ov, rv)), num(0)),
    ]),
    assign(load(v("bestAt")), num(1)),
  ]);
}

/**
 * foldAtFirstMax (passes/pool-grad.ts), a max pool's gradient: per plane, zero it, then per window find
 * the first maximum of x (window elements unrolled: offsets are constants) and add g there (times
 * step(max) with positiveOnly, the ReLU mask before the pool). When the windows tile the plane exactly
 * (stride = kernel, no dilation, H = Ho·kh, W = Wo·kw: W5's 2×2 pools) every element belongs to one
 * window: each window stores its kh·kw elements (g at the maximum, 0 elsewhere) and the plane is not
 * zeroed first, one store per element instead of a zeroing store plus a read-modify-write.
 */
export function renderFoldAtFirstMax(g: Group, ctx: RenderContext): Stmt[] {
  const node = ctx.schedule.program.nodes[g.root ?? g.nodes[0]];
  const x = bufferAccess(ctx, node.inputs[0], "foldAtFirstMax");
  const gAccess = ctx.schedule.views.access(node.inputs[1])!;
  const windows = node.attrs.windows as number[];
  const { kernel, stride, dilation } = windowGeometry("foldAtFirstMax", node.attrs);
  const r = node.shape.length;
  const [H, W] = node.shape.slice(r - 2);
  const [Ho, Wo] = windows.slice(windows.length - 2);
  const lead = node.shape.slice(0, r - 2);
  const outStrides = contiguous(node.shape);
  const gs = stridesIn(gAccess, windows);
  const w = gs.length;
  const [gi, gj, gp, gq] = gs.slice(w - 4);
  const [xh, xw] = x.strides.slice(r - 2);
  const leadLists = [outStrides.slice(0, r - 2), x.strides.slice(0, r - 2), gs.slice(0, w - 4)];
  const { dims, map } = collapse(lead, leadLists);
  const outLoc = ctx.plan.location.get(node.id)!;
  const v = (n: string) => id(n);
  const gRead = (o: Expr) => (gAccess.kind === "scalar" ? num(gAccess.value) : load(bin("+", v("gw"), o)));
  const candidates: Stmt[] = [];
  const outOffsets: number[] = [];
  const tiles =
    kernel[0] === stride[0] &&
    kernel[1] === stride[1] &&
    dilation[0] === 1 &&
    dilation[1] === 1 &&
    H === Ho * kernel[0] &&
    W === Wo * kernel[1];
  for (let i = 0; i < kernel[0]; i++)
    for (let j = 0; j < kernel[1]; j++) {
      const xOff = i * dilation[0] * xh + j * dilation[1] * xw;
      const outOff = i * dilation[0] * W + j * dilation[1];
      const gOff = i * gi + j * gj;
      outOffsets.push(outOff);
      if (i === 0 && j === 0) {
        candidates.push(letDecl("best", load(v("xw"))), letDecl("at", num(0)), letDecl("ga", num(0)));
        continue;
      }
      candidates.push(
        constDecl(`v${i}_${j}`, load(bin("+", v("xw"), num(xOff)))),
        ifStmt(
          logical(
            "||",
            bin(">", v(`v${i}_${j}`), v("best")),
            logical("&&", bin("!==", v(`v${i}_${j}`), v(`v${i}_${j}`)), bin("===", v("best"), v("best"))),
          ),
          [assign(v("best"), v(`v${i}_${j}`)), assign(v("at"), num(outOff)), assign(v("ga"), num(gOff))],
        ),
      );
    }
  const masked = node.attrs.positiveOnly === true;
  // g at the maximum, times the ReLU mask step(max) = (max > 0 ? 1 : 0) with positiveOnly.
  const value = masked
    ? bin("*", gRead(v("ga")), cond(bin(">", v("best"), num(0)), num(1), num(0)))
    : gRead(v("ga"));
  const windowAt = bin(
    "+",
    v("plane"),
    bin("+", bin("*", v("p"), num(stride[0] * W)), bin("*", v("q"), num(stride[1]))),
  );
  const store: Stmt[] = tiles
    ? [
        constDecl("g", value),
        constDecl("o", windowAt),
        ...outOffsets.map((off) =>
          assign(load(bin("+", v("o"), num(off))), cond(bin("===", v("at"), num(off)), v("g"), num(0))),
        ),
      ]
    : [assign(load(bin("+", windowAt, v("at"))), value, "+=")];
  // Split over the threads by plane (leading index): each writes a plane of its own.
  return splitNest(ctx, "b", dims, sizeOf(windows), [x, gAccess], [node.id], (bv) => [
    constDecl("plane", affine(outLoc, bv, map(leadLists[0]))),
    ...(tiles
      ? []
      : [forLoop("t", num(0), num(H * W), [assign(load(bin("+", v("plane"), v("t"))), num(0))])]),
    forLoop("p", num(0), num(Ho), [
      forLoop("q", num(0), num(Wo), [
        constDecl(
          "xw",
          bin(
            "+",
            affine(x.kind === "buffer" ? baseOf(ctx, x) : 0, bv, map(leadLists[1])),
            bin("+", bin("*", v("p"), num(stride[0] * xh)), bin("*", v("q"), num(stride[1] * xw))),
          ),
        ),
        ...(gAccess.kind === "buffer"
          ? [
              constDecl(
                "gw",
                bin(
                  "+",
                  affine(baseOf(ctx, gAccess), bv, map(leadLists[2])),
                  bin("+", bin("*", v("p"), num(gp)), bin("*", v("q"), num(gq))),
                ),
              ),
            ]
          : []),
        ...candidates,
        ...store,
      ]),
    ]),
  ]);
}
