export {
  type BatchOptions,
  type BatchRange,
  batches,
  checkDataset,
  copyBatchInto,
  type Dataset,
  type SplitOptions,
  shapeSize,
  shuffledIndices,
  takeRows,
  trainValSplit,
} from "./dataset";
export { IRIS_FEATURES, type IrisOptions, irisClassNames, irisDataset, loadIris } from "./iris";
export { MNIST_CLASSES, MNIST_PIXELS, MNIST_SIDE } from "./mnist-shape";
export { oneHot } from "./onehot";
export { makeSpiral, type SpiralOptions } from "./spiral";
export {
  type FeatureScaler,
  fitMinMaxScaler,
  fitStandardizer,
  type MinMaxScaler,
  minMaxScalerFrom,
  type Standardizer,
  standardizerFrom,
} from "./standardize";
