import "./ops/index";

export { type DotOptions, toDot } from "./dump/dot";
export { nodesToShow } from "./dump/select";
export { renderSvg } from "./dump/svg";
export { describeOp, type TextOptions, toText } from "./dump/text";
export * from "./estree";
export { checkFeed, checkFeedNames, type Feeds, type FeedValue } from "./feeds";
export { backward, type GradOptions, grad } from "./grad";
export { Graph, type GraphOptions, type Initializer, type InputOptions, type ParamOptions } from "./graph";
export { type EvaluateOptions, evaluate } from "./interpreter";
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
  flushSubnormal,
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
export { defineBinary, defineUnary } from "./ops/elementwise";
export { erf } from "./ops/erf";
export { padValue } from "./ops/layout";
export { type Conv2dOptions, conv2d } from "./ops/conv";
export {
  type BatchStatistics,
  batchNorm,
  batchNormInference,
  batchNormStatistics,
  layerNorm,
  type NormOptions,
} from "./ops/norm";
export { avgPool2d, maxPool2d, type PoolOptions } from "./ops/pool";
export { markComposite, pad2d } from "./ops/spatial";
export { crossEntropy, linear, logSoftmax, mseLoss, norm, softmax } from "./ops/neural";
export { hashUniform, hashUniformScalar } from "./ops/random";
export { reducedShape, reductionMap } from "./ops/reduce";
export {
  allOps,
  defineOp,
  type ElementwiseDef,
  getOp,
  isElementwise,
  type OpDef,
  type OpKind,
} from "./ops/registry";
export {
  type FoldOptions,
  firstMaxMask,
  foldWindows,
  type Pair,
  slidingWindows,
  type WindowGeometry,
  type WindowOptions,
  windowCount,
  windowGeometry,
  windowStrides,
} from "./ops/window";
export { Rng } from "./random";
export * from "./shape";
export {
  type Attrs,
  type AttrValue,
  type CompositeMark,
  type Role,
  type Storage,
  Tensor,
  type TensorLike,
} from "./tensor";
export { dependencies } from "./walk";
