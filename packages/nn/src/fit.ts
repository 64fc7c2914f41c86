/**
 * fit(model, data, options): the training loop. Full-batch gradient descent (no batchSize) or mini-batches
 * (shuffled every epoch from a seed), validation after every epoch, loss and accuracy, early stopping
 * (patience, minDelta, restoring the best weights), the course's plateau rule ("stop when the loss drops
 * less than p% over a window of 10 epochs"), and progress events for a progress bar.
 *
 * Everything is built into the model's graph (a new one, seeded, if the model was never built): the
 * training kernel for batchSize rows and, when n is not a multiple of batchSize, a second kernel for the
 * remaining rows, compiled from a second build of the model in the same graph. Both share the params, the
 * optimizer's state and its learning-rate buffer, so the last partial batch is an ordinary step of its
 * true size (no padding, no masking), unless `dropLast`. Validation uses eval-mode builds (Dropout off) of
 * the same model in the same graph, so they read the very weights being trained.
 */
import { Graph, Rng, type Tensor } from "@adjoint/core";
import { batches, checkDataset, copyBatchInto, type Dataset, shapeSize } from "./data/dataset";
import { type Engine, isInterpreted, type KernelLike, makeKernel, readFloat64, writeFloat64 } from "./engine";
import { uniqueName } from "./graph-utils";
import { binaryCrossEntropyWithLogits, crossEntropy, mseLoss } from "./losses";
import type { Module } from "./modules/module";
import type { Optimizer } from "./optim/optimizer";
import { type TrainStep, trainStep } from "./train-step";

export type LossName = "crossEntropy" | "mse" | "bce";
export type Monitor = "loss" | "acc" | "valLoss" | "valAcc";

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

export interface PlateauOptions {
  /** Stop when the monitored loss dropped by less than this many percent over the window. */
  percent: number;
  /** The window in epochs; default 10. */
  window?: number;
  /** Default "loss" (the training loss); "valLoss" also works. */
  monitor?: "loss" | "valLoss";
}

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

export type StopReason = "completed" | "earlyStopping" | "plateau" | "callback";

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
  /** The seed of the graph fit creates when the model was never built (initial weights, dropout). */
  graphSeed?: number;
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
  "graphSeed",
  "onBatchEnd",
  "onEpochEnd",
];

function wholeAtLeast(name: string, v: unknown, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new Error(`fit: ${name} must be a whole number >= ${min}, got ${String(v)}`);
  }
  return v;
}

/** The loss function for a name, fitting targets to the output's shape where only the layout differs. */
function lossFunction(loss: FitOptions["loss"]): (y: Tensor, t: Tensor) => Tensor {
  if (typeof loss === "function") return loss;
  const fit = (y: Tensor, t: Tensor) =>
    y.shape.join() !== t.shape.join() && y.size === t.size ? t.reshape(y.shape) : t;
  switch (loss) {
    case "crossEntropy":
      return (y, t) => crossEntropy(y, t);
    case "mse":
      return (y, t) => mseLoss(y, fit(y, t));
    case "bce":
      return (y, t) => binaryCrossEntropyWithLogits(y, fit(y, t));
    default:
      throw new Error(
        `fit: loss must be "crossEntropy", "mse", "bce" or a function, got ${JSON.stringify(loss)}`,
      );
  }
}

type AccuracyKind = "classIndex" | "probabilities" | "binary" | null;

function accuracyKind(
  option: FitOptions["accuracy"],
  loss: FitOptions["loss"],
  y: Tensor,
  ds: Dataset,
): AccuracyKind {
  if (option === false) return null;
  const perRow = y.rank >= 1 && y.shape[0] > 0 ? y.size / y.shape[0] : 1;
  const ySize = shapeSize(ds.yShape);
  let kind: AccuracyKind = null;
  if (loss === "bce") {
    if (perRow === 1 && ySize === 1) kind = "binary";
  } else if ((loss !== "mse" || option === true) && y.rank === 2 && perRow > 1) {
    if (ds.yShape.length === 0) kind = "classIndex";
    else if (ySize === perRow) kind = "probabilities";
  }
  if (option === true && kind === null) {
    throw new Error(
      `fit: accuracy: cannot tell classes from an output [${y.shape.join(",")}] and targets of shape [${ds.yShape.join(",")}]`,
    );
  }
  return kind;
}

