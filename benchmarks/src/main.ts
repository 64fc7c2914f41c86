/**
 * The Adjoint benchmark harness: every system trains every workload in one run, timed with tinybench.
 *
 *   pnpm bench                 full run, writes benchmarks/results/latest.{md,json}
 *   pnpm bench --quick         a few steps per case (CI: checks that everything runs), writes nothing
 *   pnpm bench --only W3,W4    some workloads only (also --systems jax-js,tfjs-wasm; --out DIR; --no-write)
 *
 * Timing: 2 noisy shared cores, so only ratios within one run mean anything. Every figure is a median over
 * samples, with the min–max range; tiny steps are batched several to a sample so the timer can see them.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { arch, cpus, loadavg, platform, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Bench } from "tinybench";
import {
  adjointCompiledMatmul,
  handBlockedJsMatmul,
  externalMatmulWasm,
  jaxMatmul,
  type MatmulRow,
  type MatmulTiming,
  ORIENTATIONS,
  tfjsWasmMatmul,
  torchMatmulRow,
} from "./matmul";
import { renderMarkdown } from "./report";
import { adjointSystem } from "./systems/adjoint";
import { HandwrittenMlp, handwrittenSystem } from "./systems/handwritten";
import { jaxSystem } from "./systems/jax-js";
import { onnxruntimeSystem } from "./systems/onnxruntime";
import { createPytorchSystem } from "./systems/pytorch";
import { tfjsCpuSystem } from "./systems/tfjs-cpu";
import { tfjsWasmSystem } from "./systems/tfjs-wasm";
import {
  errorMessage,
  type InferenceRunner,
  isSkip,
  type Runner,
  type Skip,
  type System,
  type TimingPlan,
} from "./systems/types";
import { buildWorkloads, type Workload, writeWorkloadData } from "./workloads";

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT_DIR = resolve(HERE, "../results");

export interface BenchOptions {
  /** A few steps per case, only to check that everything runs. Writes no files unless outDir is given. */
  quick?: boolean;
  /** Workload ids to run (W1..W4); default all. */
  only?: string[];
  /** System names to run; default all. */
  systems?: string[];
  /** Where latest.md / latest.json go; null writes nothing. Default benchmarks/results (full) or nothing (quick). */
  outDir?: string | null;
  /** Time budget per timed case in ms (full mode default 2000). */
  timeMs?: number;
  /** Replaces the adjoint system (benchmarks/src/systems/adjoint.ts) — e.g. from the CLI. */
  adjoint?: System;
  /** Replaces the whole list of training systems. */
  trainSystems?: System[];
  /** Progress lines; default console.log. */
  log?: (line: string) => void;
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  samples: number;
  stepsPerSample: number;
}

export interface MemoryStats {
  steps: number;
  heapGrowthPer1kSteps: number;
  externalGrowthPer1kSteps: number;
  gcEventsPer1kSteps: number;
  gcMsPer1kSteps: number;
}

export type Status = "ok" | "skipped" | "failed";

export interface TrainCase {
  system: string;
  workload: string;
  status: Status;
  reason?: string;
  setupMs?: number;
  firstStepMs?: number;
  firstLoss?: number;
  /** Loss of step `correctnessSteps` (W3 only). */
  checkLoss?: number;
  time?: Stats;
  gflops?: number;
  /** Median time / baseline median time (>1: slower than the baseline). */
  ratio?: number;
  memory?: MemoryStats;
}

export interface InferCase {
  system: string;
  workload: string;
  status: Status;
  reason?: string;
  time?: Stats;
  gflops?: number;
  ratio?: number;
  /** max |logit − handwritten-js logit| / max |handwritten-js logit| */
  maxRelDiff?: number;
}

export interface CorrectnessRow {
  system: string;
  loss: number;
  agrees: boolean;
}

export interface BenchReport {
  date: string;
  mode: "full" | "quick";
  machine: {
    cpu: string;
    cores: number;
    node: string;
    os: string;
    arch: string;
    memoryGiB: number;
    /** 1-minute load average when the run started and when it ended (other processes share the cores). */
    loadAverage: [number, number];
  };
  settings: Settings;
  systems: Record<string, string>;
  workloads: {
    id: string;
    name: string;
    description: string;
    flopsPerStep: number;
    flopsPerForward: number;
  }[];
  train: TrainCase[];
  baseline: Record<string, string | null>;
  correctness: {
    workload: string;
    steps: number;
    reference: number | null;
    rows: CorrectnessRow[];
    allAgree: boolean;
  } | null;
  firstLoss: Record<string, { system: string; loss: number; agrees: boolean }[]>;
  inference: InferCase[];
  matmul: { n: number; rows: MatmulRow[]; skipped: { system: string; reason: string }[] };
  problems: string[];
}

