/**
 * A 2×2 stride-2 max pool as WebAssembly SIMD kernels, four windows at a time, the maximum chosen with
 * compares and bitselects instead of branches: the forward max ("max") and its gradient ("gradient",
 * foldAtFirstMax over windows that tile the plane). Which element of a window is its maximum is data, so the JS loop's branches mispredict: on
 * W5's first pool (384 planes 28×28) the JS loop took 0.85 ms on random data and 0.23 ms on sorted data
 * (microbenchmark), three quarters of its time in mispredictions; a branch-free JS version was 1.3× slower
 * (V8 keeps the branches). Bit for bit the JS loops' results: the same comparisons in the same order
 * (gradient: a later element wins if it is larger, or if it is NaN and the best so far is not; g at the
 * maximum, times step(max) with positiveOnly, +0 elsewhere. max: a later element wins if it is larger or
 * NaN, reduce.ts's test).
 */
import { advance, countedLoop, loadLanes, storeLanes } from "./emit-helpers";
import { FunctionBuilder, I32, ModuleBuilder, V128 } from "./encoder";

export const POOL_EXPORT = "run";

export interface Pool2x2Spec {
  mode: "max" | "gradient";
  /**
   * Planes (leading indices): x rows of xRowStride floats (at least 2·Wo of them read per row); out
   * [Ho, Wo] (max) or [2·Ho, 2·Wo] (gradient, x the same), g [Ho, Wo]; rows contiguous.
   */
  planes: number;
  Ho: number;
  Wo: number;
  /** Byte offsets of the first plane of each, and the byte distance between planes. */
  xOffset: number;
  gOffset: number;
  outOffset: number;
  xPlaneStride: number;
  gPlaneStride: number;
  outPlaneStride: number;
  xRowStride: number;
  positiveOnly: boolean;
}

