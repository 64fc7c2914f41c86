/**
 * From checked options to objects: the model (an MLP as a torch-style Sequential), the optimizer
 * (torch.optim's rules as graph nodes) and its learning-rate schedule.
 */
import { Linear, type Module, optim, ReLU, Sequential, Sigmoid, Tanh } from "adjoint";
import type { Activation, OptimizerName, ScheduleSpec } from "./options";

// ------------------------------------------------------------------------------------------------ model

export interface ModelSpec {
  inputs: number;
  /** Hidden layer sizes. */
  layers: number[];
  classes: number;
  activation: Activation;
}

/** inputs -> hidden... -> classes, Linear layers with the activation between them; outputs logits. */
export function makeModel(spec: ModelSpec): Sequential {
  const act = (): Module =>
    spec.activation === "relu" ? new ReLU() : spec.activation === "tanh" ? new Tanh() : new Sigmoid();
  const sizes = [spec.inputs, ...spec.layers, spec.classes];
  const modules: Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    modules.push(new Linear(sizes[i], sizes[i + 1]));
    if (i + 2 < sizes.length) modules.push(act());
  }
  return new Sequential(...modules);
}

/** "784→128→10, relu" */
export function describeModel(spec: ModelSpec): string {
  return `MLP ${[spec.inputs, ...spec.layers, spec.classes].join("→")} (${spec.activation}), logits + cross-entropy`;
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
