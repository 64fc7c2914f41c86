/**
 * The one interface every benchmarked system implements. A system turns a workload into a Runner that owns
 * its own copy of the parameters and optimizer state; the harness times `step()`.
 */
import type { Workload } from "../workloads";

export interface Skip {
  skipped: true;
  reason: string;
}

export function skip(reason: string): Skip {
  return { skipped: true, reason };
}

export function isSkip(x: unknown): x is Skip {
  return typeof x === "object" && x !== null && (x as Skip).skipped === true;
}

/** How a self-timing runner should sample (mirrors what the harness does with tinybench). */
export interface TimingPlan {
  warmupMs: number;
  warmupIterations: number;
  /** Sampling goes on until both the time budget and the minimum sample count are met. */
  timeMs: number;
  minSamples: number;
  /**
   * Steps per sample: a sample's time is divided by this (tiny steps are batched so the timer can see them).
   * 0 lets a self-timing runner choose, so that one sample lasts at least minSampleMs.
   */
  stepsPerSample: number;
  minSampleMs: number;
}

export interface Runner {
  /**
   * One training step on the workload's fixed batch: forward, backward and parameter update. When it returns
   * (or its promise resolves) the new parameters must be computed, not merely queued.
   */
  step(): void | Promise<void>;
  /** The loss computed by the most recent step (so at the parameters before that step's update). */
  loss(): number | Promise<number>;
  dispose(): void | Promise<void>;
  /**
   * Only for runners living in another process (PyTorch): the runner times its own steps, since the
   * harness's timer would measure the IPC. Returns one sample per entry, in ms per step.
   */
  selfTime?(plan: TimingPlan): Promise<number[]>;
  /**
   * The correctness steps: n training steps on batches from, from + 1, …, from + n − 1 of the workload's
   * stream (stream.ts), then back to the fixed batch for the steps that follow. loss() is then the loss of
   * the last stream step. A runner without it has its 200-step loss reported as not run.
   */
  streamSteps?(from: number, n: number): void | Promise<void>;
  /** False for out-of-process runners: JS heap and GC figures do not apply to them. Default true. */
  inProcess?: boolean;
}

/** Forward pass only (the inference table): logits of the workload's batch. */
export interface InferenceRunner {
  run(): void | Promise<void>;
  /** Logits of the last run, row-major [batch, classes]. */
  output(): Float32Array | Promise<Float32Array>;
  dispose(): void | Promise<void>;
  selfTime?(plan: TimingPlan): Promise<number[]>;
  inProcess?: boolean;
}

export interface System {
  name: string;
  /** Builds a fresh runner (fresh parameters and optimizer state) for a workload, or says why it can't. */
  setup(w: Workload): Promise<Runner | Skip>;
  /** Optional forward-only runner for the inference table. */
  setupInference?(w: Workload): Promise<InferenceRunner | Skip>;
  /** Optional: free process-wide resources (a child process) once the run is over. */
  shutdown?(): Promise<void>;
  /** Optional one-line description for the report (library version, backend, BLAS). */
  describe?(): Promise<string>;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message.split("\n")[0];
  return String(e);
}
