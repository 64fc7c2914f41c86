import { describe, expect, it } from "vitest";
import { Graph, type Tensor } from "../../packages/core/src";
import {
  accumulateStep,
  type Engine,
  Linear,
  mseLoss,
  type Optimizer,
  optim,
  readFloat64,
  Sequential,
  Tanh,
  trainStep,
} from "../../packages/nn/src";

const X = Float32Array.from({ length: 24 }, (_, i) => Math.sin(1 + i));
const T = Float32Array.from({ length: 16 }, (_, i) => Math.cos(2 + i));

/** A fresh model (same seed, same weights) with a loss over `rows` rows: inputs x, t (or suffixed). */
function problem(rows = 8, seed = 1) {
  const g = new Graph({ seed });
  const model = new Sequential(new Linear(3, 4), new Tanh(), new Linear(4, 2));
  const build = (n: number, suffix = "") => {
    const x = g.input(`x${suffix}`, [n, 3]);
    const t = g.input(`t${suffix}`, [n, 2]);
    return mseLoss(model.build(x), t);
  };
  return { g, model, loss: build(rows), build };
}

const snapshot = (ps: readonly Tensor[]) => ps.map((p) => Array.from(p.value));

describe("optimizer options are checked, naming the optimizer and option", () => {
  it("messages", () => {
    expect(() => optim.adam({ betas: [0.9] as never })).toThrow(
      "optim.adam: betas must be two numbers in [0,1), got [0.9]",
    );
    expect(() => optim.adamw({ betas: [0.9, 1] })).toThrow(
      "optim.adamw: betas must be two numbers in [0,1), got [0.9, 1]",
    );
    expect(() => optim.sgd({ lr: -0.1 })).toThrow("optim.sgd: lr must be a finite number >= 0, got -0.1");
    expect(() => optim.sgd({})).toThrow("optim.sgd: lr is required");
    expect(() => optim.sgd({ lr: 0.1, nesterov: true })).toThrow(
      "optim.sgd: nesterov needs momentum > 0 and dampening 0",
    );
    expect(() => optim.rmsprop({ nesterov: true })).toThrow("optim.rmsprop: nesterov needs momentum > 0");
    expect(() => optim.rmsprop({ alpha: 1 })).toThrow(
      "optim.rmsprop: alpha must be a number in [0, 1), got 1",
    );
    expect(() => optim.sgd({ lr: 0.1, clipGradNorm: 0 })).toThrow(
      "optim.sgd: clipGradNorm must be a finite number > 0",
    );
    expect(() => optim.adam({ learningRate: 0.1 } as never)).toThrow(
      'optim.adam: unknown option "learningRate"',
    );
    expect(() => optim.adagrad({ eps: Number.NaN })).toThrow(
      "optim.adagrad: eps must be a finite number >= 0, got NaN",
    );
  });
  it("defaults are torch's", () => {
    const a = optim.adam();
    expect([a.lr, a.betas, a.eps, a.weightDecay, a.amsgrad]).toEqual([0.001, [0.9, 0.999], 1e-8, 0, false]);
    expect(optim.adamw().weightDecay).toBe(0.01);
    const r = optim.rmsprop();
    expect([r.lr, r.alpha, r.eps, r.momentum, r.centered]).toEqual([0.01, 0.99, 1e-8, 0, false]);
    const ag = optim.adagrad();
    expect([ag.lr, ag.eps, ag.initialAccumulatorValue]).toEqual([0.01, 1e-10, 0]);
  });
  it("trainStep refuses what is not an optimizer, and a reserved output name", () => {
    const { loss } = problem();
    expect(() => trainStep(loss, {} as Optimizer)).toThrow(
      "trainStep: the second argument must be an optimizer",
    );
    expect(() => trainStep(loss, optim.sgd({ lr: 1 }), { outputs: { loss } })).toThrow(
      'the output name "loss" is reserved',
    );
  });
});

