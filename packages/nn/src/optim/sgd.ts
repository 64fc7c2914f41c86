import { step, sub, type Tensor } from "@adjoint/core";
import {
  type CommonOptions,
  checkBool,
  checkKeys,
  checkNumber,
  Optimizer,
  type RuleContext,
  type RuleResult,
  withWeightDecay,
} from "./optimizer";

/** Options of {@link sgd}: torch.optim.SGD's (momentum, dampening, Nesterov, weight decay). */
export interface SgdOptions extends CommonOptions {
  /** Default 0. */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** Default false; needs momentum > 0 and dampening 0 (as torch). */
  nesterov?: boolean;
  /** L2 added to the gradient (g + wd·θ); default 0. */
  weightDecay?: number;
}

/**
 * torch.optim.SGD:
 *   d = g + wd·θ
 *   b = d at the first step, then b = μ·b + (1 − dampening)·d
 *   d = d + μ·b (nesterov) or d = b
 *   θ = θ − lr·d
 */
export class SGD extends Optimizer {
  readonly name = "optim.sgd";
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  constructor(options: SgdOptions = {}) {
    const where = "optim.sgd";
    checkKeys(where, options, ["momentum", "dampening", "nesterov", "weightDecay"]);
    super(where, options);
    this.momentum = checkNumber(where, "momentum", options.momentum ?? 0, 0);
    this.dampening = checkNumber(where, "dampening", options.dampening ?? 0, 0);
    this.nesterov = checkBool(where, "nesterov", options.nesterov ?? false);
    this.weightDecay = checkNumber(where, "weightDecay", options.weightDecay ?? 0, 0);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error(
        `optim.sgd: nesterov needs momentum > 0 and dampening 0, got momentum ${this.momentum}, dampening ${this.dampening}`,
      );
    }
  }

  protected rule(p: Tensor, g: Tensor, ctx: RuleContext): RuleResult {
    let d = withWeightDecay(g, p, this.weightDecay);
    const state: Record<string, Tensor> = {};
    if (this.momentum !== 0) {
      const buf = ctx.state("momentum_buffer");
      // The buffer starts at 0, so μ·0 + c·d = d at the first step needs c = 1 there: with dampening, c is
      // 1 − dampening·[a step was done before].
      const c = this.dampening === 0 ? null : sub(1, step(ctx.stepsDone(), 0).mul(this.dampening));
      const b = buf.mul(this.momentum).add(c ? d.mul(c) : d);
      state.momentum_buffer = b;
      d = this.nesterov ? d.add(b.mul(this.momentum)) : b;
    }
    return { value: p.sub(ctx.lr.mul(d)), state };
  }
}

/**
 * Stochastic gradient descent as graph nodes (torch.optim.SGD's rule; lr is required).
 * @example
 * ```ts
 * const step = trainStep(loss, optim.sgd({ lr: 0.1, momentum: 0.9, nesterov: true }));
 * ```
 */
export function sgd(options: SgdOptions = {}): SGD {
  return new SGD(options);
}
