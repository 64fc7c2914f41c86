/**
 * foldWindows (col2im) as a WebAssembly SIMD kernel, for windows whose column stride is 1: per plane, zero
 * it, then for each window element (i, j) and window row p add the run cols[i, j, p, 0..Wo) into the
 * output row p·sh + i·dh at column j·dw, four floats per v128 add. Every run is whole (no border tests),
 * and the loop order (i, j outside, p inside) puts consecutive stores in different rows, so an unaligned
 * store never feeds the next load. In JS the same fold (codegen/fold-rows.ts) was W5's largest loop
 * after the other window loops moved to wasm (13% of the step, instrumented).
 */
import { advance, countedLoop, loadLanes, range, storeLanes } from "./emit-helpers";
import { FunctionBuilder, I32, ModuleBuilder, V128 } from "./encoder";

export const COL2IM_EXPORT = "run";

/** The window geometry both window kernels share (col2im here, im2col in im2col.ts). */
export interface PlaneWindows {
  planes: number;
  kernel: readonly [number, number];
  /** Row stride sh and the dilations; the column stride is 1. */
  strideRows: number;
  dilation: readonly [number, number];
  /** The image plane [H, W] and window counts [Ho, Wo]. */
  size: readonly [number, number];
  windows: readonly [number, number];
  /** Byte offset of the first output plane and byte stride between output planes. */
  outOffset: number;
  outPlaneStride: number;
}

export interface Col2imSpec extends PlaneWindows {
  /** Byte offset of cols (contiguous [kh, kw, Ho, Wo] per plane) and its byte stride between planes. */
  srcOffset: number;
  srcPlaneStride: number;
}

export function buildCol2imModule(spec: Col2imSpec): ModuleBuilder {
  const [kh, kw] = spec.kernel;
  const [dh, dw] = spec.dilation;
  const [H, W] = spec.size;
  const [Ho, Wo] = spec.windows;
  const fn = new FunctionBuilder(COL2IM_EXPORT, []);
  const i32 = (name: string) => fn.local(name, I32);
  const [planeLeft, zeroLeft, rowLeft, sPlane, oPlane, s, o] = [
    "plane_left",
    "zero_left",
    "row_left",
    "s_plane",
    "o_plane",
    "s",
    "o",
  ].map(i32);
  const [sum, scratch, zero] = ["sum", "scratch", "zero"].map((name) => fn.local(name, V128));
  const full = Math.floor(Wo / 4);
  const rest = Wo % 4;

  fn.v128Zero().set(zero);
  fn.i32Const(spec.srcOffset).set(sPlane);
  fn.i32Const(spec.outOffset).set(oPlane);
  countedLoop(fn, planeLeft, spec.planes, () => {
    fn.get(oPlane).set(o);
    countedLoop(fn, zeroLeft, Math.floor((H * W) / 4), () => {
      fn.get(o).get(zero).v128Store(0);
      advance(fn, o, 16);
    });
    storeLanes(fn, o, 0, (H * W) % 4, zero);
    fn.get(sPlane).set(s);
    for (const i of range(kh)) {
      for (const j of range(kw)) {
        fn.get(oPlane)
          .i32Const((i * dh * W + j * dw) * 4)
          .i32Add()
          .set(o);
        countedLoop(fn, rowLeft, Ho, () => {
          for (const v of range(full)) {
            fn.get(o)
              .get(o)
              .v128Load(v * 16)
              .get(s)
              .v128Load(v * 16)
              .f32x4Add()
              .v128Store(v * 16);
          }
          if (rest > 0) {
            loadLanes(fn, o, full * 16, rest, scratch);
            loadLanes(fn, s, full * 16, rest, scratch);
            fn.f32x4Add().set(sum);
            storeLanes(fn, o, full * 16, rest, sum);
          }
          advance(fn, s, Wo * 4);
          advance(fn, o, spec.strideRows * W * 4);
        });
      }
    }
    advance(fn, sPlane, spec.srcPlaneStride);
    advance(fn, oPlane, spec.outPlaneStride);
  });

  const last = spec.planes - 1;
  const end = Math.max(
    spec.srcOffset + last * spec.srcPlaneStride + kh * kw * Ho * Wo * 4,
    spec.outOffset + last * spec.outPlaneStride + H * W * 4,
  );
  const module = new ModuleBuilder(Math.max(1, Math.ceil(end / 65536)));
  module.add(fn, COL2IM_EXPORT);
  return module;
}
