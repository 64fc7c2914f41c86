/** fit's options and results, and the checks of the options that shape the loop (epochs, batches, schedule). */
import type { Graph, Tensor } from "@adjoint/core";
import { checkDataset, type Dataset } from "../data/dataset";
import type { Engine } from "../engine";
import type { Optimizer } from "../optim/optimizer";
import type { TrainStep } from "../train-step";

/**
 * The built-in losses fit knows by name: cross-entropy on logits, mean squared error, binary cross-entropy on
 * logits.
 */
export type LossName = "crossEntropy" | "mse" | "bce";
/** A metric early stopping can watch: training or validation loss or accuracy. */
export type Monitor = "loss" | "acc" | "valLoss" | "valAcc";

/** Options of fit's early stopping. */
export interface EarlyStoppingOptions {
  /** What to watch; default "valLoss" with validation data, else "loss". Accuracies are maximized. */
  monitor?: Monitor;
  /** Epochs without improvement before stopping; default 5. */
  patience?: number;
  /** The least change that counts as an improvement; default 0. */
  minDelta?: number;
  /** End with the weights of the best epoch (whether or not training stopped early); default true. */
  restoreBest?: boolean;
}

/** Options of fit's plateau rule: stop when the loss stops falling by a given percentage. */
export interface PlateauOptions {
  /** Stop when the monitored loss dropped by less than this many percent over the window. */
  percent: number;
  /** The window in epochs; default 10. */
  window?: number;
  /** Default "loss" (the training loss); "valLoss" also works. */
  monitor?: "loss" | "valLoss";
}

/** What onBatchEnd receives after each training step. */
export interface BatchEvent {
  epoch: number;
  /** 0-based batch index within the epoch. */
  batch: number;
  batches: number;
  /** Rows in this batch. */
  size: number;
  /** The batch's loss (before its update). */
  loss: number;
  /** The batch's accuracy (null when not a classification). */
  acc: number | null;
  /** Steps done so far over the whole fit (this one included). */
  step: number;
  lr: number;
  /** Steps per second so far in this epoch. */
  stepsPerSec: number;
}

/** One epoch's metrics (training, and validation when given). */
export interface EpochLog {
  epoch: number;
  /** Mean training loss over the epoch's batches (each before its update), weighted by batch size. */
  loss: number;
  /** Training accuracy over the epoch's batches (null when not a classification). */
  acc: number | null;
  valLoss: number | null;
  valAcc: number | null;
  /** The learning rate of the epoch's last step. */
  lr: number;
  /** Wall-clock seconds of the epoch's training steps (validation excluded). */
  seconds: number;
  stepsPerSec: number;
  samplesPerSec: number;
}

/** Why fit stopped: all epochs done, early stopping, the plateau rule, or a callback's "stop". */
export type StopReason = "completed" | "earlyStopping" | "plateau" | "callback";

/** What {@link fit} returns: the history, why it stopped, the best epoch. */
export interface FitResult {
  history: EpochLog[];
  stopReason: StopReason;
  /** The best epoch by the early-stopping monitor (null without early stopping). */
  bestEpoch: number | null;
  steps: number;
  graph: Graph;
  /** The training step kernels: [full batches, remainder batch] (the second only when needed). */
  trainSteps: TrainStep[];
}