describe.each<Engine>(["interpreter", "compiled"])("trainStep (%s)", (engine) => {
  it("the learning rate is a buffer: changing it needs no recompilation", () => {
    const { model, loss } = problem();
    const step = trainStep(loss, optim.sgd({ lr: 0 }), { engine });
    const before = snapshot(model.parameters());
    const l0 = step.run({ x: X, t: T });
    expect(snapshot(model.parameters())).toEqual(before);
    step.lr = 0.5;
    expect(step.lr).toBe(engine === "interpreter" ? 0.5 : Math.fround(0.5));
    const l1 = step.run({ x: X, t: T });
    expect(l1).toBeCloseTo(l0, 6);
    const l2 = step.run({ x: X, t: T });
    expect(l2).toBeLessThan(l1);
    expect(() => {
      step.lr = -1;
    }).toThrow("trainStep: lr must be a finite number >= 0, got -1");
  });

  it("a schedule sets a_k before run k; autoSchedule false leaves the lr to the caller", () => {
    const s = optim.schedules.exponential({ lr0: 0.1, tau: 0.5 });
    const { loss } = problem();
    const step = trainStep(loss, optim.sgd({ lr: s }), { engine });
    for (let k = 0; k < 4; k++) {
      step.run({ x: X, t: T });
      expect(step.lr).toBeCloseTo(s(k), 7);
    }
    expect(step.steps).toBe(4);
    const manual = trainStep(problem().loss, optim.sgd({ lr: s }), { engine, autoSchedule: false });
    manual.lr = 0.3;
    manual.run({ x: X, t: T });
    expect(manual.lr).toBeCloseTo(0.3, 7);
  });

  it("inputs can be written in place (the kernel's views) and run() takes no feeds", () => {
    const a = problem();
    const b = problem();
    const sa = trainStep(a.loss, optim.sgd({ lr: 0.1 }), { engine });
    const sb = trainStep(b.loss, optim.sgd({ lr: 0.1 }), { engine });
    sb.inputs.x.set(X);
    sb.inputs.t.set(T);
    for (let k = 0; k < 3; k++)
      expect(sb.run()).toBe(sa.run({ x: Float32Array.from(X), t: Float32Array.from(T) }));
    expect(snapshot(b.model.parameters())).toEqual(snapshot(a.model.parameters()));
  });

  it("two kernels of one graph (two batch sizes) share the optimizer's state, step counter and lr", () => {
    // Adam has moments and a step counter: alternating two kernels must equal running one.
    const ref = problem(8);
    const one = trainStep(ref.loss, optim.adam({ lr: 0.05 }), { engine });
    const alt = problem(8);
    const opt = optim.adam({ lr: 0.05 });
    const first = trainStep(alt.loss, opt, { engine });
    const second = trainStep(alt.build(8, "_b"), opt, { engine });
    const feeds = { x: X, t: T };
    const feedsB = { x_b: X, t_b: T };
    for (let k = 0; k < 4; k++) {
      const l = one.run(feeds);
      const m = k % 2 === 0 ? first.run(feeds) : second.run(feedsB);
      expect(m).toBeCloseTo(l, engine === "interpreter" ? 12 : 6);
    }
    const got = snapshot(alt.model.parameters()).flat();
    const want = snapshot(ref.model.parameters()).flat();
    got.forEach((v, i) => {
      expect(v).toBeCloseTo(want[i], 6);
    });
    expect(first.update.lr).toBe(second.update.lr);
    expect(first.update.stepCounter!.value[0]).toBe(4);
  });

  it("only trainable params are updated; frozen ones are left alone", () => {
    const g = new Graph({ seed: 2 });
    const w = g.param("w", [2], { init: (v) => v.set([1, 2]) });
    const frozen = g.param("frozen", [2], { init: (v) => v.set([3, 4]), requiresGrad: false });
    const loss = w.mul(frozen).sum().square();
    const step = trainStep(loss, optim.sgd({ lr: 0.01 }), { engine });
    expect(step.update.params).toEqual([w]);
    step.run();
    expect(Array.from(frozen.value)).toEqual([3, 4]);
    // d/dw (w·f)² = 2(w·f)·f = 2·11·[3, 4]
    expect(w.value[0]).toBeCloseTo(1 - 0.01 * 66, 5);
    expect(w.value[1]).toBeCloseTo(2 - 0.01 * 88, 5);
  });

  it("checkFinite refuses a step whose loss is not finite, leaving the params as they were", () => {
    const g = new Graph();
    const w = g.param("w", [1], { init: (v) => v.set([-1]) });
    const loss = w.log().sum();
    const step = trainStep(loss, optim.sgd({ lr: 0.1 }), { engine, checkFinite: true });
    expect(() => step.run()).toThrow(/not finite|non-finite/);
    expect(w.value[0]).toBe(-1);
  });
});

describe.each<Engine>(["interpreter", "compiled"])("gradient accumulation (%s)", (engine) => {
  it("two half-batches accumulated then applied equal one full-batch step", () => {
    const full = problem(8);
    const fullStep = trainStep(full.loss, optim.sgd({ lr: 0.2, momentum: 0.9 }), { engine });
    const acc = problem(4);
    const micro = accumulateStep(acc.loss.mul(0.5), { engine });
    const apply = micro.applyStep(optim.sgd({ lr: 0.2, momentum: 0.9 }));
    for (let k = 0; k < 3; k++) {
      const lf = fullStep.run({ x: X, t: T });
      micro.zeroGrad();
      const l1 = micro.run({ x: X.subarray(0, 12), t: T.subarray(0, 8) });
      const l2 = micro.run({ x: X.subarray(12), t: T.subarray(8) });
      expect(l1 + l2).toBeCloseTo(lf, 6);
      const norm = apply.run();
      expect(norm).toBeGreaterThan(0);
    }
    const got = snapshot(acc.model.parameters()).flat();
    const want = snapshot(full.model.parameters()).flat();
    got.forEach((v, i) => {
      expect(v).toBeCloseTo(want[i], 6);
    });
  });

  it("run() adds into the grad buffers until zeroGrad()", () => {
    const { loss, model } = problem(8);
    const micro = accumulateStep(loss, { engine });
    const W = model.parameters()[0];
    const buf = micro.grads.get(W)!;
    expect(buf.name).toBe("0.weight.grad");
    micro.run({ x: X, t: T });
    const once = engine === "interpreter" ? readFloat64(buf) : Float64Array.from(buf.value);
    micro.run({ x: X, t: T });
    const twice = engine === "interpreter" ? readFloat64(buf) : Float64Array.from(buf.value);
    once.forEach((v, i) => {
      expect(twice[i]).toBeCloseTo(2 * v, 6);
    });
    micro.zeroGrad();
    expect(Array.from(buf.value).every((v) => v === 0)).toBe(true);
    expect(Array.from(readFloat64(buf)).every((v) => v === 0)).toBe(true);
  });

  it("RMSProp-Nesterov needs the loss (its gradient is at the look-ahead point)", () => {
    const micro = accumulateStep(problem().loss, { engine });
    expect(() => micro.applyStep(optim.rmsprop({ momentum: 0.9, nesterov: true }))).toThrow(
      "optim.rmsprop.applyGradients: optim.rmsprop takes its gradient at a look-ahead point",
    );
  });
});
