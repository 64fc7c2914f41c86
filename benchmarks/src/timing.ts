/**
 * The timing loop: calibrate one step, choose how many steps make a sample the timer can see, and sample
 * with tinybench. 2 noisy shared cores, so only ratios within one run mean anything.
 */
import { Bench } from "tinybench";
import type { TimingPlan } from "./systems/types";
import type { Settings, Stats } from "./types";

export function isThenable(x: unknown): x is Promise<unknown> {
  return typeof x === "object" && x !== null && typeof (x as Promise<unknown>).then === "function";
}

/** Calls fn until at least `ms` elapsed (and at least once); returns ms per call. */
export async function calibrate(fn: () => unknown, isAsync: boolean, ms: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  do {
    if (isAsync) await fn();
    else fn();
    n++;
  } while (performance.now() - t0 < ms);
  return (performance.now() - t0) / n;
}

export interface PlanChoice {
  plan: TimingPlan;
  warmup: boolean;
}

export function choosePlan(s: Settings, perStepMs: number): PlanChoice {
  const reps = Math.max(1, Math.ceil(s.minSampleMs / Math.max(perStepMs, 1e-6)));
  const sampleMs = perStepMs * reps;
  let minSamples = s.minSamples;
  if (s.maxCaseMs > 0 && sampleMs * minSamples > s.maxCaseMs) {
    minSamples = Math.max(3, Math.floor(s.maxCaseMs / sampleMs));
  }
  const warmup = s.warmupMs > 0 && sampleMs < 200;
  return {
    plan: {
      warmupMs: warmup ? s.warmupMs : 0,
      warmupIterations: warmup ? s.warmupIterations : 0,
      timeMs: s.timeMs,
      minSamples,
      stepsPerSample: reps,
      minSampleMs: s.minSampleMs,
    },
    warmup,
  };
}

/** Times fn with tinybench; samples are `plan.stepsPerSample` calls each, reported per call. */
export async function timeWithTinybench(
  fn: () => unknown,
  isAsync: boolean,
  choice: PlanChoice,
): Promise<Stats> {
  const { plan } = choice;
  const reps = plan.stepsPerSample;
  const bench = new Bench({
    time: plan.timeMs,
    iterations: plan.minSamples,
    warmup: choice.warmup,
    warmupTime: plan.warmupMs,
    warmupIterations: Math.max(1, plan.warmupIterations),
    throws: true,
  });
  if (isAsync) {
    bench.add("case", async () => {
      for (let i = 0; i < reps; i++) await fn();
    });
    await bench.run();
  } else {
    bench.add("case", () => {
      for (let i = 0; i < reps; i++) fn();
    });
    bench.runSync();
  }
  const r = bench.tasks[0].result;
  if (r.state === "errored") throw r.error;
  if (r.state !== "completed") throw new Error(`tinybench task ended ${r.state}`);
  return {
    median: r.latency.p50 / reps,
    min: r.latency.min / reps,
    max: r.latency.max / reps,
    samples: r.latency.samplesCount,
    stepsPerSample: reps,
  };
}