export interface Settings {
  timeMs: number;
  minSamples: number;
  minSampleMs: number;
  warmupMs: number;
  warmupIterations: number;
  calibrateMs: number;
  maxCaseMs: number;
  memBudgetMs: number;
  memMinSteps: number;
  memMaxSteps: number;
  correctnessSteps: number;
  inferTimeMs: number;
  matmulN: number;
  matmulTimeMs: number;
  matmulMinSamples: number;
  /** Quick mode: a case whose first step took longer than this is not stepped again (0: always time). */
  reuseFirstStepMs: number;
}

const FULL: Settings = {
  timeMs: 2000,
  minSamples: 5,
  minSampleMs: 1,
  warmupMs: 300,
  warmupIterations: 2,
  calibrateMs: 100,
  maxCaseMs: 20_000,
  memBudgetMs: 1500,
  memMinSteps: 3,
  memMaxSteps: 1000,
  correctnessSteps: 200,
  inferTimeMs: 1000,
  matmulN: 512,
  matmulTimeMs: 1000,
  matmulMinSamples: 5,
  reuseFirstStepMs: 0,
};

const QUICK: Settings = {
  timeMs: 0,
  minSamples: 1,
  minSampleMs: 0,
  warmupMs: 0,
  warmupIterations: 0,
  calibrateMs: 0,
  maxCaseMs: 0,
  memBudgetMs: 0,
  memMinSteps: 0,
  memMaxSteps: 0,
  correctnessSteps: 3,
  inferTimeMs: 0,
  matmulN: 128,
  matmulTimeMs: 0,
  matmulMinSamples: 1,
  reuseFirstStepMs: 250,
};

// ---------- GC accounting ----------

let forceGc: () => void = () => {};
/** [startTime, duration] of every GC seen (performance.now() timeline), so windows can be counted exactly. */
const gcEntries: [number, number][] = [];
let gcObserver: PerformanceObserver | null = null;

function startGcAccounting(): void {
  try {
    setFlagsFromString("--expose-gc");
    // Bytecode of idle functions is dropped after a few GCs: noise in heap figures, so keep it.
    setFlagsFromString("--no-flush-bytecode");
    forceGc = runInNewContext("gc") as () => void;
  } catch {
    forceGc = () => {};
  }
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => recordGc(list.getEntries()));
  gcObserver.observe({ entryTypes: ["gc"] });
}

function recordGc(entries: readonly PerformanceEntry[]): void {
  for (const e of entries) gcEntries.push([e.startTime, e.duration]);
  if (gcEntries.length > 100_000) gcEntries.splice(0, gcEntries.length - 50_000);
}

async function flushGc(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  if (gcObserver) recordGc(gcObserver.takeRecords());
}

function gcInWindow(t0: number, t1: number): { count: number; ms: number } {
  let count = 0;
  let ms = 0;
  for (const [start, duration] of gcEntries) {
    if (start >= t0 && start <= t1) {
      count++;
      ms += duration;
    }
  }
  return { count, ms };
}

function stopGcAccounting(): void {
  gcObserver?.disconnect();
  gcObserver = null;
}

// ---------- timing ----------

