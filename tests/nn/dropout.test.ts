import { describe, expect, it } from "vitest";
import { compile } from "../../packages/compiler/src";
import { evaluate, Graph, grad } from "../../packages/core/src";
import { hashUniformScalar } from "../../packages/core/src/ops/random";
import {
  Dropout,
  Linear,
  mseLoss,
  optim,
  rngCounter,
  Sequential,
  stateUpdates,
  trainStep,
} from "../../packages/nn/src";

function dropoutGraph(p: number, shape: number[], seed = 5, training = true) {
  const g = new Graph({ seed });
  const x = g.input("x", shape);
  const layer = new Dropout(p);
  if (!training) layer.eval();
  const y = layer.build(x);
  return { g, x, y, layer };
}

const ones = (n: number) => new Float32Array(n).fill(1);

describe("Dropout (train mode)", () => {
  it("drops a fraction p and scales the kept elements by 1/(1-p)", () => {
    for (const p of [0.1, 0.5, 0.8]) {
      const n = 20000;
      const { y } = dropoutGraph(p, [100, 200]);
      const out = evaluate(y, { x: ones(n) });
      let dropped = 0;
      for (const v of out) {
        if (v === 0) dropped++;
        else expect(v).toBeCloseTo(1 / (1 - p), 12);
      }
      // Binomial standard deviation sqrt(p(1-p)/n) < 0.0036: 5 of them.
      expect(Math.abs(dropped / n - p)).toBeLessThan(0.018);
    }
  });

  it("the mean is preserved in expectation", () => {
    const { y } = dropoutGraph(0.3, [50000]);
    const out = evaluate(y, { x: ones(50000) });
    const mean = out.reduce((a, b) => a + b, 0) / out.length;
    expect(Math.abs(mean - 1)).toBeLessThan(0.02);
  });

  it("is reproducible: the same graph seed gives the same mask, another seed another", () => {
    const mask = (seed: number) => Array.from(evaluate(dropoutGraph(0.5, [1000], seed).y, { x: ones(1000) }));
    expect(mask(1)).toEqual(mask(1));
    expect(mask(1)).not.toEqual(mask(2));
  });

  it("draws a new mask every step (the counter), reproducibly", () => {
    const { g, y } = dropoutGraph(0.5, [1000]);
    const counter = rngCounter(g);
    const updates = stateUpdates([y]);
    expect(updates.length).toBe(1);
    const masks: number[][] = [];
    for (let k = 0; k < 3; k++) {
      const [out] = evaluate([y, ...updates], { x: ones(1000) }, { applyUpdates: true });
      masks.push(Array.from(out));
    }
    expect(counter.value[0]).toBe(3);
    expect(masks[0]).not.toEqual(masks[1]);
    expect(masks[1]).not.toEqual(masks[2]);
    // Agreement between two masks is about 1/2 (independent), not 1.
    const same = masks[0].filter((v, i) => v === masks[1][i]).length / 1000;
    expect(same).toBeGreaterThan(0.4);
    expect(same).toBeLessThan(0.6);
    counter.value[0] = 1;
    expect(Array.from(evaluate(y, { x: ones(1000) }))).toEqual(masks[1]);
  });

  it("two dropout layers of one model draw independent masks", () => {
    const g = new Graph({ seed: 9 });
    const x = g.input("x", [2000]);
    // Two layers at the module paths a Sequential gives them.
    const a = g.scope("0", () => new Dropout(0.5).build(x));
    const b = g.scope("1", () => new Dropout(0.5).build(x));
    const [ma, mb] = evaluate([a, b], { x: ones(2000) });
    const same = ma.filter((v, i) => v === mb[i]).length / 2000;
    expect(same).toBeGreaterThan(0.4);
    expect(same).toBeLessThan(0.6);
  });

  it("the gradient flows through kept elements only, scaled", () => {
    const g = new Graph({ seed: 2 });
    const x = g.input("x", [500], { requiresGrad: true });
    const y = new Dropout(0.4).build(x);
    const [dx] = grad(y.sum(), [x]);
    const [yv, dxv] = evaluate([y, dx], { x: ones(500) });
    for (let i = 0; i < 500; i++) expect(dxv[i]).toBeCloseTo(yv[i], 12);
  });

  it("p = 0 is the identity; p = 1 zeros everything", () => {
    expect(dropoutGraph(0, [10]).y.op).toBe("input");
    expect(Array.from(evaluate(dropoutGraph(1, [10]).y, { x: ones(10) }))).toEqual(new Array(10).fill(0));
  });

  it("rejects a p outside [0, 1]", () => {
    expect(() => new Dropout(1.5)).toThrow("Dropout: p must be a probability in [0, 1], got 1.5");
    expect(() => new Dropout(-0.1)).toThrow("Dropout: p must be a probability");
  });
});