/** Correct predictions among `count` rows. */
function countCorrect(
  kind: AccuracyKind,
  y: Float32Array,
  t: Float32Array,
  count: number,
  classes: number,
): number {
  let correct = 0;
  for (let r = 0; r < count; r++) {
    if (kind === "binary") {
      if (y[r] > 0 === t[r] > 0.5) correct++;
      continue;
    }
    let best = 0;
    for (let c = 1; c < classes; c++) if (y[r * classes + c] > y[r * classes + best]) best = c;
    let label: number;
    if (kind === "classIndex") {
      label = t[r];
    } else {
      label = 0;
      for (let c = 1; c < classes; c++) if (t[r * classes + c] > t[r * classes + label]) label = c;
    }
    if (best === label) correct++;
  }
  return correct;
}

interface Built {
  x: string;
  t: string;
  kernelOutputs: { loss: Tensor; y: Tensor };
}

function buildObjective(
  model: Module,
  g: Graph,
  rows: number,
  ds: Dataset,
  lossFn: (y: Tensor, t: Tensor) => Tensor,
  penalty: FitOptions["penalty"],
): Built {
  const x = g.input(uniqueName(g, "x"), [rows, ...ds.xShape]);
  const t = g.input(uniqueName(g, "t"), [rows, ...ds.yShape]);
  const y = model.build(x);
  let loss = lossFn(y, t);
  if (loss?.size !== 1) throw new Error(`fit: the loss must be a scalar tensor, got ${loss?.describe()}`);
  if (penalty) {
    const p = penalty(model.parameters());
    if (p?.size !== 1) throw new Error(`fit: penalty must return a scalar tensor, got ${p?.describe()}`);
    loss = loss.add(p.reshape(loss.shape));
  }
  return { x: x.name!, t: t.name!, kernelOutputs: { loss, y } };
}

function lossOf(k: KernelLike): number {
  return isInterpreted(k) ? k.outputs64.loss[0] : k.outputs.loss[0];
}

