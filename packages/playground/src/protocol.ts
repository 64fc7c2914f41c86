/** The messages between the page (main.ts) and the training worker (worker.ts). */
import type { TrainConfig } from "./config";
import type { EpochReport, SliceReport } from "./session";

export type ToWorker =
  | { type: "init"; dataUrl: string }
  | { type: "start"; config: TrainConfig }
  | { type: "pause" }
  | { type: "reset"; config: TrainConfig }
  | { type: "predict"; id: number; pixels: Float32Array }
  | { type: "graph"; expanded: string[]; view: "modules" | "nodes" };

export interface BuiltInfo {
  config: TrainConfig;
  source: string;
  arenaBytes: number;
  naiveBytes: number;
  parameters: number;
  loopNests: number;
  engine: string;
  trainSamples: number;
  valSamples: number;
  batchesPerEpoch: number;
  /** Threads the training step runs on, and why fewer than the config asked for ("" when not). */
  threads: number;
  threadsNote: string;
}

export type FromWorker =
  | { type: "built"; info: BuiltInfo }
  | { type: "graph"; svg: string; expanded: string[]; view: "modules" | "nodes" }
  | { type: "slice"; report: SliceReport; stepsPerSec: number }
  | { type: "epoch"; report: EpochReport }
  /** After the last epoch: the 2,000 test digits, as the CLI's last line. */
  | { type: "test"; loss: number; acc: number; n: number }
  | { type: "state"; state: "idle" | "running" | "paused" | "finished" }
  | { type: "prediction"; id: number; probs: Float32Array }
  /** A message for the page's error line (one sentence); `fatal` when the worker cannot go on. */
  | { type: "error"; message: string; fatal?: boolean }
  | { type: "log"; text: string };

/** An error as the page shows it: one sentence (the message's first line, ending with one full stop). */
export function sentence(message: string): string {
  const first = message.split("\n")[0].trim();
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