describe("Dropout (eval mode)", () => {
  it("is the identity: no nodes at all", () => {
    const { g, x, y } = dropoutGraph(0.5, [4, 5], 1, false);
    expect(y).toBe(x);
    expect(g.buffers.length).toBe(0);
  });
  it("model.eval() switches it off, model.train() back on", () => {
    const g = new Graph({ seed: 1 });
    const model = new Sequential(new Linear(3, 3), new Dropout(0.5));
    const x = g.input("x", [2, 3]);
    model.eval();
    expect(model.build(x).op).not.toBe("mul");
    model.train();
    expect(model.build(x).op).toBe("mul");
  });
});

describe("hashUniform: compiled code equals the interpreter bit for bit", () => {
  it("same masks from a compiled kernel, and the counter advances in place", () => {
    const { g, y } = dropoutGraph(0.5, [64, 33], 77);
    const counter = rngCounter(g);
    const kernel = compile({ y }, { updates: stateUpdates([y]) });
    const x = new Float32Array(64 * 33).map((_, i) => (i % 7) - 3);
    for (let k = 0; k < 3; k++) {
      const expected = evaluate(y, { x });
      kernel.run({ x });
      expect(Array.from(kernel.outputs.y)).toEqual(Array.from(Float32Array.from(expected)));
      expect(counter.value[0]).toBe(k + 1);
    }
  });

  it("the scalar hash is uniform in [0,1): 64 buckets pass a chi-square test, no serial correlation", () => {
    const n = 1 << 16;
    const buckets = new Array(64).fill(0);
    let corr = 0;
    let prev = 0.5;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = hashUniformScalar(123, 4, i);
      if (!(u >= 0 && u < 1)) outside++;
      buckets[Math.floor(u * 64)]++;
      corr += (u - 0.5) * (prev - 0.5);
      prev = u;
    }
    expect(outside).toBe(0);
    const e = n / 64;
    const chi2 = buckets.reduce((s, b) => s + (b - e) ** 2 / e, 0);
    expect(chi2).toBeLessThan(110); // 63 degrees of freedom: p ≈ 1e-4
    expect(Math.abs((corr / n) * 12)).toBeLessThan(0.02);
  });
});

describe("Dropout in a training step", () => {
  it("trainStep includes the counter increment: masks change between steps", () => {
    const g = new Graph({ seed: 3 });
    const model = new Sequential(new Linear(4, 8), new Dropout(0.5), new Linear(8, 1));
    const x = g.input("x", [16, 4]);
    const t = g.input("t", [16, 1]);
    const loss = mseLoss(model.build(x), t);
    const step = trainStep(loss, optim.sgd({ lr: 0 }), { engine: "compiled" });
    const feeds = { x: new Float32Array(64).map((_, i) => Math.sin(i)), t: new Float32Array(16) };
    const losses = [step.run(feeds), step.run(feeds), step.run(feeds)];
    // lr 0: the weights do not move, so different losses come from different masks.
    expect(new Set(losses).size).toBe(3);
    expect(rngCounter(g).value[0]).toBe(3);
  });
});