export function fit(model: Module, data: Dataset, options: FitOptions): FitResult {
  if (!model || typeof (model as Module).build !== "function") {
    throw new TypeError(`fit: the first argument must be a Module, got ${String(model)}`);
  }
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
  const epochs = wholeAtLeast("epochs", options.epochs, 1);
  const batchSize =
    options.batchSize === undefined ? data.n : wholeAtLeast("batchSize", options.batchSize, 1);
  const B = Math.min(batchSize, data.n);
  const fullBatch = B === data.n;
  const shuffle = options.shuffle ?? !fullBatch;
  const dropLast = options.dropLast ?? false;
  const remainder = data.n % B;
  if (dropLast && data.n < B)
    throw new Error(`fit: dropLast with batchSize ${B} > n = ${data.n} leaves no batch`);
  const evalBatch = wholeAtLeast("evalBatchSize", options.evalBatchSize ?? 1024, 1);
  const schedulePer = options.lrSchedulePer ?? "epoch";
  if (schedulePer !== "epoch" && schedulePer !== "step") {
    throw new Error(`fit: lrSchedulePer must be "epoch" or "step", got ${JSON.stringify(schedulePer)}`);
  }
  const schedule = typeof optimizer.lr === "function" ? optimizer.lr : null;

  // Early stopping and plateau options.
  const es = options.earlyStopping;
  let esMonitor: Monitor = "loss";
  let patience = 5;
  let minDelta = 0;
  let restoreBest = true;
  if (es) {
    esMonitor = es.monitor ?? (validation ? "valLoss" : "loss");
    if (!["loss", "acc", "valLoss", "valAcc"].includes(esMonitor)) {
      throw new Error(
        `fit: earlyStopping.monitor must be loss, acc, valLoss or valAcc, got ${JSON.stringify(esMonitor)}`,
      );
    }
    if (esMonitor.startsWith("val") && !validation) {
      throw new Error(`fit: earlyStopping.monitor "${esMonitor}" needs validation data`);
    }
    patience = wholeAtLeast("earlyStopping.patience", es.patience ?? 5, 1);
    minDelta = es.minDelta ?? 0;
    if (typeof minDelta !== "number" || !(minDelta >= 0)) {
      throw new Error(`fit: earlyStopping.minDelta must be a number >= 0, got ${String(minDelta)}`);
    }
    restoreBest = es.restoreBest ?? true;
  }
  const plateau = options.plateau;
  let plateauWindow = 10;
  if (plateau) {
    if (typeof plateau.percent !== "number" || !Number.isFinite(plateau.percent) || plateau.percent < 0) {
      throw new Error(`fit: plateau.percent must be a finite number >= 0, got ${String(plateau.percent)}`);
    }
    plateauWindow = wholeAtLeast("plateau.window", plateau.window ?? 10, 1);
    const m = plateau.monitor ?? "loss";
    if (m !== "loss" && m !== "valLoss")
      throw new Error(`fit: plateau.monitor must be "loss" or "valLoss", got ${JSON.stringify(m)}`);
    if (m === "valLoss" && !validation)
      throw new Error(`fit: plateau.monitor "valLoss" needs validation data`);
  }

  // Build: training kernels in train mode, validation kernels in eval mode, all in the model's graph.
  const g = model.graph ?? new Graph({ seed: options.graphSeed ?? 0 });
  const lossFn = lossFunction(options.loss);
  const wasTraining = model.training;
  const kernelOpts = { engine: options.engine, checkFinite: options.checkFinite };
  let trainMain: { step: TrainStep; built: Built };
  let trainRest: { step: TrainStep; built: Built } | null = null;
  let evalKernels: { rows: number; kernel: KernelLike; built: Built }[] = [];
  try {
    model.train(true);
    const makeTrain = (rows: number) => {
      const built = buildObjective(model, g, rows, data, lossFn, options.penalty);
      const step = trainStep(built.kernelOutputs.loss, optimizer, {
        outputs: { y: built.kernelOutputs.y },
        autoSchedule: false,
        ...kernelOpts,
      });
      return { step, built };
    };
    trainMain = makeTrain(B);
    if (remainder > 0 && !dropLast && !fullBatch) trainRest = makeTrain(remainder);
    if (validation) {
      model.train(false);
      const rows = Math.min(evalBatch, validation.n);
      const sizes = [rows];
      if (validation.n % rows !== 0) sizes.push(validation.n % rows);
      evalKernels = sizes.map((r) => {
        const built = buildObjective(model, g, r, validation, lossFn, options.penalty);
        return { rows: r, built, kernel: makeKernel("fit (validation)", built.kernelOutputs, kernelOpts) };
      });
    }
  } finally {
    model.train(wasTraining);
  }
  const accKind = accuracyKind(
    options.accuracy ?? "auto",
    options.loss,
    trainMain.built.kernelOutputs.y,
    data,
  );
  const classes = accKind === "binary" ? 1 : (trainMain.built.kernelOutputs.y.shape[1] ?? 1);
  const params = model.parameters();
  const interpreted = trainMain.step.engine === "interpreter";
  const snapshot = () => params.map((p) => (interpreted ? readFloat64(p) : Float64Array.from(p.value)));
  const restore = (values: Float64Array[]) => {
    for (const [i, p] of params.entries()) {
      if (interpreted) writeFloat64(p, values[i]);
      else p.value.set(values[i]);
    }
  };

  const validate = (): { loss: number; acc: number | null } => {
    const v = validation!;
    let total = 0;
    let correct = 0;
    for (let start = 0; start < v.n; ) {
      const count = Math.min(evalKernels[0].rows, v.n - start);
      const ek = evalKernels.find((k) => k.rows === count)!;
      copyRows(v, start, count, ek.kernel.inputs[ek.built.x], ek.kernel.inputs[ek.built.t]);
      ek.kernel.run();
      total += lossOf(ek.kernel) * count;
      if (accKind) {
        correct += countCorrect(accKind, ek.kernel.outputs.y, ek.kernel.inputs[ek.built.t], count, classes);
      }
      start += count;
    }
    return { loss: total / v.n, acc: accKind ? correct / v.n : null };
  };

  const history: EpochLog[] = [];
  const rng = new Rng(options.seed ?? 0);
  let stopReason: StopReason = "completed";
  let best: number | null = null;
  let bestEpoch: number | null = null;
  let bestWeights: Float64Array[] | null = null;
  let sinceBest = 0;
  let globalStep = 0;
  const maximize = esMonitor === "acc" || esMonitor === "valAcc";

  for (let epoch = 0; epoch < epochs; epoch++) {
    if (schedule && schedulePer === "epoch") trainMain.step.lr = schedule(epoch);
    let lossSum = 0;
    let rows = 0;
    let correct = 0;
    let lr = trainMain.step.lr;
    const nBatches = dropLast ? Math.floor(data.n / B) : Math.ceil(data.n / B);
    const t0 = performance.now();
    for (const range of batches(data, B, { shuffle, rng, dropLast })) {
      const part = range.count === B ? trainMain : trainRest!;
      const { step, built } = part;
      const xv = step.inputs[built.x];
      const tv = step.inputs[built.t];
      copyBatchInto(data, range.order, range.start, range.count, xv, tv);
      if (schedule && schedulePer === "step") step.lr = schedule(globalStep);
      lr = step.lr;
      const loss = step.run();
      globalStep++;
      lossSum += loss * range.count;
      rows += range.count;
      const batchCorrect = accKind ? countCorrect(accKind, step.outputs.y, tv, range.count, classes) : 0;
      correct += batchCorrect;
      if (options.onBatchEnd) {
        const elapsed = (performance.now() - t0) / 1000;
        options.onBatchEnd({
          epoch,
          batch: range.index,
          batches: nBatches,
          size: range.count,
          loss,
          acc: accKind ? batchCorrect / range.count : null,
          step: globalStep,
          lr,
          stepsPerSec: elapsed > 0 ? (range.index + 1) / elapsed : Number.POSITIVE_INFINITY,
        });
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const val = validation ? validate() : null;
    const log: EpochLog = {
      epoch,
      loss: lossSum / rows,
      acc: accKind ? correct / rows : null,
      valLoss: val ? val.loss : null,
      valAcc: val ? val.acc : null,
      lr,
      seconds,
      stepsPerSec: seconds > 0 ? nBatches / seconds : Number.POSITIVE_INFINITY,
      samplesPerSec: seconds > 0 ? rows / seconds : Number.POSITIVE_INFINITY,
    };
    history.push(log);
    const fromCallback = options.onEpochEnd?.(log);

    if (es) {
      const value = log[esMonitor];
      if (value === null)
        throw new Error(`fit: earlyStopping.monitor "${esMonitor}" has no value (no accuracy here)`);
      const improved = best === null || (maximize ? value > best + minDelta : value < best - minDelta);
      if (improved) {
        best = value;
        bestEpoch = epoch;
        sinceBest = 0;
        if (restoreBest) bestWeights = snapshot();
      } else if (++sinceBest >= patience) {
        stopReason = "earlyStopping";
      }
    }
    if (stopReason === "completed" && plateau) {
      const key = plateau.monitor ?? "loss";
      if (epoch >= plateauWindow) {
        const before = history[epoch - plateauWindow][key]!;
        const now = log[key]!;
        const dropPercent = ((before - now) / Math.abs(before)) * 100;
        if (dropPercent < plateau.percent) stopReason = "plateau";
      }
    }
    if (stopReason === "completed" && fromCallback === "stop") stopReason = "callback";
    if (stopReason !== "completed") break;
  }
  if (es && restoreBest && bestWeights) restore(bestWeights);
  return {
    history,
    stopReason,
    bestEpoch,
    steps: globalStep,
    graph: g,
    trainSteps: trainRest ? [trainMain.step, trainRest.step] : [trainMain.step],
  };
}

/** Copies rows [start, start + count) of a dataset, in order. */
function copyRows(ds: Dataset, start: number, count: number, xOut: Float32Array, yOut: Float32Array): void {
  const xs = shapeSize(ds.xShape);
  const ys = shapeSize(ds.yShape);
  xOut.set(ds.x.subarray(start * xs, (start + count) * xs));
  yOut.set(ds.y.subarray(start * ys, (start + count) * ys));
}
