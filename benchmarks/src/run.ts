/**
 * runBench: one run of every system on every workload, then the forward-only and matmul tables. Workloads
 * run one after another with all their systems close together in time, so that the ratios within a
 * workload compare systems under the same load of the shared machine.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { arch, cpus, loadavg, platform, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runInferCase, runTrainCase } from "./cases";
import { checkFirstLosses, checkLogits, checkLossAfterSteps } from "./correctness";
import { describeWorkload } from "./format";
import { ORIENTATIONS } from "./matmul";
import { startGcAccounting, stopGcAccounting } from "./memory";
import {
  baselineOf,
  CORRECTNESS_WORKLOADS,
  INFERENCE_ONLY_SYSTEMS,
  INFERENCE_WORKLOADS,
  matmulSources,
  type PytorchSystem,
  trainingSystems,
} from "./registry";
import { renderMarkdown } from "./report";
import { lossSensitivity } from "./sensitivity";
import { FULL, QUICK } from "./settings";
import { adjointSystem, createAdjointSystem } from "./systems/adjoint";
import { evaluate } from "adjoint";
import { buildNet } from "./systems/adjoint";
import { HandwrittenMlp } from "./systems/handwritten";
import { createPytorchSystem } from "./systems/pytorch";
import { errorMessage, isSkip, type System } from "./systems/types";
import { statsOf } from "./stats";
import type { BenchOptions, BenchReport, InferCase, LossSensitivity, Settings, TrainCase } from "./types";
import { buildStream } from "./mnist-stream";
import { canStream } from "./stream";
import { buildWorkloads, isLenet, type Workload, writeWorkloadData } from "./workloads";

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT_DIR = resolve(HERE, "../results");

export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const quick = !!opts.quick;
  const s: Settings = { ...(quick ? QUICK : FULL) };
  if (opts.timeMs !== undefined) s.timeMs = opts.timeMs;
  const outDir = opts.outDir === undefined ? (quick ? null : DEFAULT_OUT_DIR) : opts.outDir;
  const problems: string[] = [];

  // Every workload goes to the PyTorch process's data file; the run's own are those of --only.
  const only = opts.only?.map((x) => x.toUpperCase());
  const all = buildWorkloads().map((w) => withStream(w, s));
  const workloads = only?.length ? all.filter((w) => only.includes(w.id)) : all;
  if (workloads.length === 0) throw new Error(`no workload matches --only ${opts.only?.join(",")}`);
  const dataDir = outDir ? join(outDir, ".tmp") : join(tmpdir(), `adjoint-bench-${process.pid}`);
  const pytorch = createPytorchSystem({
    manifestPath: join(dataDir, "workloads.json"),
    skipReason: quick ? "not run in --quick mode" : undefined,
  });
  const pytorch2 = createPytorchSystem({
    manifestPath: join(dataDir, "workloads.json"),
    skipReason: quick ? "not run in --quick mode" : undefined,
    threads: 2,
  });
  if (!quick) writeWorkloadData(all, dataDir);

  const wanted = (name: string) => !opts.systems?.length || opts.systems.includes(name);
  const trainSystems = (
    opts.trainSystems ??
    trainingSystems(opts.adjoint ?? adjointSystem, pytorch, {
      adjoint: createAdjointSystem(2),
      pytorch: pytorch2,
    })
  ).filter((x) => wanted(x.name));
  const inferSystems = [...trainSystems, ...INFERENCE_ONLY_SYSTEMS].filter(
    (x, i, a) => wanted(x.name) && a.indexOf(x) === i,
  );

  const report = emptyReport(quick, s, workloads, problems);
  report.rounds = opts.rounds ?? 1;
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
    await trainingTables(report, workloads, trainSystems, s, opts.rounds ?? 1, log);
    for (const id of CORRECTNESS_WORKLOADS) {
      const sensitivity = await lateLossResolution(id, workloads, trainSystems, s, quick);
      for (const which of ["early", "late"] as const) {
        const table = checkLossAfterSteps(
          id,
          which,
          report.train,
          s,
          log,
          problems,
          report.notes,
          sensitivity,
        );
        if (table) report.correctness.push(table);
      }
    }
    await inferenceTable(report, workloads, inferSystems, s, log);
    await matmulTable(report, s, quick, pytorch, wanted, log);
  } finally {
    stopGcAccounting();
    await pytorch.shutdown?.();
    await pytorch2.shutdown?.();
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
  if (report.notes.length) {
    log("NOTES (peers):");
    for (const n of report.notes) log(`  - ${n}`);
  }
  if (problems.length) {
    log("PROBLEMS:");
    for (const p of problems) log(`  - ${p}`);
  }
  return report;
}

/**
 * The resolution of workload `id`'s late loss: Adjoint's correctness steps rerun with one-ulp changes of
 * single pixels (sensitivity.ts); null in --quick runs, or when Adjoint did not train the workload.
 */
