/**
 * Every optimizer's parameter trajectory over 5 steps against PyTorch (float64) fixtures made by
 * scripts/make_optim_fixtures.py: first through the float64 reference interpreter (tight tolerance), then
 * through the compiled trainStep (float32 tolerance).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Graph, type Tensor } from "../../packages/core/src";
import {
  type Engine,
  Linear,
  mseLoss,
  type Optimizer,
  optim,
  readFloat64,
  Sequential,
  Tanh,
  trainStep,
  writeFloat64,
} from "../../packages/nn/src";

const DIR = join(__dirname, "..", "fixtures", "optim");
const NAMES = ["W1", "b1", "W2", "b2"] as const;
type Flat = Record<(typeof NAMES)[number], number[]>;

interface Fixture {
  config: Record<string, any>;
  lrs?: number[];
  grad_norms?: number[];
  initial: Flat;
  losses: number[];
  params: Flat[];
}

const problem = JSON.parse(readFileSync(join(DIR, "problem.json"), "utf8")) as {
  x: number[][];
  t: number[][];
  initial: Flat;
  steps: number;
};
const fixtureNames = readdirSync(DIR)
  .filter((f) => f.endsWith(".json") && f !== "problem.json")
  .map((f) => f.replace(/\.json$/, ""))
  .sort();

function load(name: string): Fixture {
  return JSON.parse(readFileSync(join(DIR, `${name}.json`), "utf8"));
}

/** Our optimizer for a fixture's torch config; every torch option must be understood. */
function optimizerFor(f: Fixture): Optimizer {
  const c = { ...f.config };
  const kind = c.optimizer as string;
  delete c.optimizer;
  delete c.note;
  const o: Record<string, unknown> = {};
  const rename: Record<string, string> = {
    lr: "lr",
    momentum: "momentum",
    dampening: "dampening",
    nesterov: "nesterov",
    weight_decay: "weightDecay",
    eps: "eps",
    initial_accumulator_value: "initialAccumulatorValue",
    alpha: "alpha",
    centered: "centered",
    betas: "betas",
    amsgrad: "amsgrad",
  };
  for (const [k, v] of Object.entries(c)) {
    if (k === "clip_grad_norm") {
      expect(v.norm_type).toBe(2);
      o.clipGradNorm = v.max_norm;
    } else if (k === "schedule") {
      if (v.type === "time_decay") o.lr = optim.schedules.timeBased({ lr0: v.a0, tau: v.tau });
      else if (v.type === "exp_decay") o.lr = optim.schedules.exponential({ lr0: v.a0, tau: v.tau });
      else throw new Error(`unknown schedule ${v.type}`);
    } else if (k in rename) {
      if (!(k === "lr" && "schedule" in c)) o[rename[k]] = v;
    } else {
      throw new Error(`fixture option ${k} not mapped`);
    }
  }
  switch (kind) {
    case "SGD":
      return optim.sgd(o);
    case "Adagrad":
      return optim.adagrad(o);
    case "RMSprop":
      return optim.rmsprop(o);
    case "RMSpropNesterov":
      return optim.rmsprop({ ...o, nesterov: true });
    case "Adam":
      return optim.adam(o);
    case "AdamW":
      return optim.adamw(o);
    default:
      throw new Error(`unknown optimizer ${kind}`);
  }
}

function setup(engine: Engine, opt: Optimizer) {
  const g = new Graph({ seed: 1 });
  const model = new Sequential(new Linear(3, 4), new Tanh(), new Linear(4, 2));
  const x = g.input("x", [5, 3]);
  const t = g.input("t", [5, 2]);
  const loss = mseLoss(model.build(x), t);
  const named = new Map(model.namedParameters());
  const params: Record<string, Tensor> = {
    W1: named.get("0.weight")!,
    b1: named.get("0.bias")!,
    W2: named.get("2.weight")!,
    b2: named.get("2.bias")!,
  };
  for (const n of NAMES) writeFloat64(params[n], problem.initial[n]);
  const step = trainStep(loss, opt, { engine });
  return { step, params };
}

const feeds64 = { x: Float64Array.from(problem.x.flat()), t: Float64Array.from(problem.t.flat()) };

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return worst;
}

describe("optimizer fixtures are all covered", () => {
  it("has the 17 configs of scripts/make_optim_fixtures.py", () => {
    expect(fixtureNames).toEqual([
      "adagrad",
      "adam",
      "adam_amsgrad",
      "adam_weight_decay",
      "adamw",
      "rmsprop",
      "rmsprop_centered",
      "rmsprop_momentum",
      "rmsprop_nesterov",
      "sgd",
      "sgd_clip",
      "sgd_exp_decay",
      "sgd_momentum",
      "sgd_momentum_dampening",
      "sgd_nesterov",
      "sgd_time_decay",
      "sgd_weight_decay",
    ]);
  });
});

describe("optimizers match PyTorch: float64 reference interpreter", () => {
  for (const name of fixtureNames) {
    it(name, () => {
      const f = load(name);
      const opt = optimizerFor(f);
      const { step, params } = setup("interpreter", opt);
      for (let k = 0; k < problem.steps; k++) {
        if (f.lrs) {
          // The schedule sets the lr before run k.
          expect(Math.abs(opt.lrAt(k) - f.lrs[k])).toBeLessThan(1e-15);
        }
        const loss = step.run(feeds64);
        if (f.lrs) expect(Math.abs(step.lr - f.lrs[k])).toBeLessThan(1e-15);
        expect(Math.abs(loss - f.losses[k]) / f.losses[k], `loss ${k}`).toBeLessThan(1e-12);
        for (const n of NAMES) {
          const err = relErr(readFloat64(params[n]), f.params[k][n]);
          expect(err, `${name} step ${k + 1} ${n}`).toBeLessThan(1e-9);
        }
      }
      expect(step.steps).toBe(problem.steps);
    });
  }
});

describe("optimizers match PyTorch: compiled trainStep (float32)", () => {
  const feeds32 = { x: Float32Array.from(problem.x.flat()), t: Float32Array.from(problem.t.flat()) };
  for (const name of fixtureNames) {
    it(name, () => {
      const f = load(name);
      const opt = optimizerFor(f);
      const { step, params } = setup("compiled", opt);
      for (let k = 0; k < problem.steps; k++) {
        const loss = step.run(feeds32);
        expect(Math.abs(loss - f.losses[k]) / f.losses[k], `loss ${k}`).toBeLessThan(1e-5);
        for (const n of NAMES) {
          const err = relErr(params[n].value, f.params[k][n]);
          expect(err, `${name} step ${k + 1} ${n}`).toBeLessThan(5e-6);
        }
      }
    });
  }
});