export function buildPool2x2Module(spec: Pool2x2Spec): ModuleBuilder {
  const { planes, Ho, Wo } = spec;
  const W = 2 * Wo;
  const rowBytes = spec.xRowStride * 4;
  const gradient = spec.mode === "gradient";
  const outRowBytes = gradient ? W * 4 : Wo * 4;
  const fn = new FunctionBuilder(POOL_EXPORT, []);
  const i32 = (name: string) => fn.local(name, I32);
  const v128 = (name: string) => fn.local(name, V128);
  const [planeLeft, rowLeft, groupLeft] = ["plane_left", "row_left", "group_left"].map(i32);
  const [xPlane, gPlane, oPlane, xRow, gRow, oRow, xp, gp, op] = [
    "x_plane",
    "g_plane",
    "o_plane",
    "x_row",
    "g_row",
    "o_row",
    "xp",
    "gp",
    "op",
  ].map(i32);
  const [lo, hi, a, b, c, d, best, cond, gv, scratch] = [
    "lo",
    "hi",
    "a",
    "b",
    "c",
    "d",
    "best",
    "cond",
    "g",
    "scratch",
  ].map(v128);
  const sel = ["sel_a", "sel_b", "sel_c", "sel_d"].map(v128);

  /** Splits the 2n floats of a window row at xp+offset into its even (left) and odd (right) elements. */
  const deinterleave = (offset: number, n: number, left: number, right: number) => {
    loadLanes(fn, xp, offset, Math.min(4, 2 * n), scratch);
    fn.set(lo);
    if (n > 2) loadLanes(fn, xp, offset + 16, 2 * n - 4, scratch);
    else fn.v128Zero();
    fn.set(hi);
    fn.get(lo).get(hi).f32x4Shuffle([0, 2, 4, 6]).set(left);
    fn.get(lo).get(hi).f32x4Shuffle([1, 3, 5, 7]).set(right);
  };
  /** Interleaves two window columns back into the 2n floats of an output row at op+offset. */
  const interleave = (offset: number, n: number, left: number, right: number) => {
    fn.get(left).get(right).f32x4Shuffle([0, 4, 1, 5]).set(lo);
    fn.get(left).get(right).f32x4Shuffle([2, 6, 3, 7]).set(hi);
    storeLanes(fn, op, offset, Math.min(4, 2 * n), lo);
    if (n > 2) storeLanes(fn, op, offset + 16, 2 * n - 4, hi);
  };
  /** The maximum of n (1-4) windows into best; a NaN wins (reduce.ts: v > acc || v !== v). */
  const maxOnly = (n: number) => {
    deinterleave(0, n, a, b);
    deinterleave(rowBytes, n, c, d);
    fn.get(a).set(best);
    for (const v of [b, c, d]) {
      fn.get(v).get(best).f32x4Gt().get(v).get(v).f32x4Ne().v128Or().set(cond);
      fn.get(v).get(best).get(cond).v128Bitselect().set(best);
    }
    storeLanes(fn, op, 0, n, best);
  };
  /** n (1-4) consecutive windows of a row pair: elements a b over c d. */
  const windows = (n: number) => {
    if (!gradient) {
      maxOnly(n);
      return;
    }
    deinterleave(0, n, a, b);
    deinterleave(rowBytes, n, c, d);
    loadLanes(fn, gp, 0, n, scratch);
    fn.set(gv);
    fn.get(a).set(best);
    fn.v128Zero().v128Not().set(sel[0]);
    [b, c, d].forEach((v, k) => {
      // v wins where v > best, or v is NaN and best is not.
      fn.get(v).get(best).f32x4Gt();
      fn.get(v).get(v).f32x4Ne().get(best).get(best).f32x4Eq().v128And();
      fn.v128Or().set(cond);
      fn.get(v).get(best).get(cond).v128Bitselect().set(best);
      for (let earlier = 0; earlier <= k; earlier++) {
        fn.get(sel[earlier]).get(cond).v128AndNot().set(sel[earlier]);
      }
      fn.get(cond).set(sel[k + 1]);
    });
    if (spec.positiveOnly) {
      // g · step(max): g · 1 where max > 0, g · 0 elsewhere (a NaN max gives 0, as the JS comparison).
      fn.get(gv);
      fn.f32Const(1).f32x4Splat().v128Zero().get(best).v128Zero().f32x4Gt().v128Bitselect();
      fn.f32x4Mul().set(gv);
    }
    for (const s of sel) fn.get(gv).get(s).v128And().set(s);
    interleave(0, n, sel[0], sel[1]);
    interleave(outRowBytes, n, sel[2], sel[3]);
  };

  fn.i32Const(spec.xOffset).set(xPlane);
  fn.i32Const(spec.gOffset).set(gPlane);
  fn.i32Const(spec.outOffset).set(oPlane);
  countedLoop(fn, planeLeft, planes, () => {
    fn.get(xPlane).set(xRow);
    fn.get(gPlane).set(gRow);
    fn.get(oPlane).set(oRow);
    countedLoop(fn, rowLeft, Ho, () => {
      fn.get(xRow).set(xp);
      fn.get(gRow).set(gp);
      fn.get(oRow).set(op);
      countedLoop(fn, groupLeft, Math.floor(Wo / 4), () => {
        windows(4);
        advance(fn, xp, 32);
        advance(fn, gp, 16);
        advance(fn, op, gradient ? 32 : 16);
      });
      if (Wo % 4 > 0) windows(Wo % 4);
      advance(fn, xRow, 2 * rowBytes);
      advance(fn, gRow, Wo * 4);
      advance(fn, oRow, gradient ? 2 * outRowBytes : outRowBytes);
    });
    advance(fn, xPlane, spec.xPlaneStride);
    advance(fn, gPlane, spec.gPlaneStride);
    advance(fn, oPlane, spec.outPlaneStride);
  });

  const last = planes - 1;
  const end = Math.max(
    spec.xOffset + last * spec.xPlaneStride + rowBytes * 2 * Ho,
    gradient ? spec.gOffset + last * spec.gPlaneStride + 4 * Wo * Ho : 0,
    spec.outOffset + last * spec.outPlaneStride + outRowBytes * (gradient ? 2 * Ho : Ho),
  );
  const module = new ModuleBuilder(Math.max(1, Math.ceil(end / 65536)));
  module.add(fn, POOL_EXPORT);
  return module;
}
