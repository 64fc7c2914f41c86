import { maximum, type Tensor } from "@adjoint/core";
import {
  type CommonOptions,
  checkBool,
  checkKeys,
  checkNumber,
  movingAverage,
  Optimizer,
  powerOf,
  type RuleContext,
  type RuleResult,
  withWeightDecay,
} from "./optimizer";

/** Options of {@link adam} and {@link adamw}: betas, eps, weight decay, amsgrad (as torch). */
export interface AdamOptions extends CommonOptions {
  /** (β1, β2), each in [0, 1); default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Adam: L2 added to the gradient (default 0). AdamW: decoupled decay θ ← θ(1 − lr·wd) (default 0.01). */
  weightDecay?: number;
  /** Use the maximum of past second moments (Reddi et al. 2018); default false. */
  amsgrad?: boolean;
}

/**
 * torch.optim.Adam (and AdamW, decoupled: θ ← θ·(1 − lr·wd) first, no wd in g):
 *   t = t + 1;  g = g + wd·θ (Adam)
 *   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;  amsgrad: v̂ = max(v̂, v), else v̂ = v
 *   θ = θ − (lr/(1 − β1^t))·m/(√v̂/√(1 − β2^t) + eps)
 */
export class Adam extends Optimizer {
  readonly name: string;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  readonly decoupled: boolean;

  constructor(options: AdamOptions = {}, decoupled = false) {
    const where = decoupled ? "optim.adamw" : "optim.adam";
    checkKeys(where, options, ["betas", "eps", "weightDecay", "amsgrad"]);
    super(where, options, 0.001);
    this.name = where;
    this.decoupled = decoupled;
    const betas = options.betas ?? [0.9, 0.999];
    if (
      !Array.isArray(betas) ||
      betas.length !== 2 ||
      !betas.every((b) => typeof b === "number" && b >= 0 && b < 1)
    ) {
      const shown = Array.isArray(betas) ? `[${betas.join(", ")}]` : String(betas);
      throw new Error(`${where}: betas must be two numbers in [0,1), got ${shown}`);
    }
    this.betas = [betas[0], betas[1]];
    this.eps = checkNumber(where, "eps", options.eps ?? 1e-8, 0);
    this.weightDecay = checkNumber(where, "weightDecay", options.weightDecay ?? (decoupled ? 0.01 : 0), 0);
    this.amsgrad = checkBool(where, "amsgrad", options.amsgrad ?? false);
  }

  protected rule(p: Tensor, g: Tensor, ctx: RuleContext): RuleResult {
    const [b1, b2] = this.betas;
    const t = ctx.stepsDone().add(1);
    let base = p;
    let gw = g;
    if (this.weightDecay !== 0) {
      if (this.decoupled) base = p.mul(ctx.lr.mul(this.weightDecay).neg().add(1));
      else gw = withWeightDecay(g, p, this.weightDecay);
    }
    const state: Record<string, Tensor> = {};
    const m = movingAverage(ctx.state("exp_avg"), gw, b1);
    const v = movingAverage(ctx.state("exp_avg_sq"), gw.square(), b2);
    state.exp_avg = m;
    state.exp_avg_sq = v;
    let vhat = v;
    if (this.amsgrad) {
      vhat = maximum(ctx.state("max_exp_avg_sq"), v);
      state.max_exp_avg_sq = vhat;
    }
    const p1 = powerOf(b1, t);
    const p2 = powerOf(b2, t);
    const stepSize = typeof p1 === "number" ? ctx.lr : ctx.lr.div(p1.neg().add(1));
    const denom = (typeof p2 === "number" ? vhat.sqrt() : vhat.sqrt().div(p2.neg().add(1).sqrt())).add(
      this.eps,
    );
    return { value: base.sub(stepSize.mul(m.div(denom))), state };
  }
}

/**
 * Adam (Kingma & Ba) as graph nodes, torch.optim.Adam's rule; lr defaults to 1e-3. Its whole update fuses
 * into the gradient's matmul epilogue.
 * @example
 * ```ts
 * const step = trainStep(loss, optim.adam({ lr: 1e-3, betas: [0.9, 0.999] }));
 * const scheduled = optim.adam({ lr: optim.schedules.cosine({ lr0: 1e-3, tMax: 1000 }) });
 * ```
 */
export function adam(options: AdamOptions = {}): Adam {
  return new Adam(options, false);
}

/** AdamW (Loshchilov & Hutter): Adam with decoupled weight decay; weightDecay defaults to 0.01 (torch). */
export function adamw(options: AdamOptions = {}): Adam {
  return new Adam(options, true);
}
