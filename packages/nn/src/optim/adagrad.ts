import type { Tensor } from "@adjoint/core";
import {
  type CommonOptions,
  checkKeys,
  checkNumber,
  Optimizer,
  type RuleContext,
  type RuleResult,
  withWeightDecay,
} from "./optimizer";

/** Options of {@link adagrad} (as torch.optim.Adagrad). */
export interface AdagradOptions extends CommonOptions {
  /** Default 1e-10. */
  eps?: number;
  /** The accumulator's initial value; default 0. */
  initialAccumulatorValue?: number;
  /** lr_k = lr/(1 + k·lrDecay); default 0. */
  lrDecay?: number;
  /** Default 0. */
  weightDecay?: number;
}

/**
 * torch.optim.Adagrad:
 *   g = g + wd·θ;  clr = lr/(1 + (t − 1)·lrDecay);  s = s + g²;  θ = θ − clr·g/(√s + eps)
 */
export class Adagrad extends Optimizer {
  readonly name = "optim.adagrad";
  readonly eps: number;
  readonly initialAccumulatorValue: number;
  readonly lrDecay: number;
  readonly weightDecay: number;

  constructor(options: AdagradOptions = {}) {
    const where = "optim.adagrad";
    checkKeys(where, options, ["eps", "initialAccumulatorValue", "lrDecay", "weightDecay"]);
    super(where, options, 0.01);
    this.eps = checkNumber(where, "eps", options.eps ?? 1e-10, 0);
    this.initialAccumulatorValue = checkNumber(
      where,
      "initialAccumulatorValue",
      options.initialAccumulatorValue ?? 0,
      0,
    );
    this.lrDecay = checkNumber(where, "lrDecay", options.lrDecay ?? 0, 0);
    this.weightDecay = checkNumber(where, "weightDecay", options.weightDecay ?? 0, 0);
  }

  protected rule(p: Tensor, g: Tensor, ctx: RuleContext): RuleResult {
    const gw = withWeightDecay(g, p, this.weightDecay);
    const clr = this.lrDecay !== 0 ? ctx.lr.div(ctx.stepsDone().mul(this.lrDecay).add(1)) : ctx.lr;
    const sum = ctx.state("sum", this.initialAccumulatorValue).add(gw.square());
    const std = sum.sqrt().add(this.eps);
    return { value: p.sub(clr.mul(gw.div(std))), state: { sum } };
  }
}

/**
 * Adagrad as graph nodes, torch.optim.Adagrad's rule.
 * @example
 * ```ts
 * const step = trainStep(loss, optim.adagrad({ lr: 0.05 }));
 * ```
 */
export function adagrad(options: AdagradOptions = {}): Adagrad {
  return new Adagrad(options);
}
