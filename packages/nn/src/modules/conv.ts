/** Convolution and pooling layers, torch's names, defaults and state_dict keys (NCHW). */
import {
  avgPool2d,
  type Conv2dOptions,
  conv2d,
  formatShape,
  type Graph,
  type Initializer,
  maxPool2d,
  type Pair,
  type PoolOptions,
  ShapeError,
  type Tensor,
} from "@adjoint/core";
import { torchLinearDefault, uniform } from "../init";
import { Module } from "./module";

/** Options of the Conv2d module: the op's (stride, padding, dilation, groups), bias and initializers. */
export interface Conv2dModuleOptions extends Conv2dOptions {
  /** Default true. */
  bias?: boolean;
  /**
   * The weight's initializer. Default: torch's (kaiming_uniform_ with a = √5: U(±1/√fan_in), fan_in =
   * in/groups·kh·kw).
   */
  init?: Initializer;
  /** The bias's initializer. Default: torch's, U(±1/√fan_in). */
  biasInit?: Initializer;
}

function kernelPair(where: string, k: Pair): [number, number] {
  const hw = typeof k === "number" ? [k, k] : k;
  if (!Array.isArray(hw) || hw.length !== 2 || !hw.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new Error(
      `${where}: kernelSize must be a whole number >= 1 or a pair [h, w] of them, got ${String(k)}`,
    );
  }
  return [hw[0], hw[1]];
}

/** torch.nn.Conv2d: weight [out, in/groups, kh, kw], bias [out]; input [N, in, H, W]. */
export class Conv2d extends Module {
  readonly kernelSize: [number, number];
  readonly options: Conv2dOptions;
  readonly bias: boolean;
  private readonly weightInit: Initializer;
  private readonly biasInit: Initializer;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    options: Conv2dModuleOptions = {},
  ) {
    super();
    const where = "Conv2d";
    for (const [name, v] of [
      ["inChannels", inChannels],
      ["outChannels", outChannels],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new Error(`${where}: ${name} must be a whole number >= 1, got ${v}`);
    }
    this.kernelSize = kernelPair(where, kernelSize);
    const { bias, init, biasInit, ...conv } = options;
    const groups = conv.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new Error(
        `${where}: groups = ${groups} must be a whole number >= 1 dividing inChannels (${inChannels}) and outChannels (${outChannels})`,
      );
    }
    this.options = conv;
    this.bias = bias ?? true;
    this.weightInit = init ?? torchLinearDefault();
    const fanIn = (inChannels / groups) * this.kernelSize[0] * this.kernelSize[1];
    const bound = 1 / Math.sqrt(fanIn);
    this.biasInit = biasInit ?? uniform({ low: -bound, high: bound });
  }

  protected override get declaresParams(): boolean {
    return true;
  }

  /** The weight param [out, in/groups, kh, kw] in graph g (created on first use). */
  weight(g: Graph): Tensor {
    const groups = this.options.groups ?? 1;
    return this.param(
      g,
      "weight",
      [this.outChannels, this.inChannels / groups, ...this.kernelSize],
      this.weightInit,
    );
  }

  protected forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError(
        `Conv2d(${this.inChannels}, ${this.outChannels}): input must be [N, ${this.inChannels}, H, W], got ${formatShape(x.shape)}`,
      );
    }
    const w = this.weight(x.graph);
    const b = this.bias ? this.param(x.graph, "bias", [this.outChannels], this.biasInit) : undefined;
    return conv2d(x, w, b, this.options);
  }
}

/** torch.nn.MaxPool2d (stride defaults to the kernel; the gradient goes to the first maximum). */
export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: PoolOptions = {},
  ) {
    super();
    kernelPair("MaxPool2d", kernelSize);
  }
  protected forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }
}

/** torch.nn.AvgPool2d (count_include_pad, torch's default). */
export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: PoolOptions = {},
  ) {
    super();
    kernelPair("AvgPool2d", kernelSize);
  }
  protected forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }
}
