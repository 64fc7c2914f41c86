/**
 * One case: a system on a workload. Training: set up, one first step (its loss is checked across systems),
 * the correctness steps, then timing and memory. Inference: the forward pass's logits against the
 * handwritten-js reference, then timing. A case that throws is reported as failed, never ends the run.
 */
import { fmtGflops, fmtMs } from "./format";
import { measureMemory } from "./memory";
import { CORRECTNESS_WORKLOADS } from "./registry";
import { statsOf } from "./stats";
import { isSkip, type InferenceRunner, type Runner, type System, errorMessage } from "./systems/types";
import { calibrate, choosePlan, isThenable, timeWithTinybench } from "./timing";
import type { InferCase, Settings, TrainCase } from "./types";
import type { Workload } from "./workloads";

/**
 * The correctness steps: after the first step (on the fixed batch), `s.correctnessSteps − 1` steps on the
 * workload's stream of distinct batches (stream.ts); keeps the loss of step `s.correctnessEarlySteps` and of
 * the last, unless the first of them says that would take longer than `s.correctnessMaxMs` (then the
 * reason is kept instead).
 */
export async function correctnessSteps(c: TrainCase, r: Runner, w: Workload, s: Settings): Promise<void> {
  const n = s.correctnessSteps - 1;
  if (!w.stream || w.stream.batches < n) {
    c.checkSkipped = `not run: the workload has no stream of ${n} batches`;
    return;
  }
  if (!r.streamSteps) {
    c.checkSkipped = "not run: the runner cannot train on the stream's batches";
    return;
  }
  const t0 = performance.now();
  await r.streamSteps(0, 1);
  const perStep = performance.now() - t0;
  const estimate = perStep * (n - 1);
  if (s.correctnessMaxMs > 0 && estimate > s.correctnessMaxMs) {
    c.checkSkipped = `not run: ${s.correctnessSteps} steps would take ~${Math.round((estimate + 2 * perStep) / 1000)} s at ${fmtMs(perStep)} ms/step`;
    return;
  }
  const early = Math.min(Math.max(s.correctnessEarlySteps - 1, 1), n);
  if (early > 1) await r.streamSteps(1, early - 1);
  c.earlyLoss = await r.loss();
  if (n > early) await r.streamSteps(early, n - early);
  c.checkLoss = await r.loss();
}

export async function runTrainCase(
  sys: System,
  w: Workload,
  s: Settings,
  log: (l: string) => void,
): Promise<TrainCase> {
  const c: TrainCase = { system: sys.name, workload: w.id, status: "ok" };
  let runner: Runner | null = null;
  try {
    const t0 = performance.now();
    const r = await sys.setup(w);
    c.setupMs = performance.now() - t0;
    if (isSkip(r)) {
      c.status = "skipped";
      c.reason = r.reason;
      return c;
    }
    runner = r;
    const t1 = performance.now();
    const ret = r.step();
    const isAsync = isThenable(ret);
    if (isAsync) await ret;
    c.firstStepMs = performance.now() - t1;
    c.firstLoss = await r.loss();
    if (s.correctnessSteps > 0 && CORRECTNESS_WORKLOADS.includes(w.id)) await correctnessSteps(c, r, w, s);
    const step = () => r.step();
    if (r.selfTime) {
      const samples = await r.selfTime({
        warmupMs: s.warmupMs,
        warmupIterations: s.warmupIterations,
        timeMs: s.timeMs,
        minSamples: s.minSamples,
        stepsPerSample: 0,
        minSampleMs: s.minSampleMs,
      });
      c.time = statsOf(samples, 0);
    } else if (s.reuseFirstStepMs > 0 && c.firstStepMs > s.reuseFirstStepMs) {
      c.time = statsOf([c.firstStepMs], 1);
    } else {
      const perStep = s.calibrateMs > 0 ? await calibrate(step, isAsync, s.calibrateMs) : c.firstStepMs;
      const choice = choosePlan(s, perStep);
      c.time = await timeWithTinybench(step, isAsync, choice);
      if (r.inProcess !== false && s.memMaxSteps > 0)
        c.memory = await measureMemory(step, isAsync, c.time.median, s);
    }
    c.gflops = w.flopsPerStep / (c.time.median * 1e6);
    log(
      `  ${w.id} ${sys.name.padEnd(16)} ${fmtMs(c.time.median)} ms/step [${fmtMs(c.time.min)}–${fmtMs(c.time.max)}]` +
        `  ${fmtGflops(c.gflops)} GFLOP/s  first loss ${c.firstLoss}` +
        (c.checkLoss !== undefined ? `  loss@${s.correctnessSteps} ${c.checkLoss}` : ""),
    );
  } catch (e) {
    c.status = "failed";
    c.reason = errorMessage(e);
    log(`  ${w.id} ${sys.name}: FAILED ${c.reason}`);
  } finally {
    try {
      await runner?.dispose();
    } catch (e) {
      log(`  ${w.id} ${sys.name}: dispose failed: ${errorMessage(e)}`);
    }
  }
  if (c.status === "skipped") log(`  ${w.id} ${sys.name.padEnd(16)} skipped: ${c.reason}`);
  return c;
}

