/** @adjoint/nn: initializers, modules, losses, optimizers as graph nodes, training steps and fit. */
export * as init from "./init";
/**
 * Optimizers as graph nodes (sgd, adagrad, rmsprop, adam, adamw) and learning-rate schedules:
 * `trainStep(loss, optim.adam({ lr: 1e-3 }))`.
 */
export * as optim from "./optim";
export type { Schedule as LrSchedule } from "./optim/schedules";
export type { Optimizer, OptimizerUpdate, LearningRate } from "./optim/optimizer";
export * from "./modules";
export {
  buildClassifier,
  CLASSIFIER_ACTIVATIONS,
  CLASSIFIER_KINDS,
  type ClassifierActivation,
  type ClassifierKind,
  type ClassifierSpec,
  classifierSampleShape,
  OPTIMIZER_NAMES,
  type OptimizerName,
  optimizerByName,
} from "./models/classifiers";
export {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  l2Penalty,
  mseLoss,
  weightDecayPenalty,
} from "./losses";
export {
  accumulateStep,
  type AccumulateOptions,
  type AccumulateStep,
  type ApplyStep,
  gradBuffer,
  type KernelBuildOptions,
  trainStep,
  type TrainStep,
  type TrainStepOptions,
} from "./train-step";
export {
  CompiledKernel,
  type Engine,
  type KernelLike,
  makeKernel,
  readFloat64,
  writeFloat64,
} from "./engine";
export { registerStateUpdate, stateUpdates } from "./graph-utils";
export {
  type BatchEvent,
  type EarlyStoppingOptions,
  type EpochLog,
  fit,
  type FitOptions,
  type FitResult,
  type LossName,
  type Monitor,
  type PlateauOptions,
  type StopReason,
} from "./fit";

export * from "./data";
export {
  type Checkpoint,
  type LoadOptions,
  type LoadReport,
  loadTensorsInto,
  type TensorRecord,
} from "./formats/tensors";
export { crc32 } from "./formats/crc32";
export { decodeCheckpoint, encodeCheckpoint } from "./formats/checkpoint";
export { decodeSafetensors, encodeSafetensors, type Safetensors } from "./formats/safetensors";
// The file-system checkpoints (formats/fs) and the MNIST loader (which reads the mnist package's files) are
// Node-only: ./node exports them (the package entry "adjoint/node"), so that this entry loads in browsers.

export {
  type ExportOnnxOptions,
  exportOnnx,
  type ImportedOnnx,
  type ImportLimits,
  type ImportOnnxOptions,
  importOnnx,
  OnnxExportError,
  OnnxImportError,
  OnnxModel,
} from "./formats/onnx";
