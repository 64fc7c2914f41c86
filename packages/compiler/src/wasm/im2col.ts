/**
 * im2col as a WebAssembly SIMD copy: the windows [kh, kw, Ho, Wo] of each plane of x [H, W] (rows
 * contiguous, column stride 1 in the windows), read as if padded by `top`/`left` (and whatever bottom
 * and right the window counts imply) with `fill`. Per window row i and output row p the input row
 * y = p·sh + i·dh − top is one unsigned test; inside, each window column j copies the part of its run
 * that lies in x with v128 loads and stores and fills the rest, both split decided at codegen time. The JS
 * copies (codegen/padded-windows.ts and the view copy) were W5's largest loops once the pools and col2im
 * ran in wasm (20% of the step, instrumented).
 */
import { advance, countedLoop, loadLanes, range, storeLanes } from "./emit-helpers";
import type { PlaneWindows } from "./col2im";
import { FunctionBuilder, I32, ModuleBuilder, V128 } from "./encoder";

export const IM2COL_EXPORT = "run";

/** `size` is the input plane; the output holds its windows contiguously. */
export interface Im2colSpec extends PlaneWindows {
  /** Zeros (or `fill`) before the first row and column. */
  top: number;
  left: number;
  fill: number;
  /** The input's row stride (floats), byte offset of its first plane and byte stride between planes. */
  xRowStride: number;
  xOffset: number;
  xPlaneStride: number;
}

export function buildIm2colModule(spec: Im2colSpec): ModuleBuilder {
  const [kh, kw] = spec.kernel;
  const [dh, dw] = spec.dilation;
  const [H, W] = spec.size;
  const [Ho, Wo] = spec.windows;
  const rowBytes = spec.xRowStride * 4;
  const runBytes = Wo * 4;
  const fn = new FunctionBuilder(IM2COL_EXPORT, []);
  const i32 = (name: string) => fn.local(name, I32);
  const [planeLeft, rowLeft, xPlane, oPlane, y, src, dst] = [
    "plane_left",
    "row_left",
    "x_plane",
    "o_plane",
    "y",
    "src",
    "dst",
  ].map(i32);
  const [value, scratch, fillVector] = ["value", "scratch", "fill"].map((name) => fn.local(name, V128));

  /** Stores the fill into floats [from, to) of the run at dst + offset. */
  const fillRun = (offset: number, from: number, to: number) => {
    let q = from;
    for (; q + 4 <= to; q += 4)
      fn.get(dst)
        .get(fillVector)
        .v128Store(offset + q * 4);
    storeLanes(fn, dst, offset + q * 4, to - q, fillVector);
  };
  /** Copies floats [from, to) of the run at dst + offset from src + srcOffset + from·4. */
  const copyRun = (offset: number, srcOffset: number, from: number, to: number) => {
    let q = from;
    for (; q + 4 <= to; q += 4)
      fn.get(dst)
        .get(src)
        .v128Load(srcOffset + q * 4)
        .v128Store(offset + q * 4);
    if (to - q > 0) {
      loadLanes(fn, src, srcOffset + q * 4, to - q, scratch);
      fn.set(value);
      storeLanes(fn, dst, offset + q * 4, to - q, value);
    }
  };

  fn.f32Const(spec.fill).f32x4Splat().set(fillVector);
  fn.i32Const(spec.xOffset).set(xPlane);
  fn.i32Const(spec.outOffset).set(oPlane);
  countedLoop(fn, planeLeft, spec.planes, () => {
    for (const i of range(kh)) {
      fn.i32Const(i * dh - spec.top).set(y);
      fn.get(oPlane)
        .i32Const(i * kw * Ho * runBytes)
        .i32Add()
        .set(dst);
      countedLoop(fn, rowLeft, Ho, () => {
        fn.get(y).i32Const(H).i32LtU().if();
        fn.get(xPlane).get(y).i32Const(rowBytes).i32Mul().i32Add().set(src);
        for (const j of range(kw)) {
          // Run element q reads column q + j·dw − left: inside x for q in [lo, hi).
          const shift = j * dw - spec.left;
          const lo = Math.min(Wo, Math.max(0, -shift));
          const hi = Math.max(lo, Math.min(Wo, W - shift));
          const offset = j * Ho * runBytes;
          fillRun(offset, 0, lo);
          copyRun(offset, shift * 4, lo, hi);
          fillRun(offset, hi, Wo);
        }
        fn.else();
        for (const j of range(kw)) fillRun(j * Ho * runBytes, 0, Wo);
        fn.end();
        advance(fn, y, spec.strideRows);
        advance(fn, dst, runBytes);
      });
    }
    advance(fn, xPlane, spec.xPlaneStride);
    advance(fn, oPlane, spec.outPlaneStride);
  });

  const last = spec.planes - 1;
  const end = Math.max(
    spec.xOffset + last * spec.xPlaneStride + H * rowBytes,
    spec.outOffset + last * spec.outPlaneStride + kh * kw * Ho * runBytes,
  );
  const module = new ModuleBuilder(Math.max(1, Math.ceil(end / 65536)));
  module.add(fn, IM2COL_EXPORT);
  return module;
}
