/**
 * A TrainConfig as the library's objects, as the CLI builds them (packages/cli/src/model.ts): the MLP or
 * LeNet-5 (optionally with batch norm), the optimizer and its per-epoch learning-rate schedule.
 */
import { buildClassifier, optim, optimizerByName, type Sequential } from "adjoint";
import type { TrainConfig } from "./config";

/** The shape of one sample as the model takes it: [784] for the MLP, [1, 28, 28] for the CNNs. */
export function sampleShape(c: TrainConfig): number[] {
  return c.model === "mlp" ? [784] : [1, 28, 28];
}

/** The CLI's classifiers (the library's buildClassifier): the MLP or LeNet-5, optionally with batch norm. */
export function makeModel(c: TrainConfig, inputs: number, classes: number): Sequential {
  return buildClassifier({ kind: c.model, inputs, layers: c.layers, classes, activation: c.activation });
}

export function makeOptimizer(c: TrainConfig): optim.Optimizer {
  const lr: optim.LearningRate =
    c.schedule === "time"
      ? optim.schedules.timeBased({ lr0: c.lr, tau: c.tau })
      : c.schedule === "exp"
        ? optim.schedules.exponential({ lr0: c.lr, tau: c.tau })
        : c.lr;
  return optimizerByName(c.optimizer, lr);
}