export async function runInferCase(
  sys: System,
  w: Workload,
  s: Settings,
  reference: Float32Array,
  log: (l: string) => void,
): Promise<InferCase> {
  const c: InferCase = { system: sys.name, workload: w.id, status: "ok" };
  if (!sys.setupInference) {
    c.status = "skipped";
    c.reason = "no forward-only runner";
    return c;
  }
  let runner: InferenceRunner | null = null;
  try {
    const r = await sys.setupInference(w);
    const t0 = performance.now();
    if (isSkip(r)) {
      c.status = "skipped";
      c.reason = r.reason;
      log(`  ${w.id} ${sys.name.padEnd(16)} inference skipped: ${c.reason}`);
      return c;
    }
    runner = r;
    const ret = r.run();
    const isAsync = isThenable(ret);
    if (isAsync) await ret;
    const firstMs = performance.now() - t0;
    const out = await r.output();
    let maxAbs = 0;
    let maxDiff = 0;
    for (let i = 0; i < reference.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(reference[i]));
      maxDiff = Math.max(maxDiff, Math.abs((out[i] ?? Number.NaN) - reference[i]) || 0);
      if (!Number.isFinite(out[i])) maxDiff = Number.POSITIVE_INFINITY;
    }
    c.maxRelDiff = out.length === reference.length ? maxDiff / (maxAbs || 1) : Number.POSITIVE_INFINITY;
    const inferSettings = { ...s, timeMs: s.inferTimeMs };
    if (s.reuseFirstStepMs > 0 && firstMs > s.reuseFirstStepMs) {
      c.time = statsOf([firstMs], 1);
    } else if (r.selfTime) {
      const samples = await r.selfTime({
        warmupMs: s.warmupMs,
        warmupIterations: s.warmupIterations,
        timeMs: s.inferTimeMs,
        minSamples: s.minSamples,
        stepsPerSample: 0,
        minSampleMs: s.minSampleMs,
      });
      c.time = statsOf(samples, 0);
    } else {
      const run = () => r.run();
      const per = s.calibrateMs > 0 ? await calibrate(run, isAsync, s.calibrateMs) : 1;
      c.time = await timeWithTinybench(run, isAsync, choosePlan(inferSettings, per));
    }
    c.gflops = w.flopsPerForward / (c.time.median * 1e6);
    log(
      `  ${w.id} ${sys.name.padEnd(16)} forward ${fmtMs(c.time.median)} ms [${fmtMs(c.time.min)}–${fmtMs(c.time.max)}]` +
        `  ${fmtGflops(c.gflops)} GFLOP/s  max rel diff ${c.maxRelDiff.toExponential(1)}`,
    );
  } catch (e) {
    c.status = "failed";
    c.reason = errorMessage(e);
    log(`  ${w.id} ${sys.name} inference: FAILED ${c.reason}`);
  } finally {
    try {
      await runner?.dispose();
    } catch {
      // ignore
    }
  }
  return c;
}
