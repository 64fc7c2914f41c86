/**
 * Optimizers as graph nodes. An optimizer is a description (its hyper-parameters); applying it to a loss
 * builds, in the loss's graph:
 *  - the gradients, by grad(loss, params) (symbolic), optionally clipped by their global L2 norm;
 *  - its state as buffers (momentum, moments, ...), created once per (optimizer, param) and reused by
 *    every later application in the same graph, so that two kernels (e.g. two batch sizes) share them;
 *  - the learning rate as a scalar buffer (one per optimizer and graph), so that a schedule changes it
 *    between steps without recompiling;
 *  - a step counter buffer when the rule needs one (Adam's bias corrections, ...);
 *  - assign nodes: params and state ← their new values. All assigns of a step read the pre-step values.
 * The update rules are torch.optim's (1.13), checked against PyTorch trajectories in tests/nn.
 */
import { assign, type Graph, grad, minimum, sqrt, type Tensor } from "@adjoint/core";
import { exactBuffer, trainableParamsOf } from "../graph-utils";
import type { Schedule } from "./schedules";
import { substitute } from "./substitute";

/** A learning rate: a number, or a schedule k ↦ a_k (see `optim.schedules`). */
export type LearningRate = number | Schedule;

/** Options every optimizer takes: the learning rate and gradient clipping. */
export interface CommonOptions {
  /** A number, or a schedule k ↦ a_k (trainStep sets a_k before its k-th run). */
  lr?: LearningRate;
  /**
   * Clip the gradients by their global L2 norm before the update, as torch.nn.utils.clip_grad_norm_:
   * g ← g·min(1, maxNorm/(‖g‖ + 1e−6)), ‖g‖ over all the params' gradients together.
   */
  clipGradNorm?: number;
  /**
   * Store the optimizer's state (moments, averages, momentum buffers) with float32 subnormals flushed to
   * zero (default true), as XLA and TensorFlow run on CPU with FTZ set. A state decaying towards 0 (a dead
   * unit's Adam moment) otherwise settles on a subnormal fixed point, where every op on it costs a microcode
   * assist on Intel cores (W3: 1.37 → 0.77 ms per step on an Intel Xeon). The values flushed are below
   * 2⁻¹²⁶; false keeps torch's arithmetic exactly.
   */
  flushSubnormals?: boolean;
}

/** An optimizer's update as graph nodes: the assign nodes of one step, the lr buffer, the state buffers. */
export interface OptimizerUpdate {
  /** The loss the step reports: the given loss, or for RMSProp-Nesterov the loss at the look-ahead point. */
  readonly loss: Tensor | null;
  readonly params: readonly Tensor[];
  /** The gradients the rule uses (after clipping, before weight decay). */
  readonly grads: readonly Tensor[];
  /** The assign nodes of one step: params, state, step counter. */
  readonly updates: readonly Tensor[];
  /** The learning-rate buffer (scalar). */
  readonly lr: Tensor;
  /** State buffers, by param. */
  readonly state: ReadonlyMap<Tensor, Readonly<Record<string, Tensor>>>;
  /** The step counter buffer (steps done so far), if the rule uses one. */
  readonly stepCounter: Tensor | null;
}

/** What a rule gets for one param. */
export interface RuleContext {
  readonly graph: Graph;
  /** The learning rate (a scalar buffer). */
  readonly lr: Tensor;
  /** This param's state buffer `name` (created with `fill` on first use). */
  state(name: string, fill?: number): Tensor;
  /** Steps done before this one (0 at the first step), a scalar. */
  stepsDone(): Tensor;
}

/** A rule's result for one param: its new value, and new values of its state buffers. */
export interface RuleResult {
  value: Tensor;
  state: Record<string, Tensor>;
}

interface GraphState {
  prefix: string;
  lr: Tensor;
  step: Tensor | null;
  stepIncrement: Tensor | null;
}

/**
 * The base of the optimizers: turns (params, gradients) into update rules as graph nodes (assign nodes for
 * the params and their state buffers, an lr buffer, a step counter), so that the whole optimizer step
 * compiles into the training kernel.
 */
export abstract class Optimizer {
  abstract readonly name: string;
  readonly lr: LearningRate;
  readonly clipGradNorm: number | undefined;
  readonly flushSubnormals: boolean;
  private readonly graphs = new Map<Graph, GraphState>();
  private readonly paramState = new Map<Tensor, Record<string, Tensor>>();

