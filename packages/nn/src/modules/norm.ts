/**
 * Normalization layers with torch's names, defaults and state_dict keys (weight, bias, running_mean,
 * running_var, num_batches_tracked).
 *
 * BatchNorm built in train mode normalizes with the batch statistics and updates its running estimates
 * inside the compiled training step: assigns (running ← (1 − momentum)·running + momentum·batch statistic,
 * the variance unbiased, as torch; num_batches_tracked + 1) registered as state updates that trainStep adds
 * to the kernel whose outputs depend on this build's output (like the dropout counter, and like the
 * optimizer's state). Built in eval mode it normalizes with the running statistics and updates nothing.
 */
import {
  assign,
  batchNormInference,
  batchNormStatistics,
  formatShape,
  layerNorm,
  ShapeError,
  type Tensor,
} from "@adjoint/core";
import { registerStateUpdate } from "../graph-utils";
import { constant } from "../init";
import { Module } from "./module";

/** Options of BatchNorm1d and BatchNorm2d (eps, momentum, affine, as torch). */
export interface BatchNormOptions {
  /** Added to the variance; default 1e-5. */
  eps?: number;
  /** Weight of the new batch statistic in the running estimates; default 0.1 (torch's). */
  momentum?: number;
  /** Learnable weight (ones) and bias (zeros); default true. */
  affine?: boolean;
}

function checkEps(where: string, eps: unknown): number {
  if (typeof eps !== "number" || !Number.isFinite(eps) || eps < 0) {
    throw new Error(`${where}: eps must be a finite number >= 0, got ${String(eps)}`);
  }
  return eps;
}

abstract class BatchNorm extends Module {
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions,
    private readonly ranks: readonly number[],
    private readonly layout: string,
  ) {
    super();
    const where = this.typeName;
    if (!Number.isInteger(numFeatures) || numFeatures < 1) {
      throw new Error(`${where}: the number of features must be a whole number >= 1, got ${numFeatures}`);
    }
    this.eps = checkEps(where, options.eps ?? 1e-5);
    const m = options.momentum ?? 0.1;
    if (typeof m !== "number" || !(m >= 0 && m <= 1)) {
      throw new Error(`${where}: momentum must be a number in [0, 1], got ${String(m)}`);
    }
    this.momentum = m;
    this.affine = options.affine ?? true;
  }

  protected override get declaresParams(): boolean {
    return this.affine;
  }

  protected forward(x: Tensor): Tensor {
    const C = this.numFeatures;
    if (!this.ranks.includes(x.rank) || x.shape[1] !== C) {
      throw new ShapeError(
        `${this.typeName}(${C}): input must be ${this.layout}, got ${formatShape(x.shape)}`,
      );
    }
    const g = x.graph;
    const weight = this.affine ? this.param(g, "weight", [C], constant(1)) : null;
    const bias = this.affine ? this.param(g, "bias", [C], constant(0)) : null;
    const runningMean = this.buffer(g, "running_mean", [C], 0);
    const runningVar = this.buffer(g, "running_var", [C], 1);
    const tracked = this.buffer(g, "num_batches_tracked", [], 0);
    if (!this.training)
      return batchNormInference(x, runningMean, runningVar, weight, bias, { eps: this.eps });

    const { y, mean, variance, count } = batchNormStatistics(x, weight, bias, { eps: this.eps });
    const m = this.momentum;
    const unbiased = variance.mul(count / (count - 1));
    for (const update of [
      assign(runningMean, runningMean.mul(1 - m).add(mean.mul(m))),
      assign(runningVar, runningVar.mul(1 - m).add(unbiased.mul(m))),
      assign(tracked, tracked.add(1)),
    ]) {
      registerStateUpdate(update, y);
    }
    return y;
  }
}

/** torch.nn.BatchNorm1d: input [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, [2, 3], `[N, ${numFeatures}] or [N, ${numFeatures}, L]`);
  }
}

/** torch.nn.BatchNorm2d: input [N, C, H, W]. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, [4], `[N, ${numFeatures}, H, W]`);
  }
}

/** Options of LayerNorm (eps, elementwiseAffine, as torch). */
export interface LayerNormOptions {
  /** Default 1e-5. */
  eps?: number;
  /** Learnable weight (ones) and bias (zeros) of the normalized shape; default true. */
  elementwiseAffine?: boolean;
}

/** torch.nn.LayerNorm: normalizes over the trailing `normalizedShape` axes. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    if (shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new Error(`LayerNorm: normalizedShape must be whole numbers >= 1, got [${shape.join(", ")}]`);
    }
    this.normalizedShape = shape;
    this.eps = checkEps("LayerNorm", options.eps ?? 1e-5);
    this.elementwiseAffine = options.elementwiseAffine ?? true;
  }

  protected override get declaresParams(): boolean {
    return this.elementwiseAffine;
  }

  protected forward(x: Tensor): Tensor {
    const g = x.graph;
    const s = this.normalizedShape;
    const weight = this.elementwiseAffine ? this.param(g, "weight", s, constant(1)) : null;
    const bias = this.elementwiseAffine ? this.param(g, "bias", s, constant(0)) : null;
    return layerNorm(x, s, weight, bias, { eps: this.eps });
  }
}