/** Options of {@link fit}; `optimizer` is required, the rest have defaults. */
export interface FitOptions {
  optimizer: Optimizer;
  /** "crossEntropy" (logits vs class indices or probabilities), "mse", "bce" (on logits), or a function. */
  loss: LossName | ((y: Tensor, t: Tensor) => Tensor);
  epochs: number;
  /** Rows per step; default all (full-batch gradient descent). */
  batchSize?: number;
  /** Reshuffle the rows every epoch; default true for mini-batches (full batches keep the order). */
  shuffle?: boolean;
  /** The shuffling seed; default 0. */
  seed?: number;
  /** Skip the last batch when smaller than batchSize; default false (it is trained, at its own size). */
  dropLast?: boolean;
  /** Evaluated after every epoch (eval mode). */
  validation?: Dataset;
  /** Rows per validation kernel run; default 1024. */
  evalBatchSize?: number;
  /** Measure accuracy: "auto" (default: for crossEntropy, bce, and [N,C] logits), true or false. */
  accuracy?: boolean | "auto";
  /** Added to the loss (train and validation): e.g. (ps) => l2Penalty(ps.filter((p) => p.rank > 1), 1e-3). */
  penalty?: (params: Tensor[]) => Tensor;
  earlyStopping?: EarlyStoppingOptions;
  plateau?: PlateauOptions;
  /** When the optimizer's lr is a schedule: a_k with k the epoch (default) or the step. */
  lrSchedulePer?: "epoch" | "step";
  /** Default "compiled". */
  engine?: Engine;
  checkFinite?: boolean;
  /** Threads of the compiled kernels (see trainStep); their workers end when fit returns. */
  threads?: number;
  /** Time every group of the compiled training step (see trainStep; read from result.trainSteps). */
  profile?: boolean;
  /** The seed of the graph fit creates when the model was never built (initial weights, dropout). */
  graphSeed?: number;
  /** Called after every training step (loss, batch index, ...). */
  onBatchEnd?: (event: BatchEvent) => void;
  /** Return "stop" to end training after this epoch. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a callback may return nothing or "stop"
  onEpochEnd?: (log: EpochLog) => "stop" | void;
}

const KNOWN = [
  "optimizer",
  "loss",
  "epochs",
  "batchSize",
  "shuffle",
  "seed",
  "dropLast",
  "validation",
  "evalBatchSize",
  "accuracy",
  "penalty",
  "earlyStopping",
  "plateau",
  "lrSchedulePer",
  "engine",
  "checkFinite",
  "threads",
  "profile",
  "graphSeed",
  "onBatchEnd",
  "onEpochEnd",
];

export function wholeAtLeast(name: string, v: unknown, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new Error(`fit: ${name} must be a whole number >= ${min}, got ${String(v)}`);
  }
  return v;
}

/** Unknown option names, a missing optimizer, and training and validation data that do not match. */
export function checkFitArguments(data: Dataset, options: FitOptions): void {
  for (const k of Object.keys(options)) {
    if (!KNOWN.includes(k)) throw new Error(`fit: unknown option "${k}" (known: ${KNOWN.join(", ")})`);
  }
  const { optimizer, validation } = options;
  if (!optimizer || typeof optimizer.minimize !== "function") {
    throw new Error("fit: options.optimizer must be an optimizer (optim.sgd(...), optim.adam(...), ...)");
  }
  checkDataset(data, "fit: training data");
  if (data.n < 1) throw new Error("fit: the training data is empty");
  if (validation) {
    checkDataset(validation, "fit: validation data");
    if (validation.n < 1) throw new Error("fit: the validation data is empty");
    if (validation.xShape.join() !== data.xShape.join() || validation.yShape.join() !== data.yShape.join()) {
      throw new Error(
        `fit: validation shapes x [${validation.xShape}] y [${validation.yShape}] differ from the training data's x [${data.xShape}] y [${data.yShape}]`,
      );
    }
  }
}

/** How the epochs are cut into steps, with the defaults filled in. */
export interface LoopPlan {
  epochs: number;
  /** Rows per full batch (at most n). */
  batch: number;
  fullBatch: boolean;
  shuffle: boolean;
  dropLast: boolean;
  /** Rows of the last, smaller batch (0 when n is a multiple of the batch). */
  remainder: number;
  evalBatch: number;
  schedulePer: "epoch" | "step";
}

export function planLoop(data: Dataset, options: FitOptions): LoopPlan {
  const epochs = wholeAtLeast("epochs", options.epochs, 1);
  const batchSize =
    options.batchSize === undefined ? data.n : wholeAtLeast("batchSize", options.batchSize, 1);
  const batch = Math.min(batchSize, data.n);
  const fullBatch = batch === data.n;
  const shuffle = options.shuffle ?? !fullBatch;
  const dropLast = options.dropLast ?? false;
  const remainder = data.n % batch;
  if (dropLast && data.n < batch)
    throw new Error(`fit: dropLast with batchSize ${batch} > n = ${data.n} leaves no batch`);
  const evalBatch = wholeAtLeast("evalBatchSize", options.evalBatchSize ?? 1024, 1);
  const schedulePer = options.lrSchedulePer ?? "epoch";
  if (schedulePer !== "epoch" && schedulePer !== "step") {
    throw new Error(`fit: lrSchedulePer must be "epoch" or "step", got ${JSON.stringify(schedulePer)}`);
  }
  return { epochs, batch, fullBatch, shuffle, dropLast, remainder, evalBatch, schedulePer };
}
