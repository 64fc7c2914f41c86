/**
 * The kernels fit runs, all built into the model's graph: the training step for full batches and, when n is
 * not a multiple of the batch size, a second one for the remaining rows, compiled from a second build of the
 * model. Both share the params, the optimizer's state and its learning-rate buffer, so the last partial
 * batch is an ordinary step of its true size (no padding, no masking). Validation uses eval-mode builds
 * (Dropout off) of the same model in the same graph, so they read the very weights being trained.
 */
import type { Graph, Tensor } from "@adjoint/core";
import { type Dataset, shapeSize } from "../data/dataset";
import { isInterpreted, type KernelLike, makeKernel } from "../engine";
import type { Module } from "../modules/module";
import { type TrainStep, trainStep } from "../train-step";
import { type AccuracyKind, type Built, buildObjective, countCorrect } from "./objective";
import type { FitOptions, LoopPlan } from "./options";

export interface TrainPart {
  step: TrainStep;
  built: Built;
}

export interface FitKernels {
  trainMain: TrainPart;
  trainRest: TrainPart | null;
  evalKernels: { rows: number; kernel: KernelLike; built: Built }[];
}

export function buildKernels(
  model: Module,
  g: Graph,
  data: Dataset,
  options: FitOptions,
  plan: LoopPlan,
  lossFn: (y: Tensor, t: Tensor) => Tensor,
): FitKernels {
  const { optimizer, validation } = options;
  const wasTraining = model.training;
  const kernelOpts = {
    engine: options.engine,
    checkFinite: options.checkFinite,
    threads: options.threads,
    profile: options.profile,
  };
  try {
    model.train(true);
    const makeTrain = (rows: number): TrainPart => {
      const built = buildObjective(model, g, rows, data, lossFn, options.penalty);
      const step = trainStep(built.kernelOutputs.loss, optimizer, {
        outputs: { y: built.kernelOutputs.y },
        autoSchedule: false,
        ...kernelOpts,
      });
      return { step, built };
    };
    const trainMain = makeTrain(plan.batch);
    const needsRest = plan.remainder > 0 && !plan.dropLast && !plan.fullBatch;
    const trainRest = needsRest ? makeTrain(plan.remainder) : null;
    let evalKernels: FitKernels["evalKernels"] = [];
    if (validation) {
      model.train(false);
      const rows = Math.min(plan.evalBatch, validation.n);
      const sizes = [rows];
      if (validation.n % rows !== 0) sizes.push(validation.n % rows);
      evalKernels = sizes.map((r) => {
        const built = buildObjective(model, g, r, validation, lossFn, options.penalty);
        return { rows: r, built, kernel: makeKernel("fit (validation)", built.kernelOutputs, kernelOpts) };
      });
    }
    return { trainMain, trainRest, evalKernels };
  } finally {
    model.train(wasTraining);
  }
}

/** Ends the kernels' worker threads (a no-op for kernels with one thread). */
export function disposeKernels(k: FitKernels): void {
  for (const kernel of [
    k.trainMain.step.kernel,
    k.trainRest?.step.kernel,
    ...k.evalKernels.map((e) => e.kernel),
  ]) {
    void kernel?.dispose();
  }
}

export function lossOf(k: KernelLike): number {
  return isInterpreted(k) ? k.outputs64.loss[0] : k.outputs.loss[0];
}

/** Mean loss (and accuracy) over the whole dataset, in eval-kernel-sized chunks of rows in order. */
export function evaluateDataset(
  v: Dataset,
  evalKernels: FitKernels["evalKernels"],
  accKind: AccuracyKind,
  classes: number,
): { loss: number; acc: number | null } {
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
}

/** Copies rows [start, start + count) of a dataset, in order. */
function copyRows(ds: Dataset, start: number, count: number, xOut: Float32Array, yOut: Float32Array): void {
  const xs = shapeSize(ds.xShape);
  const ys = shapeSize(ds.yShape);
  xOut.set(ds.x.subarray(start * xs, (start + count) * xs));
  yOut.set(ds.y.subarray(start * ys, (start + count) * ys));
}
