/**
 * fit(model, data, options): the training loop. Full-batch gradient descent (no batchSize) or mini-batches
 * (shuffled every epoch from a seed), validation after every epoch, loss and accuracy, early stopping
 * (patience, minDelta, restoring the best weights), the course's plateau rule ("stop when the loss drops
 * less than p% over a window of 10 epochs"), and progress events for a progress bar.
 *
 * Everything is built into the model's graph (a new one, seeded, if the model was never built); see
 * kernels.ts for the kernels, early-stopping.ts and plateau.ts for the two stopping rules.
 */
import { Graph, Rng } from "@adjoint/core";
import { batches, copyBatchInto, type Dataset } from "../data/dataset";
import { readFloat64, writeFloat64 } from "../engine";
import type { Module } from "../modules/module";
import { EarlyStopping } from "./early-stopping";
import { buildKernels, disposeKernels, evaluateDataset } from "./kernels";
import { accuracyKind, countCorrect, lossFunction } from "./objective";
import {
  checkFitArguments,
  type EpochLog,
  type FitOptions,
  type FitResult,
  planLoop,
  type StopReason,
} from "./options";
import { PlateauRule } from "./plateau";

export type {
  BatchEvent,
  EarlyStoppingOptions,
  EpochLog,
  FitOptions,
  FitResult,
  LossName,
  Monitor,
  PlateauOptions,
  StopReason,
} from "./options";

/**
 * Trains a model on a dataset: the loop the CLI uses. Builds (and compiles once) the training step of `model`
 * for `options.loss` and `options.optimizer`, then runs epochs of shuffled mini-batches, with validation,
 * early stopping, the plateau rule, lr schedules per epoch or step, and callbacks.
 * @example
 * ```ts
 * const model = new Sequential(new Linear(4, 16), new Tanh(), new Linear(16, 3));
 * const { train, test } = loadIris({ seed: 0 });
 * const { history, stopReason } = fit(model, train, {
 *   optimizer: optim.adam({ lr: 0.01 }),
 *   loss: "crossEntropy",
 *   epochs: 50,
 *   batchSize: 16,
 *   validation: test,
 *   earlyStopping: { patience: 5 },
 *   onEpochEnd: (log) => console.log(log.epoch, log.loss, log.valAcc),
 * });
 * ```
 */
export function fit(model: Module, data: Dataset, options: FitOptions): FitResult {
  if (!model || typeof (model as Module).build !== "function") {
    throw new TypeError(`fit: the first argument must be a Module, got ${String(model)}`);
  }
  checkFitArguments(data, options);
  const { optimizer, validation } = options;
  const plan = planLoop(data, options);
  const { batch: B, dropLast, schedulePer } = plan;
  const schedule = typeof optimizer.lr === "function" ? optimizer.lr : null;
  const es = options.earlyStopping ? new EarlyStopping(options.earlyStopping, !!validation) : null;
  const plateau = options.plateau ? new PlateauRule(options.plateau, !!validation) : null;

  const g = model.graph ?? new Graph({ seed: options.graphSeed ?? 0 });
  const lossFn = lossFunction(options.loss);
  const kernels = buildKernels(model, g, data, options, plan, lossFn);
  const { trainMain, trainRest, evalKernels } = kernels;
  const y = trainMain.built.kernelOutputs.y;
  const accKind = accuracyKind(options.accuracy ?? "auto", options.loss, y, data);
  const classes = accKind === "binary" ? 1 : (y.shape[1] ?? 1);
  // What early stopping keeps and restores: the weights and the buffers (BatchNorm's running statistics).
  const params = [...model.parameters(), ...model.buffers()];
  const interpreted = trainMain.step.engine === "interpreter";
  const snapshot = () => params.map((p) => (interpreted ? readFloat64(p) : Float64Array.from(p.value)));
  const restore = (values: Float64Array[]) => {
    for (const [i, p] of params.entries()) {
      if (interpreted) writeFloat64(p, values[i]);
      else p.value.set(values[i]);
    }
  };

  const history: EpochLog[] = [];
  const rng = new Rng(options.seed ?? 0);
  let stopReason: StopReason = "completed";
  let globalStep = 0;

  for (let epoch = 0; epoch < plan.epochs; epoch++) {
    if (schedule && schedulePer === "epoch") trainMain.step.lr = schedule(epoch);
    let lossSum = 0;
    let rows = 0;
    let correct = 0;
    let lr = trainMain.step.lr;
    const nBatches = dropLast ? Math.floor(data.n / B) : Math.ceil(data.n / B);
    const t0 = performance.now();
    for (const range of batches(data, B, { shuffle: plan.shuffle, rng, dropLast })) {
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
    const val = validation ? evaluateDataset(validation, evalKernels, accKind, classes) : null;
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

    if (es?.shouldStop(log, snapshot)) stopReason = "earlyStopping";
    if (stopReason === "completed" && plateau?.reached(history)) stopReason = "plateau";
    if (stopReason === "completed" && fromCallback === "stop") stopReason = "callback";
    if (stopReason !== "completed") break;
  }
  if (es?.restoreBest && es.bestWeights) restore(es.bestWeights);
  // fit's kernels are its own: end their workers.
  disposeKernels(kernels);
  return {
    history,
    stopReason,
    bestEpoch: es ? es.bestEpoch : null,
    steps: globalStep,
    graph: g,
    trainSteps: trainRest ? [trainMain.step, trainRest.step] : [trainMain.step],
  };
}
