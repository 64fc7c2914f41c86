export { Adagrad, type AdagradOptions, adagrad } from "./adagrad";
export { Adam, type AdamOptions, adam, adamw } from "./adam";
export {
  type CommonOptions,
  type LearningRate,
  Optimizer,
  type OptimizerUpdate,
  type RuleContext,
  type RuleResult,
} from "./optimizer";
export { RMSprop, type RmspropOptions, rmsprop } from "./rmsprop";
export type { Schedule } from "./schedules";
/**
 * Learning-rate schedules k ↦ a_k (time-based, exponential, step, cosine, constant), passed as an optimizer's
 * lr.
 */
export * as schedules from "./schedules";
export { SGD, type SgdOptions, sgd } from "./sgd";
export { substitute } from "./substitute";
