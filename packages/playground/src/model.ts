/**
 * A TrainConfig as the library's objects: the MLP (Linear layers with the activation between them), the
 * optimizer and its per-epoch learning-rate schedule, as the CLI builds them (packages/cli/src/model.ts).
 */
import { Linear, type Module, optim, ReLU, Sequential, Sigmoid, Tanh } from "adjoint";
import type { TrainConfig } from "./config";

/** inputs → hidden... → classes: Linear layers with the activation between them; outputs logits. */
export function makeModel(c: TrainConfig, inputs: number, classes: number): Sequential {
  const act = (): Module =>
    c.activation === "relu" ? new ReLU() : c.activation === "tanh" ? new Tanh() : new Sigmoid();
  const sizes = [inputs, ...c.layers, classes];
  const modules: Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    modules.push(new Linear(sizes[i], sizes[i + 1]));
    if (i + 2 < sizes.length) modules.push(act());
  }
  return new Sequential(...modules);
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