  constructor(where: string, options: CommonOptions, defaultLr?: number) {
    const lr = options.lr ?? defaultLr;
    if (lr === undefined) throw new Error(`${where}: lr is required`);
    if (typeof lr === "function") {
      checkNumber(where, "lr(0) of the schedule", lr(0), 0);
    } else {
      checkNumber(where, "lr", lr, 0);
    }
    this.lr = lr;
    if (options.clipGradNorm !== undefined) {
      const c = options.clipGradNorm;
      if (typeof c !== "number" || !Number.isFinite(c) || c <= 0) {
        throw new Error(`${where}: clipGradNorm must be a finite number > 0, got ${String(c)}`);
      }
    }
    this.clipGradNorm = options.clipGradNorm;
    this.flushSubnormals = checkBool(where, "flushSubnormals", options.flushSubnormals ?? true);
  }

  /** The learning rate at step k (the schedule's a_k, or the constant). */
  lrAt(k: number): number {
    return typeof this.lr === "function" ? this.lr(k) : this.lr;
  }

  /** The update for one param given its (clipped) gradient. */
  protected abstract rule(p: Tensor, g: Tensor, ctx: RuleContext): RuleResult;

  /**
   * For look-ahead (Nesterov-style) rules: the point where the gradient is taken, from the param and its
   * state. The loss is then rebuilt at that point (see substitute).
   */
  protected lookAhead(_p: Tensor, _ctx: RuleContext): Tensor | null {
    return null;
  }

  /** Whether lookAhead is used (then the gradient must come from the loss, not from given gradients). */
  protected get looksAhead(): boolean {
    return false;
  }

  /** Builds one step minimizing `loss` over `params` (default: every trainable param it depends on). */
  minimize(loss: Tensor, params?: readonly Tensor[]): OptimizerUpdate {
    const where = `${this.name}.minimize`;
    if (!loss || typeof loss !== "object" || !("graph" in loss)) {
      throw new TypeError(`${where}: the loss must be a Tensor, got ${String(loss)}`);
    }
    if (loss.size !== 1) throw new Error(`${where}: the loss must be a scalar, got ${loss.describe()}`);
    const ps = this.checkParams(where, loss.graph, params ?? trainableParamsOf(loss));
    const g = loss.graph;
    const gs = this.graphState(g);
    // Look-ahead: rebuild the loss at the look-ahead point and take the gradient there.
    const ahead = new Map<Tensor, Tensor>();
    if (this.looksAhead) {
      for (const p of ps) {
        const pt = g.inScope(p.scope, () => this.lookAhead(p, this.context(g, gs, p)));
        if (pt) ahead.set(p, pt);
      }
    }
    const reported = ahead.size > 0 ? substitute(loss, ahead) : loss;
    const grads = grad(reported, ps);
    return this.build(g, gs, ps, grads, reported);
  }

  /** Builds one step from given gradients (e.g. accumulated in buffers), one per param, same shapes. */
  applyGradients(params: readonly Tensor[], grads: readonly Tensor[]): OptimizerUpdate {
    const where = `${this.name}.applyGradients`;
    if (!Array.isArray(params) || params.length === 0) throw new Error(`${where}: needs at least one param`);
    const g = params[0].graph;
    const ps = this.checkParams(where, g, params);
    if (!Array.isArray(grads) || grads.length !== ps.length) {
      throw new Error(
        `${where}: ${ps.length} params but ${Array.isArray(grads) ? grads.length : "no"} gradients`,
      );
    }
    grads.forEach((gr, i) => {
      if (gr.graph !== g || gr.shape.join() !== ps[i].shape.join()) {
        throw new Error(`${where}: gradient ${gr.describe()} does not match ${ps[i].describe()}`);
      }
    });
    if (this.looksAhead) {
      throw new Error(
        `${where}: ${this.name} takes its gradient at a look-ahead point, so it needs the loss: use minimize(loss) / trainStep`,
      );
    }
    return this.build(g, this.graphState(g), ps, grads, null);
  }

  private build(
    g: Graph,
    gs: GraphState,
    ps: readonly Tensor[],
    rawGrads: readonly Tensor[],
    loss: Tensor | null,
  ): OptimizerUpdate {
    let grads = [...rawGrads];
    if (this.clipGradNorm !== undefined) {
      const maxNorm = this.clipGradNorm;
      grads = g.inScope("optim", () => {
        let total = rawGrads[0].square().sum();
        for (const gr of rawGrads.slice(1)) total = total.add(gr.square().sum());
        const coef = minimum(g.scalar(maxNorm).div(sqrt(total).add(1e-6)), 1);
        return rawGrads.map((gr) => gr.mul(coef));
      });
    }
    const updates: Tensor[] = [];
    ps.forEach((p, i) => {
      g.inScope(p.scope, () => {
        const ctx = this.context(g, gs, p);
        const r = this.rule(p, grads[i], ctx);
        updates.push(assign(p, r.value));
        for (const [name, value] of Object.entries(r.state)) {
          updates.push(assign(ctx.state(name), this.flushSubnormals ? value.flushSubnormal() : value));
        }
      });
    });
    if (gs.step) {
      if (!gs.stepIncrement) gs.stepIncrement = g.inScope("optim", () => assign(gs.step!, gs.step!.add(1)));
      updates.push(gs.stepIncrement);
    }
    const state = new Map<Tensor, Record<string, Tensor>>();
    for (const p of ps) state.set(p, { ...(this.paramState.get(p) ?? {}) });
    return { loss, params: ps, grads, updates, lr: gs.lr, state, stepCounter: gs.step };
  }