async function lateLossResolution(
  id: string,
  workloads: Workload[],
  systems: System[],
  s: Settings,
  quick: boolean,
): Promise<LossSensitivity | null> {
  const w = workloads.find((x) => x.id === id);
  const adjoint = systems.find((x) => x.name === "adjoint");
  if (quick || !w || !adjoint) return null;
  return lossSensitivity(adjoint, withStream(w, s), s);
}

/** A correctness workload with the stream of batches its correctness steps train on (stream.ts). */
function withStream(w: Workload, s: Settings): Workload {
  if (!CORRECTNESS_WORKLOADS.includes(w.id) || s.correctnessSteps < 2 || !canStream(w)) return w;
  return { ...w, stream: buildStream(w, s.correctnessSteps - 1) };
}

function emptyReport(quick: boolean, s: Settings, workloads: Workload[], problems: string[]): BenchReport {
  const cpu = cpus();
  return {
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
    rounds: 1,
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
    correctness: [],
    firstLoss: {},
    inference: [],
    matmul: { n: s.matmulN, rows: [], skipped: [] },
    problems,
    notes: [],
  };
}

/** A case slower than this per step is timed in the first round only (tfjs-cpu and jax-js on W5). */
const SLOW_CASE_MS = 1000;

/** Training steps, workload by workload (all systems of a workload close together in time). */
async function trainingTables(
  report: BenchReport,
  workloads: Workload[],
  systems: System[],
  s: Settings,
  rounds: number,
  log: (line: string) => void,
): Promise<void> {
  for (const w of workloads) {
    log(`${w.id} ${w.name}: ${describeWorkload(w)}`);
    const cases: TrainCase[] = [];
    for (const sys of systems) cases.push(await runTrainCase(sys, w, s, log));
    // More rounds, in alternating order, so that a burst of load hits every system alike; the correctness
    // steps and the memory figures are the first round's; slow cases are timed in the first round only.
    const perRound = cases.map((c) => (c.time ? [c.time.median] : []));
    for (let round = 1; round < rounds; round++) {
      log(`  ${w.id} round ${round + 1}/${rounds}`);
      const order = systems.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        if (!cases[i].time || cases[i].time!.median > SLOW_CASE_MS) continue;
        const again = await runTrainCase(systems[i], w, { ...s, correctnessSteps: 0, memMaxSteps: 0 }, log);
        if (again.time) perRound[i].push(again.time.median);
      }
    }
    cases.forEach((c, i) => {
      if (perRound[i].length > 1) c.time = { ...statsOf(perRound[i], c.time!.stepsPerSample), rounds: true };
    });
    report.train.push(...cases);
    const base = baselineOf(cases);
    report.baseline[w.id] = base?.system ?? null;
    for (const c of cases) if (base?.time && c.time) c.ratio = c.time.median / base.time.median;
    report.firstLoss[w.id] = checkFirstLosses(w.id, cases, report.problems);
  }
}

/** The logits every forward pass is checked against: handwritten-js's, or (convolutions) Adjoint's float64 interpreter. */
function referenceLogits(w: Workload): Float32Array {
  if (!isLenet(w)) return new HandwrittenMlp(w).forward().slice();
  return Float32Array.from(evaluate(buildNet(w).logits, { x: w.x }));
}

/** Forward-only runs of the inference workloads, checked against reference logits. */
async function inferenceTable(
  report: BenchReport,
  workloads: Workload[],
  systems: System[],
  s: Settings,
  log: (line: string) => void,
): Promise<void> {
  for (const w of workloads.filter((x) => INFERENCE_WORKLOADS.includes(x.id))) {
    log(`${w.id} forward only:`);
    const reference = referenceLogits(w);
    const cases: InferCase[] = [];
    for (const sys of systems) cases.push(await runInferCase(sys, w, s, reference, log));
    const base = baselineOf(cases);
    for (const c of cases) if (base?.time && c.time) c.ratio = c.time.median / base.time.median;
    checkLogits(w.id, cases, report.problems);
    report.inference.push(...cases);
  }
}

/** Matmul n³ in three orientations. */
async function matmulTable(
  report: BenchReport,
  s: Settings,
  quick: boolean,
  pytorch: PytorchSystem,
  wanted: (name: string) => boolean,
  log: (line: string) => void,
): Promise<void> {
  log(`matmul ${s.matmulN}³ (A·B, Aᵀ·B, A·Bᵀ):`);
  for (const [name, fn] of matmulSources(s, quick, pytorch)) {
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
      report.problems.push(`matmul ${name} failed: ${errorMessage(e)}`);
      log(`  ${name} FAILED: ${errorMessage(e)}`);
    }
  }
}
