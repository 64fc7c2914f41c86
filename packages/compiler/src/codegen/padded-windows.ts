/**
 * paddedWindows (passes/padded-windows.ts): the im2col buffer [..., kh, kw, Ho, Wo] of x [..., H, W] read
 * as if padded, without a padded copy. Per (leading index, window row i, output row p) the input row
 * y = p·sh + i·dh − top is either inside x, then each of the kw·Wo window elements is a load or, in the
 * left or right padding, the fill — decided at codegen time, so the border costs no test — or in the
 * top or bottom padding, then the whole run is the fill. One test per row instead of a padded copy.
 */
import { bin, type Expr, id, logical, num, sizeOf, windowGeometry } from "@adjoint/core";
import type { Group } from "../schedule/fuse";
import { affine, assign, constDecl, forLoop, ifStmt, load, type Stmt } from "./ast";
import { baseIndex, type RenderContext } from "./context";
import { collapse, contiguous } from "./loops";
import { splitNest } from "./loop-split";

/** Above this many unrolled elements per row (kw·Wo), the j loop stays a loop with a test per element. */
const MAX_UNROLLED = 1024;

export function renderPaddedWindows(g: Group, ctx: RenderContext): Stmt[] {
  const node = ctx.schedule.program.nodes[g.root ?? g.nodes[0]];
  const x = ctx.schedule.views.access(node.inputs[0])!;
  if (x.kind !== "buffer") throw new Error("codegen: paddedWindows of a constant (internal error)");
  const { kernel, stride, dilation } = windowGeometry("paddedWindows", node.attrs);
  const [kh, kw] = kernel;
  const [sh, sw] = stride;
  const [dh, dw] = dilation;
  const [top, , left] = node.attrs.padding as number[];
  const fill = num(node.attrs.fill as number);
  const r = x.shape.length;
  const [H, W] = x.shape.slice(r - 2);
  const [Ho, Wo] = node.shape.slice(node.shape.length - 2);
  const out = contiguous(node.shape);
  const [xh, xw] = x.strides.slice(r - 2);
  const leadLists = [out.slice(0, r - 2), x.strides.slice(0, r - 2)];
  const { dims, map } = collapse(x.shape.slice(0, r - 2), leadLists);
  const outLoc = ctx.plan.location.get(node.id)!;
  const xBase = baseIndex(x, ctx);
  const v = (n: string) => id(n);
  const [oi, oj, op] = [out[r - 2], out[r - 1], out[r]];

  /** Element (j, q) of the run at d: a load from the input row at s, or the fill in the side padding. */
  const element = (j: Expr, jConst: number | null, q: number): Stmt => {
    const at = load(
      bin("+", v("d"), jConst !== null ? num(jConst * oj + q) : bin("+", bin("*", j, num(oj)), num(q))),
    );
    if (jConst !== null) {
      const col = q * sw + jConst * dw - left;
      return assign(at, col >= 0 && col < W ? load(bin("+", v("s"), num(col * xw))) : fill);
    }
    const col = bin("-", bin("+", num(q * sw), bin("*", j, num(dw))), num(left));
    return ifStmt(
      logical("&&", bin(">=", col, num(0)), bin("<", col, num(W))),
      [assign(at, load(bin("+", v("s"), bin("*", col, num(xw)))))],
      [assign(at, fill)],
    );
  };
  const unrolled = kw * Wo <= MAX_UNROLLED;
  const inside: Stmt[] = unrolled
    ? Array.from({ length: kw }, (_, j) => Array.from({ length: Wo }, (_, q) => element(num(j), j, q))).flat()
    : [
        forLoop(
          "j",
          num(0),
          num(kw),
          Array.from({ length: Wo }, (_, q) => element(v("j"), null, q)),
        ),
      ];
  const padding: Stmt[] = [
    forLoop("j", num(0), num(kw), [
      forLoop("q", num(0), num(Wo), [
        assign(load(bin("+", v("d"), bin("+", bin("*", v("j"), num(oj)), v("q")))), fill),
      ]),
    ]),
  ];

  // Split over the threads by the leading (batch × channel) index: each writes windows of its own.
  return splitNest(ctx, "b", dims, sizeOf(node.shape), [x], [node.id], (bv) => [
    forLoop("i", num(0), num(kh), [
      forLoop("p", num(0), num(Ho), [
        constDecl("y", bin("-", bin("+", bin("*", v("p"), num(sh)), bin("*", v("i"), num(dh))), num(top))),
        constDecl(
          "d",
          bin(
            "+",
            affine(outLoc, bv, map(leadLists[0])),
            bin("+", bin("*", v("i"), num(oi)), bin("*", v("p"), num(op))),
          ),
        ),
        ifStmt(
          logical("&&", bin(">=", v("y"), num(0)), bin("<", v("y"), num(H))),
          [
            constDecl("s", bin("+", affine(xBase, bv, map(leadLists[1])), bin("*", v("y"), num(xh)))),
            ...inside,
          ],
          padding,
        ),
      ]),
    ]),
  ]);
}
