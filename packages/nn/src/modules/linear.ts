import { formatShape, type Graph, type Initializer, linear, ShapeError, type Tensor } from "@adjoint/core";
import { torchLinearDefault, uniform } from "../init";
import { Module } from "./module";

/** Options of {@link Linear}: bias and initializers. */
export interface LinearOptions {
  /** Default true. */
  bias?: boolean;
  /**
   * The weight's initializer. Default: torch's (kaiming_uniform_ with a = √5, i.e. U(±1/√in)), so that a
   * model starts like its PyTorch twin would; init.glorotUniform() is the usual alternative for tanh nets.
   */
  init?: Initializer;
  /** The bias's initializer. Default: torch's, U(±1/√in). */
  biasInit?: Initializer;
}

/**
 * y = x·Wᵀ + b with torch's layout: weight [out, in], bias [out]; x is [..., in].
 * @example
 * ```ts
 * const fc = new Linear(3, 2);
 * const y = fc.build(new Graph({ seed: 0 }).input("x", [8, 3])); // [8, 2]
 * fc.parameters().map((p) => p.shape); // [[2, 3], [2]]
 * ```
 */
export class Linear extends Module {
  readonly bias: boolean;
  private readonly weightInit: Initializer;
  private readonly biasInit: Initializer;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    for (const [name, v] of [
      ["in", inFeatures],
      ["out", outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new Error(`Linear: ${name} must be a whole number >= 1, got ${v}`);
    }
    this.bias = options.bias ?? true;
    this.weightInit = options.init ?? torchLinearDefault();
    const bound = 1 / Math.sqrt(inFeatures);
    this.biasInit = options.biasInit ?? uniform({ low: -bound, high: bound });
  }

  protected override get declaresParams(): boolean {
    return true;
  }

  /** The weight param [out, in] in graph g (created on first use). */
  weight(g: Graph): Tensor {
    return this.param(g, "weight", [this.outFeatures, this.inFeatures], this.weightInit);
  }

  protected forward(x: Tensor): Tensor {
    const last = x.shape[x.rank - 1];
    if (x.rank < 1 || last !== this.inFeatures) {
      throw new ShapeError(
        `Linear(${this.inFeatures}, ${this.outFeatures}): input ${formatShape(x.shape)} must end in ${this.inFeatures} features`,
      );
    }
    const W = this.weight(x.graph);
    const b = this.bias ? this.param(x.graph, "bias", [this.outFeatures], this.biasInit) : undefined;
    // linear() is for [N, in] (matmul takes 2-D or 3-D operands); flatten other ranks around it.
    if (x.rank === 2 || x.rank === 3) return linear(x, W, b);
    const lead = x.shape.slice(0, -1);
    const y = linear(x.reshape([-1, this.inFeatures]), W, b);
    return y.reshape([...lead, this.outFeatures]);
  }
}
