import { loadLanes, range, storeLanes } from "./emit-helpers";
import { FunctionBuilder, I32, V128 } from "./encoder";
import { emitFusedEpilogue, type FusedEpilogue } from "./fused-epilogue";

/**
 * The register-tile kernel: C[rows × cols] (+)= Ã[rows × kc] · B̃[kc × tileCols] with every accumulator in a
 * v128 local. Per k step: tileCols/4 vector loads of the packed B row, one A splat per row (load32_splat, or
 * v128.load of a pre-broadcast packed A) and rows·cols/4 multiply-adds.
 *
 * Why 3×12, 4×8 or 2×16: TurboFan issues all loads of an iteration before its arithmetic, so accumulators,
 * B vectors and A splats are live together, plus one product temporary for mul+add. V8 allocates xmm0-xmm14:
 * 9 + 3 + 3 = 15 (3×12 with FMA) and 8 + 4 + 2 + 1 = 15 (2×16 with mul+add) fill them exactly. 5×8, 6×8 or a
 * K-unrolled loop spill and run at half speed.
 * On Zen 3 the FMA loop (8 madds + 6 loads) is FMA-bound at ~16 flop/cycle. mul+add (8 mul + 8 add + 6 loads)
 * is bound by FP-side op throughput at ~11-12 flop/cycle; removing integer ops from its loop changed
 * nothing, and 2×16 over pre-broadcast A was its best variant (see defaultTuning).
 */

export const LOAD_C = 1;
export const EPILOGUE = 2;

export interface MicrokernelShape {
  rows: number;
  cols: number;
  /** Width of a packed B panel row in floats (the tile width; cols ≤ tileCols at the right edge). */
  tileCols: number;
  /** Byte distance between A rows at the same k, and from k to k+1 (A packed or read through strides). */
  aRowStride: number;
  aKStep: number;
  /** A elements are packed as ready-made splats (v128.load) rather than single floats (load32_splat). */
  aPreBroadcast: boolean;
  /** Byte distance between C rows. */
  cRowStride: number;
  fma: boolean;
  relu: boolean;
  /** An elementwise epilogue that consumes the tile on the last K block instead of storing it as C. */
  fused?: FusedEpilogue;
}

export function microkernelName(shape: MicrokernelShape): string {
  return `tile_${shape.rows}x${shape.cols}`;
}

/** Where the epilogue's bias varies: along the columns (a dense layer's bias[j]), the rows (conv's bias[i]). */
export type BiasAxis = "none" | "columns" | "rows";

/**
 * (func (param $a $b $c $bias $kc $flags)): $a, $b, $c point at the tile's first A element, packed B panel row
 * and C element, $bias at the tile's first bias element (of its first column, or of its first row); flags
 * LOAD_C adds the tile to C instead of overwriting, EPILOGUE adds the bias and applies the activation.
 */
export function emitMicrokernel(shape: MicrokernelShape, bias: BiasAxis): FunctionBuilder {
  const fn = new FunctionBuilder(microkernelName(shape), [
    ["a", I32],
    ["b", I32],
    ["c", I32],
    ["bias", I32],
    ["kc", I32],
    ["flags", I32],
  ]);
  const [a, b, c, biasPtr, kc, flags] = [0, 1, 2, 3, 4, 5];
  const vectors = Math.ceil(shape.cols / 4);
  const acc = range(shape.rows).map((r) => range(vectors).map((v) => fn.local(`acc${r}_${v}`, V128)));
  const bRow = range(vectors).map((v) => fn.local(`b${v}`, V128));
  const aSplat = fn.local("a_splat", V128);
  const bEnd = fn.local("b_end", I32);
  const scratch = fn.local("partial", V128);
  const bRowBytes = shape.tileCols * 4;

  fn.get(b).get(kc).i32Const(bRowBytes).i32Mul().i32Add().set(bEnd);
  for (const local of acc.flat()) fn.v128Zero().set(local);

  // One k step per iteration. V8 schedules every load of an iteration before its arithmetic, so all A splats
  // and B vectors are live at once: unrolling K doubles them and spills (measured 45 → 23 GFLOP/s).
  fn.loop();
  for (const [v, vector] of bRow.entries()) {
    const offset = v * 16;
    fn.get(b).v128Load(offset).set(vector);
  }
  for (let r = 0; r < shape.rows; r++) {
    fn.get(a);
    if (shape.aPreBroadcast) fn.v128Load(r * shape.aRowStride);
    else fn.v128Load32Splat(r * shape.aRowStride);
    fn.set(aSplat);
    for (let v = 0; v < vectors; v++) {
      const accumulator = acc[r]![v]!;
      if (shape.fma) {
        fn.get(aSplat).get(bRow[v]!).get(accumulator).f32x4RelaxedMadd();
      } else {
        fn.get(accumulator).get(aSplat).get(bRow[v]!).f32x4Mul().f32x4Add();
      }
      fn.set(accumulator);
    }
  }
  fn.get(a).i32Const(shape.aKStep).i32Add().set(a);
  fn.get(b).i32Const(bRowBytes).i32Add().tee(b).get(bEnd).i32Ne().brIf(0);
  fn.end();

  const lanesOf = (v: number) => Math.min(4, shape.cols - v * 4);
  const addInPlace = (accumulator: number, load: () => void) => {
    fn.get(accumulator);
    load();
    fn.f32x4Add().set(accumulator);
  };

  fn.get(flags).i32Const(LOAD_C).i32And().if();
  for (let r = 0; r < shape.rows; r++) {
    for (let v = 0; v < vectors; v++) {
      addInPlace(acc[r]![v]!, () => loadLanes(fn, c, r * shape.cRowStride + v * 16, lanesOf(v), scratch));
    }
  }
  fn.end();

  const storeC = () => {
    for (let r = 0; r < shape.rows; r++) {
      for (let v = 0; v < vectors; v++) {
        storeLanes(fn, c, r * shape.cRowStride + v * 16, lanesOf(v), acc[r]![v]!);
      }
    }
  };
  if (shape.fused) {
    // The last K block hands the tile to the epilogue; earlier ones store their partial sums in C.
    fn.get(flags).i32Const(EPILOGUE).i32And().if();
    emitFusedEpilogue(fn, shape.fused, shape, acc, c, scratch);
    fn.else();
    storeC();
    fn.end();
    return fn;
  }

  if (bias !== "none" || shape.relu) {
    fn.get(flags).i32Const(EPILOGUE).i32And().if();
    if (bias === "rows") {
      // One bias per row, splat across its vectors (the A splat register is free by now).
      for (let r = 0; r < shape.rows; r++) {
        fn.get(biasPtr)
          .v128Load32Splat(r * 4)
          .set(aSplat);
        for (let v = 0; v < vectors; v++) addInPlace(acc[r]![v]!, () => fn.get(aSplat));
      }
    }
    if (bias === "columns") {
      for (let v = 0; v < vectors; v++) {
        loadLanes(fn, biasPtr, v * 16, lanesOf(v), scratch);
        fn.set(bRow[v]!);
      }
      for (let r = 0; r < shape.rows; r++) {
        for (let v = 0; v < vectors; v++) addInPlace(acc[r]![v]!, () => fn.get(bRow[v]!));
      }
    }
    if (shape.relu) {
      // pmax(0, x) = 0 < x ? x : 0, exactly the JS relu (x > 0 ? x : 0): NaN and −0 give +0.
      for (const local of acc.flat()) fn.v128Zero().get(local).f32x4Pmax().set(local);
    }
    fn.end();
  }

  storeC();
  return fn;
}
