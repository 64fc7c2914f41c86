/**
 * From checked options to objects: the datasets (seeded splits, scaled), the model (an MLP as a torch-style
 * Sequential), the optimizer (torch.optim's rules as graph nodes) and its learning-rate schedule.
 */

import {
  type Dataset,
  fitStandardizer,
  loadIris,
  loadMnist,
  makeSpiral,
  type Standardizer,
  standardizerFrom,
  trainValSplit,
} from "../../nn/src/data/index";
import { Linear, type Module, optim, ReLU, Sequential, Sigmoid, Tanh } from "../../nn/src/index";
import type { Activation, DatasetName, OptimizerName, ScheduleSpec } from "./options";

// ------------------------------------------------------------------------------------------------- data

export interface DataSpec {
  name: DatasetName;
  seed: number;
  valFraction: number;
}

export interface Data {
  train: Dataset;
  /** Held out from the training split (null with valFraction 0). */
  val: Dataset | null;
  test: Dataset;
  inputs: number;
  classes: number;
  /** Per-feature standardization fitted on `train` (null when the data is used as it is: MNIST). */
  scaler: Standardizer | null;
  /** One line for summaries: where the data comes from and how it is split. */
  description: string;
}

/** Number of MNIST digits trained on (the rest of the package's 10,000 are the test set). */
export const MNIST_TRAIN = 8000;

/** Input features and classes of each dataset, known without loading it (for dumps). */
export const DATASET_SHAPES: Readonly<Record<DatasetName, { inputs: number; classes: number }>> = {
  mnist: { inputs: 784, classes: 10 },
  iris: { inputs: 4, classes: 3 },
  spiral: { inputs: 2, classes: 3 },
};

/** The train and test splits of a dataset, seeded: the same seed always gives the same samples. */
export function loadSplits(
  name: DatasetName,
  seed: number,
): { train: Dataset; test: Dataset; about: string } {
  switch (name) {
    case "mnist": {
      const { train, test } = loadMnist({ train: MNIST_TRAIN, seed });
      return { train, test, about: "MNIST digits (the mnist package), 28x28 grey levels in [0, 1]" };
    }
    case "iris": {
      const { train, test } = loadIris({ testFraction: 0.2, seed });
      return { train, test, about: "Fisher's Iris (150 samples, 4 features, 3 classes)" };
    }
    case "spiral": {
      const { train, val } = trainValSplit(makeSpiral({ pointsPerClass: 100, classes: 3, seed }), {
        valFraction: 0.2,
        seed,
      });
      return { train, test: val, about: "CS231n spiral (3 arms of 100 points in the plane)" };
    }
  }
}

/**
 * The data of a run: train / validation / test. The validation part is taken out of the training split
 * (seeded), so the test split stays untouched until the final evaluation. Iris and spiral features are
 * standardized with statistics of the training part only.
 */
export function loadData(spec: DataSpec): Data {
  const { train: trainAll, test, about } = loadSplits(spec.name, spec.seed);
  let train = trainAll;
  let val: Dataset | null = null;
  if (spec.valFraction > 0) {
    const split = trainValSplit(trainAll, { valFraction: spec.valFraction, seed: spec.seed + 1 });
    if (split.val.n > 0 && split.train.n > 0) {
      train = split.train;
      val = split.val;
    }
  }
  const { inputs, classes } = DATASET_SHAPES[spec.name];
  let scaler: Standardizer | null = null;
  if (spec.name !== "mnist") {
    scaler = fitStandardizer(train.x, train.n, inputs);
    for (const ds of [train, val, test]) if (ds) scaler.applyInPlace(ds.x);
  }
  const description =
    `${spec.name}: ${about}; seed ${spec.seed}: ${train.n} train, ${val?.n ?? 0} validation, ${test.n} test` +
    (scaler ? " (features standardized with the train part's mean and std)" : "");
  return { train, val, test, inputs, classes, scaler, description };
}

