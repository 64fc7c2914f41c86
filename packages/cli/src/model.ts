/**
 * From checked options to objects: the model (an MLP or LeNet-5 as a torch-style Sequential), the optimizer
 * (torch.optim's rules as graph nodes) and its learning-rate schedule.
 */
import { buildClassifier, type ClassifierSpec, classifierSampleShape, optim, optimizerByName } from "adjoint";
import type { OptimizerName, ScheduleSpec } from "./options";

// ------------------------------------------------------------------------------------------------ model

/** What the CLI's model is made of (the library's classifier spec; checkpoints record it). */
export type ModelSpec = ClassifierSpec;

/** The shape of one sample as the model takes it: [inputs] for the MLP, [1, 28, 28] for the CNNs. */
export const sampleShape = classifierSampleShape;

/** The MLP or LeNet-5 (optionally with batch norm) a spec describes. */
export const makeModel = buildClassifier;

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

/** The optimizer an --optimizer name stands for, at a learning rate or schedule. */
export const makeOptimizer: (name: OptimizerName, lr: optim.LearningRate) => optim.Optimizer =
  optimizerByName;

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
