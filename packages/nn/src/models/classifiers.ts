/**
 * The image/feature classifiers that the CLI and the playground train, by name: one definition, so the
 * page's LeNet-5 is the CLI's (same modules in the same order, hence the same seeded initial weights).
 */
import { BatchNorm1d, BatchNorm2d } from "../modules/norm";
import { Flatten, ReLU, Sigmoid, Tanh } from "../modules/activations";
import { Conv2d, MaxPool2d } from "../modules/conv";
import { Linear } from "../modules/linear";
import type { Module } from "../modules/module";
import { Sequential } from "../modules/sequential";
import * as optim from "../optim";
import type { LearningRate, Optimizer } from "../optim/optimizer";

/** mlp: a multilayer perceptron; cnn: LeNet-5; cnn-bn: LeNet-5 with batch norm. */
export const CLASSIFIER_KINDS = ["mlp", "cnn", "cnn-bn"] as const;
export type ClassifierKind = (typeof CLASSIFIER_KINDS)[number];

/** The hidden activations a classifier can use. */
export const CLASSIFIER_ACTIVATIONS = ["relu", "tanh", "sigmoid"] as const;
export type ClassifierActivation = (typeof CLASSIFIER_ACTIVATIONS)[number];

/** What a classifier is made of. */
export interface ClassifierSpec {
  /** Absent: an MLP. */
  kind?: ClassifierKind;
  /** Features per sample (784 for the CNNs: 28×28 images). */
  inputs: number;
  /** Hidden layer sizes (for the CNNs, of the fully connected layers after the convolutions). */
  layers: number[];
  classes: number;
  activation: ClassifierActivation;
}

/** The side of the square grey images the CNNs take (MNIST). */
const IMAGE_SIDE = 28;

/** The shape of one sample as the classifier takes it: [inputs] for the MLP, [1, 28, 28] for the CNNs. */
export function classifierSampleShape(spec: ClassifierSpec): number[] {
  return (spec.kind ?? "mlp") === "mlp" ? [spec.inputs] : [1, IMAGE_SIDE, IMAGE_SIDE];
}

function activation(spec: ClassifierSpec): Module {
  return spec.activation === "relu" ? new ReLU() : spec.activation === "tanh" ? new Tanh() : new Sigmoid();
}

/** Linear layers from `first` through the hidden sizes to the classes, optionally batch-normalized. */
function dense(spec: ClassifierSpec, first: number, batchNorm: boolean): Module[] {
  const sizes = [first, ...spec.layers, spec.classes];
  const modules: Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    modules.push(new Linear(sizes[i], sizes[i + 1]));
    if (i + 2 < sizes.length) {
      if (batchNorm) modules.push(new BatchNorm1d(sizes[i + 1]));
      modules.push(activation(spec));
    }
  }
  return modules;
}

/**
 * mlp: inputs -> hidden... -> classes. cnn: LeNet-5, conv 1→6 5×5 pad 2, act, max pool 2, conv 6→16 5×5,
 * act, max pool 2, flatten, 400 → hidden (120, 84) → classes; cnn-bn adds BatchNorm after each conv and
 * hidden Linear. Outputs logits.
 *
 * @example
 * const net = buildClassifier({ kind: "cnn", inputs: 784, layers: [120, 84], classes: 10, activation: "relu" });
 */
export function buildClassifier(spec: ClassifierSpec): Sequential {
  const kind = spec.kind ?? "mlp";
  if (kind === "mlp") return new Sequential(...dense(spec, spec.inputs, false));
  if (spec.inputs !== IMAGE_SIDE * IMAGE_SIDE) {
    throw new Error(`the ${kind} model takes 28x28 images (784 inputs), got ${spec.inputs} inputs`);
  }
  const bn = kind === "cnn-bn";
  const conv = (c: Conv2d, channels: number): Module[] => [
    c,
    ...(bn ? [new BatchNorm2d(channels)] : []),
    activation(spec),
    new MaxPool2d(2),
  ];
  return new Sequential(
    ...conv(new Conv2d(1, 6, 5, { padding: 2 }), 6),
    ...conv(new Conv2d(6, 16, 5), 16),
    new Flatten(),
    ...dense(spec, 16 * 5 * 5, bn),
  );
}

/** Every optimizer of the library by a short name, with the hyper-parameters the name implies. */
export const OPTIMIZER_NAMES = [
  "sgd",
  "momentum",
  "nesterov",
  "adagrad",
  "rmsprop",
  "rmsprop-nesterov",
  "adam",
  "adamw",
] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** The optimizer a name stands for (momentum and Nesterov with 0.9), at a learning rate or schedule. */
export function optimizerByName(name: OptimizerName, lr: LearningRate): Optimizer {
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