/** The test split of a saved run, scaled as it was in training. */
export function loadTestSplit(name: DatasetName, seed: number, scaler: Standardizer | null): Dataset {
  const { test } = loadSplits(name, seed);
  if (scaler) scaler.applyInPlace(test.x);
  return test;
}

export function scalerFromJson(v: unknown): Standardizer | null {
  if (v === null || v === undefined) return null;
  const o = v as { mean?: unknown; std?: unknown };
  if (!Array.isArray(o.mean) || !Array.isArray(o.std) || o.mean.length !== o.std.length) {
    throw new Error("scaler must be { mean: number[], std: number[] } of one length");
  }
  const all = [...o.mean, ...o.std];
  if (!all.every((x) => typeof x === "number" && Number.isFinite(x)))
    throw new Error("scaler values must be numbers");
  if (!o.std.every((x) => (x as number) > 0)) throw new Error("scaler std values must be > 0");
  return standardizerFrom(Float32Array.from(o.mean as number[]), Float32Array.from(o.std as number[]));
}

// ------------------------------------------------------------------------------------------------ model

export interface ModelSpec {
  inputs: number;
  /** Hidden layer sizes. */
  layers: number[];
  classes: number;
  activation: Activation;
}

/** inputs -> hidden... -> classes, Linear layers with the activation between them; outputs logits. */
export function makeModel(spec: ModelSpec): Sequential {
  const act = (): Module =>
    spec.activation === "relu" ? new ReLU() : spec.activation === "tanh" ? new Tanh() : new Sigmoid();
  const sizes = [spec.inputs, ...spec.layers, spec.classes];
  const modules: Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    modules.push(new Linear(sizes[i], sizes[i + 1]));
    if (i + 2 < sizes.length) modules.push(act());
  }
  return new Sequential(...modules);
}

/** "784→128→10, relu" */
export function describeModel(spec: ModelSpec): string {
  return `MLP ${[spec.inputs, ...spec.layers, spec.classes].join("→")} (${spec.activation}), logits + cross-entropy`;
}

// -------------------------------------------------------------------------------------------- optimizer

export function makeSchedule(lr: number, spec: ScheduleSpec): optim.LearningRate {
  switch (spec.kind) {
    case "const":
      return lr;
    case "time":
      return optim.schedules.timeBased({ lr0: lr, tau: spec.tau });
    case "exp":
      return optim.schedules.exponential({ lr0: lr, tau: spec.tau });
  }
}

export function makeOptimizer(name: OptimizerName, lr: optim.LearningRate): optim.Optimizer {
  switch (name) {
    case "sgd":
      return optim.sgd({ lr });
    case "momentum":
      return optim.sgd({ lr, momentum: 0.9 });
    case "nesterov":
      return optim.sgd({ lr, momentum: 0.9, nesterov: true });
    case "adagrad":
      return optim.adagrad({ lr });
    case "rmsprop":
      return optim.rmsprop({ lr });
    case "rmsprop-nesterov":
      return optim.rmsprop({ lr, momentum: 0.9, nesterov: true });
    case "adam":
      return optim.adam({ lr });
    case "adamw":
      return optim.adamw({ lr });
  }
}

/** "adam (lr 0.001)" with the hyper-parameters the name implies. */
export function describeOptimizer(name: OptimizerName, lr: number, schedule: ScheduleSpec): string {
  const details: Record<OptimizerName, string> = {
    sgd: "plain SGD",
    momentum: "SGD, momentum 0.9",
    nesterov: "SGD, Nesterov momentum 0.9",
    adagrad: "Adagrad",
    rmsprop: "RMSprop, alpha 0.99",
    "rmsprop-nesterov": "RMSprop with Nesterov momentum 0.9",
    adam: "Adam, betas (0.9, 0.999)",
    adamw: "AdamW, betas (0.9, 0.999), weight decay 0.01",
  };
  const sched =
    schedule.kind === "const"
      ? "constant"
      : schedule.kind === "time"
        ? `time-based decay per epoch, tau ${schedule.tau}`
        : `exponential decay per epoch, tau ${schedule.tau}`;
  return `${name}: ${details[name]}, lr ${lr} (${sched})`;
}