  private checkParams(where: string, g: Graph, params: readonly Tensor[]): Tensor[] {
    if (params.length === 0) throw new Error(`${where}: no trainable params (the loss depends on none)`);
    const seen = new Set<Tensor>();
    for (const p of params) {
      if (p.graph !== g) throw new Error(`${where}: ${p.describe()} belongs to another graph than the loss`);
      if (p.role !== "param") throw new Error(`${where}: ${p.describe()} is not a param`);
      if (!p.requiresGrad) throw new Error(`${where}: ${p.describe()} is frozen (requiresGrad false)`);
      if (seen.has(p)) throw new Error(`${where}: ${p.describe()} is given twice`);
      seen.add(p);
    }
    return [...params];
  }

  private graphState(g: Graph): GraphState {
    let gs = this.graphs.get(g);
    if (!gs) {
      let prefix = "optim";
      for (let i = 1; g.has(`${prefix}.lr`); i++) prefix = `optim${i}`;
      const lr = exactBuffer(g, `${prefix}.lr`, [], this.lrAt(0));
      gs = { prefix, lr, step: null, stepIncrement: null };
      this.graphs.set(g, gs);
    }
    return gs;
  }

  /** The learning-rate buffer of this optimizer in graph g (created if needed). */
  lrBuffer(g: Graph): Tensor {
    return this.graphState(g).lr;
  }

  private context(g: Graph, gs: GraphState, p: Tensor): RuleContext {
    return {
      graph: g,
      lr: gs.lr,
      state: (name, fill = 0) => {
        let s = this.paramState.get(p);
        if (!s) this.paramState.set(p, (s = {}));
        if (!s[name]) s[name] = exactBuffer(g, `${gs.prefix}.${p.name}.${name}`, p.shape, fill);
        return s[name];
      },
      stepsDone: () => {
        if (!gs.step) gs.step = exactBuffer(g, `${gs.prefix}.step`, [], 0);
        return gs.step;
      },
    };
  }
}

export function checkNumber(where: string, name: string, v: unknown, min: number, max = Infinity): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new Error(`${where}: ${name} must be a finite number ${range}, got ${String(v)}`);
  }
  return v;
}

export function checkFraction(where: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0 && v < 1)) {
    throw new Error(`${where}: ${name} must be a number in [0, 1), got ${String(v)}`);
  }
  return v;
}

export function checkBool(where: string, name: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new Error(`${where}: ${name} must be true or false, got ${String(v)}`);
  return v;
}

/** The options of every optimizer (CommonOptions). */
const COMMON_KEYS = ["lr", "clipGradNorm", "flushSubnormals"];

/**
 * Refuses options the optimizer does not know (a typo would otherwise be silently ignored): the common
 * ones and the optimizer's `own`.
 */
export function checkKeys(where: string, options: object, own: readonly string[]): void {
  const known = [...COMMON_KEYS, ...own];
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new Error(`${where}: unknown option "${k}" (known: ${known.join(", ")})`);
  }
}

/** g + wd·θ: L2 weight decay added to the gradient, as torch's (coupled) weight_decay; g itself when wd is 0. */
export function withWeightDecay(g: Tensor, p: Tensor, weightDecay: number): Tensor {
  return weightDecay !== 0 ? g.add(p.mul(weightDecay)) : g;
}

/** ρ·previous + (1 − ρ)·x: the exponential moving average the adaptive rules keep of g and g². */
export function movingAverage(previous: Tensor, x: Tensor, rho: number): Tensor {
  return previous.mul(rho).add(x.mul(1 - rho));
}

/** β^t for a step tensor t ≥ 1: exp(t·ln β) (0 when β = 0). */
export function powerOf(beta: number, t: Tensor): Tensor | number {
  return beta === 0 ? 0 : t.mul(Math.log(beta)).exp();
}
