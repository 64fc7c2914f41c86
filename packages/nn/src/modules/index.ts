export { GELU, Flatten, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh } from "./activations";
export { AvgPool2d, Conv2d, type Conv2dModuleOptions, MaxPool2d } from "./conv";
export { buildModel, type BuildModelOptions, type BuiltModel } from "./build";
export { Dropout, layerSeed, rngCounter } from "./dropout";
export { Linear, type LinearOptions } from "./linear";
export { Module } from "./module";
export {
  BatchNorm1d,
  BatchNorm2d,
  type BatchNormOptions,
  LayerNorm,
  type LayerNormOptions,
} from "./norm";
export { Sequential } from "./sequential";