function isThenable(x: unknown): x is Promise<unknown> {
  return typeof x === "object" && x !== null && typeof (x as Promise<unknown>).then === "function";
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function statsOf(samples: number[], stepsPerSample: number): Stats {
  return {
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples: samples.length,
    stepsPerSample,
  };
}

/** Calls fn until at least `ms` elapsed (and at least once); returns ms per call. */
async function calibrate(fn: () => unknown, isAsync: boolean, ms: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  do {
    if (isAsync) await fn();
    else fn();
    n++;
  } while (performance.now() - t0 < ms);
  return (performance.now() - t0) / n;
}

interface PlanChoice {
  plan: TimingPlan;
  warmup: boolean;
}

function choosePlan(s: Settings, perStepMs: number): PlanChoice {
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
async function timeWithTinybench(fn: () => unknown, isAsync: boolean, choice: PlanChoice): Promise<Stats> {
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

async function measureMemory(
  step: () => unknown,
  isAsync: boolean,
  perStepMs: number,
  s: Settings,
): Promise<MemoryStats> {
  const steps = Math.min(
    s.memMaxSteps,
    Math.max(s.memMinSteps, Math.ceil(s.memBudgetMs / Math.max(perStepMs, 1e-6))),
  );
  forceGc();
  await flushGc();
  forceGc();
  const m0 = process.memoryUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    if (isAsync) await step();
    else step();
  }
  const t1 = performance.now();
  await flushGc();
  forceGc();
  await flushGc();
  forceGc();
  const m1 = process.memoryUsage();
  await flushGc();
  const gc = gcInWindow(t0, t1);
  const per1k = 1000 / steps;
  return {
    steps,
    heapGrowthPer1kSteps: (m1.heapUsed - m0.heapUsed) * per1k,
    externalGrowthPer1kSteps: (m1.external - m0.external) * per1k,
    gcEventsPer1kSteps: gc.count * per1k,
    gcMsPer1kSteps: gc.ms * per1k,
  };
}

// ---------- cases ----------

async function runSteps(r: Runner, n: number, isAsync: boolean): Promise<void> {
  if (n <= 0) return;
  if (r.steps) return r.steps(n);
  for (let i = 0; i < n; i++) {
    if (isAsync) await r.step();
    else r.step();
  }
}

async function runTrainCase(
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
    if (w.id === "W3") {
      await runSteps(r, s.correctnessSteps - 1, isAsync);
      c.checkLoss = await r.loss();
    }
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

async function runInferCase(
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

// ---------- correctness ----------

/** True when `a` equals `ref` to 3 significant digits (within half a unit of ref's 3rd digit). */
export function agree3(a: number, ref: number): boolean {
  if (!Number.isFinite(a) || !Number.isFinite(ref)) return false;
  if (ref === 0) return Math.abs(a) < 1e-12;
  const e = Math.floor(Math.log10(Math.abs(ref)));
  return Math.abs(a - ref) <= 0.5 * 10 ** (e - 2) * (1 + 1e-9);
}

function agreement(values: { system: string; loss: number }[]): {
  reference: number | null;
  rows: CorrectnessRow[];
} {
  const finite = values.filter((v) => Number.isFinite(v.loss)).map((v) => v.loss);
  const reference = finite.length ? median(finite) : null;
  return {
    reference,
    rows: values.map((v) => ({
      system: v.system,
      loss: v.loss,
      agrees: reference !== null && agree3(v.loss, reference),
    })),
  };
}

// ---------- the run ----------

export function fmtGflops(v: number): string {
  return v >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

export function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

function describeWorkload(w: Workload): string {
  const o = w.optimizer;
  const opt =
    o.kind === "sgd"
      ? `SGD lr ${o.lr}`
      : o.kind === "momentum"
        ? `SGD momentum ${o.momentum} lr ${o.lr}`
        : `Adam lr ${o.lr}`;
  const loss = {
    "mse-mean": "MSE (mean)",
    "mse-sum": "MSE (sum)",
    "softmax-ce": "softmax cross-entropy (mean)",
  }[w.loss];
  return `${w.sizes.join("→")}, ${w.activation}, ${loss}, batch ${w.batch}, ${opt}`;
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const quick = !!opts.quick;
  const s: Settings = { ...(quick ? QUICK : FULL) };
  if (opts.timeMs !== undefined) s.timeMs = opts.timeMs;
  const outDir = opts.outDir === undefined ? (quick ? null : DEFAULT_OUT_DIR) : opts.outDir;
  const problems: string[] = [];

  const workloads = buildWorkloads(opts.only?.map((x) => x.toUpperCase()));
  if (workloads.length === 0) throw new Error(`no workload matches --only ${opts.only?.join(",")}`);
  const dataDir = outDir ? join(outDir, ".tmp") : join(tmpdir(), `adjoint-bench-${process.pid}`);
  const pytorch = createPytorchSystem({
    manifestPath: join(dataDir, "workloads.json"),
    skipReason: quick ? "not run in --quick mode" : undefined,
  });
  if (!quick) writeWorkloadData(buildWorkloads(), dataDir);

  const wanted = (name: string) => !opts.systems?.length || opts.systems.includes(name);
  const trainSystems = (
    opts.trainSystems ?? [
      opts.adjoint ?? adjointSystem,
      handwrittenSystem,
      tfjsCpuSystem,
      tfjsWasmSystem,
      jaxSystem,
      pytorch,
    ]
  ).filter((x) => wanted(x.name));
  const inferSystems = [...trainSystems, onnxruntimeSystem].filter(
    (x, i, a) => wanted(x.name) && a.indexOf(x) === i,
  );

  const cpu = cpus();
  const report: BenchReport = {
    date: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    machine: {
      cpu: cpu[0]?.model ?? "unknown",
      cores: cpu.length,
      node: process.version,
      os: `${platform()} ${release()}`,
      arch: arch(),
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      loadAverage: [loadavg()[0], Number.NaN],
    },
    settings: s,
    systems: {},
    workloads: workloads.map((w) => ({
      id: w.id,
      name: w.name,
      description: describeWorkload(w),
      flopsPerStep: w.flopsPerStep,
      flopsPerForward: w.flopsPerForward,
    })),
    train: [],
    baseline: {},
    correctness: null,
    firstLoss: {},
    inference: [],
    matmul: { n: s.matmulN, rows: [], skipped: [] },
    problems,
  };

  // Load every library first (and note its version), so that "setup ms" is a workload's own setup.
  for (const sys of [...trainSystems, ...inferSystems]) {
    if (report.systems[sys.name] !== undefined) continue;
    try {
      report.systems[sys.name] = sys.describe ? await sys.describe() : "";
    } catch (e) {
      report.systems[sys.name] = errorMessage(e);
    }
  }

  log(
    `Adjoint benchmarks (${report.mode}) on ${report.machine.cpu}, ${report.machine.cores} cores, node ${process.version}`,
  );
  startGcAccounting();
  try {
    // Training steps, workload by workload (all systems of a workload close together in time).
    for (const w of workloads) {
      log(`${w.id} ${w.name}: ${describeWorkload(w)}`);
      for (const sys of trainSystems) report.train.push(await runTrainCase(sys, w, s, log));
      const cases = report.train.filter((c) => c.workload === w.id);
      const base =
        cases.find((c) => c.system === "adjoint" && c.status === "ok") ??
        cases.find((c) => c.system === "handwritten-js" && c.status === "ok");
      report.baseline[w.id] = base?.system ?? null;
      for (const c of cases) if (base?.time && c.time) c.ratio = c.time.median / base.time.median;
      const first = agreement(
        cases.filter((c) => c.firstLoss !== undefined).map((c) => ({ system: c.system, loss: c.firstLoss! })),
      );
      report.firstLoss[w.id] = first.rows.map((r) => ({ system: r.system, loss: r.loss, agrees: r.agrees }));
      for (const r of first.rows)
        if (!r.agrees)
          problems.push(
            `${w.id}: ${r.system}'s first-step loss ${r.loss} disagrees (median ${first.reference})`,
          );
    }

    // Correctness: W3 loss after N steps.
    const w3 = report.train.filter((c) => c.workload === "W3" && c.checkLoss !== undefined);
    if (w3.length) {
      const a = agreement(w3.map((c) => ({ system: c.system, loss: c.checkLoss! })));
      report.correctness = {
        workload: "W3",
        steps: s.correctnessSteps,
        reference: a.reference,
        rows: a.rows,
        allAgree: a.rows.every((r) => r.agrees),
      };
      log(`W3 loss after ${s.correctnessSteps} steps (reference = median ${a.reference}):`);
      for (const r of a.rows) {
        log(`  ${r.system.padEnd(16)} ${r.loss}${r.agrees ? "" : "   <-- DISAGREES (3 significant digits)"}`);
        if (!r.agrees)
          problems.push(`W3: ${r.system}'s loss after ${s.correctnessSteps} steps ${r.loss} disagrees`);
      }
    }

    // Forward-only (inference) on the W3 and W4 MLPs.
    for (const w of workloads.filter((x) => x.id === "W3" || x.id === "W4")) {
      log(`${w.id} forward only:`);
      const ref = new HandwrittenMlp(w);
      const reference = ref.forward().slice();
      const cases: InferCase[] = [];
      for (const sys of inferSystems) cases.push(await runInferCase(sys, w, s, reference, log));
      const base =
        cases.find((c) => c.system === "adjoint" && c.status === "ok") ??
        cases.find((c) => c.system === "handwritten-js" && c.status === "ok");
      for (const c of cases) {
        if (base?.time && c.time) c.ratio = c.time.median / base.time.median;
        if (c.maxRelDiff !== undefined && !(c.maxRelDiff < 1e-4))
          problems.push(
            `${w.id} forward: ${c.system}'s logits differ from handwritten-js by ${c.maxRelDiff}`,
          );
      }
      report.inference.push(...cases);
    }

    // Matmul n³ in three orientations.
    log(`matmul ${s.matmulN}³ (A·B, Aᵀ·B, A·Bᵀ):`);
    const mt: MatmulTiming = { timeMs: s.matmulTimeMs, minSamples: s.matmulMinSamples };
    const matmulSources: [string, () => Promise<MatmulRow | MatmulRow[] | Skip>][] = [
      ["adjoint wasm matmul", () => externalMatmulWasm(s.matmulN, quick)],
      ["adjoint compile (wasm)", () => adjointCompiledMatmul(s.matmulN, mt, true)],
      ["adjoint compile (JS loops)", () => adjointCompiledMatmul(s.matmulN, mt, false)],
      ["hand-blocked JS", () => handBlockedJsMatmul(s.matmulN, mt)],
      ["tfjs-wasm", () => tfjsWasmMatmul(s.matmulN, mt)],
      ["jax-js", () => jaxMatmul(s.matmulN, mt)],
      [
        "pytorch",
        async () => {
          const ms = await pytorch.matmulMs(s.matmulN, s.matmulTimeMs);
          return isSkip(ms) ? ms : torchMatmulRow(s.matmulN, ms);
        },
      ],
    ];
    for (const [name, fn] of matmulSources) {
      if (!name.startsWith("adjoint") && !wanted(name)) continue;
      try {
        const res = await fn();
        if (isSkip(res)) {
          report.matmul.skipped.push({ system: name, reason: res.reason });
          log(`  ${name.padEnd(16)} skipped: ${res.reason}`);
          continue;
        }
        for (const r of Array.isArray(res) ? res : [res]) {
          report.matmul.rows.push(r);
          log(
            `  ${r.system.padEnd(16)} ${ORIENTATIONS.map((o) => `${o} ${r.gflops[o]?.toFixed(1) ?? "–"}`).join("  ")} GFLOP/s`,
          );
        }
      } catch (e) {
        report.matmul.skipped.push({ system: name, reason: `failed: ${errorMessage(e)}` });
        problems.push(`matmul ${name} failed: ${errorMessage(e)}`);
        log(`  ${name} FAILED: ${errorMessage(e)}`);
      }
    }
  } finally {
    stopGcAccounting();
    await pytorch.shutdown?.();
  }

  report.machine.loadAverage[1] = loadavg()[0];
  for (const c of [...report.train, ...report.inference])
    if (c.status === "failed") problems.push(`${c.workload} ${c.system} failed: ${c.reason}`);

  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "latest.json"), `${JSON.stringify(report, null, 1)}\n`);
    writeFileSync(join(outDir, "latest.md"), renderMarkdown(report));
    log(`wrote ${join(outDir, "latest.md")} and latest.json`);
  }
  if (problems.length) {
    log("PROBLEMS:");
    for (const p of problems) log(`  - ${p}`);
  }
  return report;
}

// ---------- CLI ----------

export function parseArgs(argv: string[]): BenchOptions {
  const opts: BenchOptions = {};
  const list = (v: string | undefined) =>
    (v ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--quick":
        opts.quick = true;
        break;
      case "--only":
        opts.only = [...(opts.only ?? []), ...list(value())];
        break;
      case "--systems":
        opts.systems = [...(opts.systems ?? []), ...list(value())];
        break;
      case "--out":
        opts.outDir = resolve(value());
        break;
      case "--no-write":
        opts.outDir = null;
        break;
      case "--time":
        opts.timeMs = Number(value());
        break;
      default:
        throw new Error(
          `unknown argument ${argv[i]} (known: --quick --only W3,W4 --systems a,b --out DIR --no-write --time MS)`,
        );
    }
  }
  return opts;
}

function isEntryScript(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  const self = fileURLToPath(import.meta.url);
  const a = resolve(arg);
  return a === self || a === self.replace(/\.ts$/, "");
}

if (isEntryScript()) {
  runBench(parseArgs(process.argv.slice(2))).then(
    (r) => process.exit(r.problems.length ? 1 : 0),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
