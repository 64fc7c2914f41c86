import "./ops/index";

export * from "./estree";
export { type Feeds, type FeedValue, checkFeed, checkFeedNames } from "./feeds";
export { backward, type GradOptions, grad } from "./grad";
export { Graph, type GraphOptions, type Initializer, type InputOptions, type ParamOptions } from "./graph";
export { evaluate, type EvaluateOptions } from "./interpreter";
export { GraphMemory } from "./memory";
export {
  abs,
  add,
  assign,
  broadcastTo,
  concat,
  cos,
  div,
  equal,
  exp,
  gelu,
  leakyRelu,
  log,
  logsumexp,
  matmul,
  max,
  maximum,
  mean,
  minimum,
  mul,
  neg,
  pad,
  permute,
  pow,
  reciprocal,
  relu,
  reshape,
  sigmoid,
  sign,
  sin,
  slice,
  softplus,
  sqrt,
  square,
  step,
  stopGradient,
  sub,
  sum,
  sumAxes,
  sumTo,
  swapLastAxes,
  tanh,
  transpose,
} from "./ops/api";
export { crossEntropy, linear, logSoftmax, mseLoss, norm, softmax } from "./ops/neural";
export {
  allOps,
  type ElementwiseDef,
  getOp,
  isElementwise,
  type OpDef,
  type OpKind,
  defineOp,
} from "./ops/registry";
export { defineUnary, defineBinary } from "./ops/elementwise";
export { reducedShape, reductionMap } from "./ops/reduce";
export { Rng } from "./random";
export * from "./shape";
export { type Attrs, type AttrValue, type Role, type Storage, Tensor, type TensorLike } from "./tensor";
export { toText, describeOp, type TextOptions } from "./dump/text";
export { nodesToShow } from "./dump/select";
export { toDot, type DotOptions } from "./dump/dot";
export { renderSvg } from "./dump/svg";
export { hashUniform, hashUniformScalar } from "./ops/random";
