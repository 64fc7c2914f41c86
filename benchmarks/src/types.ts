/** The shapes the harness passes around: its options and settings, one case's figures, the whole report. */
import type { MatmulRow } from "./matmul";
import type { System } from "./systems/types";

export interface BenchOptions {
  /** A few steps per case, only to check that everything runs. Writes no files unless outDir is given. */
  quick?: boolean;
  /** Workload ids to run (W1..W5); default all. */
  only?: string[];
  /** System names to run; default all. */
  systems?: string[];
  /** Where latest.md / latest.json go; null writes nothing. Default benchmarks/results (full) or nothing (quick). */
  outDir?: string | null;
  /**
   * Training cases are timed this many times per workload, the systems in alternating order (default 1);
   * a case's figure is then the median over rounds and its range the min–max of the round medians.
   */
  rounds?: number;
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
  /** True when median/min/max are over rounds' medians (BenchOptions.rounds), not over samples. */
  rounds?: boolean;
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
  /** Loss of step `correctnessSteps` (the correctness workloads only, registry.ts). */
  checkLoss?: number;
  /** Loss of step `correctnessEarlySteps` (the same steps, read on the way). */
  earlyLoss?: number;
  /** Why checkLoss is missing on a correctness workload (too slow a system). */
  checkSkipped?: string;
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
  /** (loss − reference) / reference. */
  relDiff?: number;
}

export interface CorrectnessTable {
  workload: string;
  steps: number;
  reference: number | null;
  rows: CorrectnessRow[];
  /** Systems that trained the workload but not for `steps` steps, and why. */
  notRun: { system: string; reason: string }[];
  allAgree: boolean;
  /** The late check's resolution, measured on Adjoint's own trajectory (sensitivity.ts). */
  sensitivity?: LossSensitivity;
}

/** How far one-ulp changes of the first batch's pixels move a loss after the correctness steps. */
export interface LossSensitivity {
  /** The unperturbed late loss, and the late losses under each perturbation (sensitivity.ts). */
  base: number;
  perturbed: { perturbation: string; loss: number }[];
  /** max |perturbed − base| / |base|. */
  spread: number;
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
  /** BenchOptions.rounds. */
  rounds: number;
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
  /** One entry per correctness workload that any system got through. */
  correctness: CorrectnessTable[];
  firstLoss: Record<string, { system: string; loss: number; agrees: boolean }[]>;
  inference: InferCase[];
  matmul: { n: number; rows: MatmulRow[]; skipped: { system: string; reason: string }[] };
  problems: string[];
  /** Peers' disagreements after the correctness steps: reported, not problems of the run. */
  notes: string[];
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
  /** The loss of this step of the correctness steps is checked too (a horizon before Adam compounds roundings). */
  correctnessEarlySteps: number;
  /** A system whose correctness steps would take longer than this skips them (0: no limit). */
  correctnessMaxMs: number;
  inferTimeMs: number;
  matmulN: number;
  matmulTimeMs: number;
  matmulMinSamples: number;
  /** Quick mode: a case whose first step took longer than this is not stepped again (0: always time). */
  reuseFirstStepMs: number;
}
