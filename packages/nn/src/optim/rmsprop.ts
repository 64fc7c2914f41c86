import type { Tensor } from "@adjoint/core";
import {
  type CommonOptions,
  checkBool,
  checkKeys,
  checkNumber,
  checkFraction,
  movingAverage,
  Optimizer,
  type RuleContext,
  type RuleResult,
  withWeightDecay,
} from "./optimizer";

/** Options of {@link rmsprop} (as torch.optim.RMSprop: alpha, eps, momentum, centered, ...). */
export interface RmspropOptions extends CommonOptions {
  /** The smoothing constant ρ; default 0.99. */
  alpha?: number;
  /** Default 1e-8. */
  eps?: number;
  /** Default 0. */
  momentum?: number;
  /** Normalize by an estimate of the variance instead of the second moment; default false. */
  centered?: boolean;
  /** Default 0. */
  weightDecay?: number;
  /**
   * Nesterov momentum as in Goodfellow et al., Deep Learning §8.5.2 (Algorithm 8.7); needs momentum > 0:
   *   θ̃ = θ + αv;  g = ∇L(θ̃);  r = ρr + (1 − ρ)g²;  v = αv − lr·g/(√r + eps);  θ = θ + v
   * The gradient is taken at the look-ahead point θ̃: the loss is rebuilt with θ̃ in place of θ (see
   * substitute), so param.value always holds θ, and the loss a step reports is L(θ̃). Weight decay adds
   * wd·θ̃ and `centered` subtracts the mean gradient's square, as in the plain rule.
   */
  nesterov?: boolean;
}

/**
 * torch.optim.RMSprop:
 *   g = g + wd·θ;  r = ρr + (1 − ρ)g²;  centered: m = ρm + (1 − ρ)g, a = √(r − m²) + eps; else a = √r + eps
 *   momentum μ > 0: b = μb + g/a, θ = θ − lr·b;   else θ = θ − lr·g/a
 */
export class RMSprop extends Optimizer {
  readonly name = "optim.rmsprop";
  readonly alpha: number;
  readonly eps: number;
  readonly momentum: number;
  readonly centered: boolean;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(options: RmspropOptions = {}) {
    const where = "optim.rmsprop";
    checkKeys(where, options, ["alpha", "eps", "momentum", "centered", "weightDecay", "nesterov"]);
    super(where, options, 0.01);
    this.alpha = checkFraction(where, "alpha", options.alpha ?? 0.99);
    this.eps = checkNumber(where, "eps", options.eps ?? 1e-8, 0);
    this.momentum = checkNumber(where, "momentum", options.momentum ?? 0, 0);
    this.centered = checkBool(where, "centered", options.centered ?? false);
    this.weightDecay = checkNumber(where, "weightDecay", options.weightDecay ?? 0, 0);
    this.nesterov = checkBool(where, "nesterov", options.nesterov ?? false);
    if (this.nesterov && this.momentum <= 0) {
      throw new Error(`optim.rmsprop: nesterov needs momentum > 0, got momentum ${this.momentum}`);
    }
  }

  protected override get looksAhead(): boolean {
    return this.nesterov;
  }

  protected override lookAhead(p: Tensor, ctx: RuleContext): Tensor | null {
    return this.nesterov ? p.add(ctx.state("velocity").mul(this.momentum)) : null;
  }

  protected rule(p: Tensor, g: Tensor, ctx: RuleContext): RuleResult {
    const rho = this.alpha;
    // With Nesterov, weight decay applies at the point where the gradient was taken.
    const at = this.nesterov ? p.add(ctx.state("velocity").mul(this.momentum)) : p;
    const gw = withWeightDecay(g, at, this.weightDecay);
    const state: Record<string, Tensor> = {};
    const r = movingAverage(ctx.state("square_avg"), gw.square(), rho);
    state.square_avg = r;
    let avg: Tensor;
    if (this.centered) {
      const m = movingAverage(ctx.state("grad_avg"), gw, rho);
      state.grad_avg = m;
      avg = r.sub(m.square()).sqrt().add(this.eps);
    } else {
      avg = r.sqrt().add(this.eps);
    }
    if (this.nesterov) {
      const v = ctx
        .state("velocity")
        .mul(this.momentum)
        .sub(ctx.lr.mul(gw.div(avg)));
      state.velocity = v;
      return { value: p.add(v), state };
    }
    if (this.momentum > 0) {
      const b = ctx.state("momentum_buffer").mul(this.momentum).add(gw.div(avg));
      state.momentum_buffer = b;
      return { value: p.sub(ctx.lr.mul(b)), state };
    }
    return { value: p.sub(ctx.lr.mul(gw.div(avg))), state };
  }
}

/**
 * RMSprop as graph nodes, torch.optim.RMSprop's rule.
 * @example
 * ```ts
 * const step = trainStep(loss, optim.rmsprop({ lr: 1e-3, momentum: 0.9 }));
 * ```
 */
export function rmsprop(options: RmspropOptions = {}): RMSprop {
  return new RMSprop(options);
}
