export { GELU, Flatten, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh } from "./activations";
export { buildModel, type BuildModelOptions, type BuiltModel } from "./build";
export { Dropout, layerSeed, rngCounter } from "./dropout";
export { Linear, type LinearOptions } from "./linear";
export { Module } from "./module";
export { Sequential } from "./sequential";
