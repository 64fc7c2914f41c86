/**
 * A TrainConfig as the library's objects, as the CLI builds them (packages/cli/src/model.ts): the MLP or
 * LeNet-5 (optionally with batch norm), the optimizer and its per-epoch learning-rate schedule.
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
import type { TrainConfig } from "./config";

/** The shape of one sample as the model takes it: [784] for the MLP, [1, 28, 28] for the CNNs. */
export function sampleShape(c: TrainConfig): number[] {
  return c.model === "mlp" ? [784] : [1, 28, 28];
}

/**
 * mlp: 784 → hidden... → 10. cnn: LeNet-5, conv 1→6 5×5 pad 2, act, max pool 2, conv 6→16 5×5, act, max
 * pool 2, flatten, 400 → hidden → 10; cnn-bn adds BatchNorm after each conv and hidden Linear. Logits.
 */
export function makeModel(c: TrainConfig, inputs: number, classes: number): Sequential {
  const act = (): Module =>
    c.activation === "relu" ? new ReLU() : c.activation === "tanh" ? new Tanh() : new Sigmoid();
  const bn = c.model === "cnn-bn";
  const dense = (first: number): Module[] => {
    const sizes = [first, ...c.layers, classes];
    const modules: Module[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      modules.push(new Linear(sizes[i], sizes[i + 1]));
      if (i + 2 < sizes.length) {
        if (bn) modules.push(new BatchNorm1d(sizes[i + 1]));
        modules.push(act());
      }
    }
    return modules;
  };
  if (c.model === "mlp") return new Sequential(...dense(inputs));
  const conv = (layer: Conv2d, channels: number): Module[] => [
    layer,
    ...(bn ? [new BatchNorm2d(channels)] : []),
    act(),
    new MaxPool2d(2),
  ];
  return new Sequential(
    ...conv(new Conv2d(1, 6, 5, { padding: 2 }), 6),
    ...conv(new Conv2d(6, 16, 5), 16),
    new Flatten(),
    ...dense(16 * 5 * 5),
  );
}

export function makeOptimizer(c: TrainConfig): optim.Optimizer {
  const lr: optim.LearningRate =
    c.schedule === "time"
      ? optim.schedules.timeBased({ lr0: c.lr, tau: c.tau })
      : c.schedule === "exp"
        ? optim.schedules.exponential({ lr0: c.lr, tau: c.tau })
        : c.lr;
  switch (c.optimizer) {
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
