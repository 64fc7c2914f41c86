/**
 * A sum over contiguous runs in wasm SIMD: each output adds up `runs` runs of `run` contiguous floats (a
 * batch norm's or a conv bias gradient's Σ over batch and pixels of [N, C, H, W], per channel: N runs of
 * H·W). Like the JS loop it accumulates in float64 (each float32 is exact in float64) and rounds once, at
 * the store. Eight float64 partial sums (four f64x2) take eight floats per step, so the order is fixed
 * per output:
 *
 *   for each output:  for each run:  8 floats a step, then a group of 4, then the leftover floats one by one
 *                     s_i = a_i + b_i (a: the first group of four's sums, b: the second's)
 *                     out = f32(((s0 + s1) + (s2 + s3)) + tail)
 *
 * The order does not depend on which outputs a call covers, so splits over threads by outputs give the
 * same bits.
 */
import { advance, countedLoop } from "./emit-helpers";
import { F64, FunctionBuilder, I32, ModuleBuilder, V128 } from "./encoder";

export interface SumRunsSpec {
  /** Outputs (the kept index, a channel), stored contiguous from outOffset (bytes); outStride is 4. */
  planes: number;
  outOffset: number;
  outStride: number;
  /** Bytes of output 0's first run, bytes between outputs, between runs; floats per run. */
  xOffset: number;
  xPlaneStride: number;
  runs: number;
  xRunStride: number;
  run: number;
}

export const SUM_RUNS_EXPORT = "run";

export function buildSumRunsModule(spec: SumRunsSpec): ModuleBuilder {
  const fn = new FunctionBuilder(SUM_RUNS_EXPORT, []);
  const [plane, out, x, runsLeft, p, eights, runStart] = [
    "planes_left",
    "out",
    "x",
    "runs_left",
    "p",
    "p8_end",
    "run_start",
  ].map((name) => fn.local(name, I32));
  const sums = [0, 1].map((i) => fn.local(`s${i}`, V128)); // (s0, s1), (s2, s3)
  const more = [0, 1].map((i) => fn.local(`t${i}`, V128)); // the second group of four of an 8-float step
  const [tail, total] = ["tail", "total"].map((name) => fn.local(name, F64));
  const vector = fn.local("v", V128);
  const { run } = spec;

  /** sums[0] += lanes 0-1 of v, sums[1] += lanes 2-3 (into `into`, a pair of f64x2 locals). */
  const addFour = (offset: number, into: number[]) => {
    fn.get(p).v128Load(offset).set(vector);
    fn.get(into[0]!).get(vector).f64x2PromoteLowF32x4().f64x2Add().set(into[0]!);
    fn.get(into[1]!)
      .get(vector)
      .get(vector)
      .f32x4Shuffle([2, 3, 2, 3])
      .f64x2PromoteLowF32x4()
      .f64x2Add()
      .set(into[1]!);
  };

  fn.i32Const(spec.outOffset).set(out);
  fn.i32Const(spec.xOffset).set(x);
  countedLoop(fn, plane, spec.planes, () => {
    for (const s of [...sums, ...more]) fn.v128Zero().set(s);
    fn.f64Const(0).set(tail);
    fn.get(x).set(p);
    countedLoop(fn, runsLeft, spec.runs, () => {
      // p walks the run: 8 floats a step while 8 remain, then one group of 4, then floats one by one.
      fn.get(p).set(runStart);
      const eightSteps = Math.floor(run / 8);
      if (eightSteps > 0) {
        fn.get(runStart)
          .i32Const(eightSteps * 32)
          .i32Add()
          .set(eights);
        fn.loop();
        addFour(0, sums);
        addFour(16, more);
        fn.get(p).i32Const(32).i32Add().tee(p).get(eights).i32Ne().brIf(0);
        fn.end();
      }
      if (run % 8 >= 4) {
        addFour(0, sums);
        advance(fn, p, 16);
      }
      for (let i = 0; i < run % 4; i++)
        fn.get(tail)
          .get(p)
          .f32Load(i * 4)
          .f64PromoteF32()
          .f64Add()
          .set(tail);
      fn.get(runStart).i32Const(spec.xRunStride).i32Add().set(p);
    });
    // (s0 + s1) + (s2 + s3), each pair the sum of an accumulator and its second-group twin.
    for (let i = 0; i < 2; i++) fn.get(sums[i]!).get(more[i]!).f64x2Add().set(sums[i]!);
    fn.get(sums[0]!).f64x2ExtractLane(0).get(sums[0]!).f64x2ExtractLane(1).f64Add();
    fn.get(sums[1]!).f64x2ExtractLane(0).get(sums[1]!).f64x2ExtractLane(1).f64Add();
    fn.f64Add().get(tail).f64Add().set(total);
    fn.get(out).get(total).f32DemoteF64().f32Store(0);
    advance(fn, out, spec.outStride);
    advance(fn, x, spec.xPlaneStride);
  });

  const last = Math.max(
    spec.outOffset + (spec.planes - 1) * spec.outStride + 4,
    spec.xOffset + (spec.planes - 1) * spec.xPlaneStride + (spec.runs - 1) * spec.xRunStride + run * 4,
  );
  const module = new ModuleBuilder(Math.max(1, Math.ceil(last / 65536)));
  module.add(fn, SUM_RUNS_EXPORT);
  return module;
}
