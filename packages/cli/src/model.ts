/**
 * From checked options to objects: the model (an MLP or LeNet-5 as a torch-style Sequential), the optimizer
 * (torch.optim's rules as graph nodes) and its learning-rate schedule.
 */
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Flatten,
  Linear,
  MaxPool2d,
  type Module,
  optim,
  ReLU,
  Sequential,
  Sigmoid,
  Tanh,
} from "adjoint";
import type { Activation, ModelName, OptimizerName, ScheduleSpec } from "./options";

// ------------------------------------------------------------------------------------------------ model

export interface ModelSpec {
  /** Absent in checkpoints written before the convolutional models: an MLP. */
  kind?: ModelName;
  inputs: number;
  /** Hidden layer sizes (for the CNNs, of the fully connected layers after the convolutions). */
  layers: number[];
  classes: number;
  activation: Activation;
}

/** The side of the square grey images the CNNs take (MNIST). */
const IMAGE_SIDE = 28;

/** The shape of one sample as the model takes it: [inputs] for the MLP, [1, 28, 28] for the CNNs. */
export function sampleShape(spec: ModelSpec): number[] {
  return (spec.kind ?? "mlp") === "mlp" ? [spec.inputs] : [1, IMAGE_SIDE, IMAGE_SIDE];
}

function activation(spec: ModelSpec): Module {
  return spec.activation === "relu" ? new ReLU() : spec.activation === "tanh" ? new Tanh() : new Sigmoid();
}

/** Linear layers from `sizes[0]` through the hidden sizes to the classes, optionally batch-normalized. */
function dense(spec: ModelSpec, first: number, batchNorm: boolean): Module[] {
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
 */
export function makeModel(spec: ModelSpec): Sequential {
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

/** "MLP 784→128→10, relu" or "LeNet-5 ..." */
export function describeModel(spec: ModelSpec): string {
  const kind = spec.kind ?? "mlp";
  if (kind === "mlp") {
    return `MLP ${[spec.inputs, ...spec.layers, spec.classes].join("→")} (${spec.activation}), logits + cross-entropy`;
  }
  const bn = kind === "cnn-bn" ? " with batch norm" : "";
  return `LeNet-5${bn}: conv 1→6 5x5 pad 2, max pool 2, conv 6→16 5x5, max pool 2, ${[400, ...spec.layers, spec.classes].join("→")} (${spec.activation}), logits + cross-entropy`;
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
