/**
 * The datasets of the CLI: seeded train / validation / test splits, scaled with the training part's
 * statistics. Light to import (no compiler): eval checks a checkpoint's meta with it before loading more.
 */
import {
  type Dataset,
  fitStandardizer,
  loadIris,
  makeSpiral,
  type Standardizer,
  standardizerFrom,
  trainValSplit,
} from "../../nn/src/data/index";
import { loadMnist } from "../../nn/src/data/mnist";
import type { DatasetName } from "./options";

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
