import { describe, expect, it } from "vitest";
import { evaluate, Graph, grad } from "../../packages/core/src";
import {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  l2Penalty,
  mseLoss,
  weightDecayPenalty,
} from "../../packages/nn/src";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe("binaryCrossEntropyWithLogits", () => {
  const xs = [-3, -0.5, 0, 0.7, 2.5];
  const ts = [0, 1, 0.5, 1, 0];
  it("equals −[t·log σ(x) + (1−t)·log(1−σ(x))], mean and sum", () => {
    const g = new Graph();
    const x = g.input("x", [5], { requiresGrad: true });
    const t = g.input("t", [5]);
    const naive = xs.map((v, i) => -(ts[i] * Math.log(sigmoid(v)) + (1 - ts[i]) * Math.log(1 - sigmoid(v))));
    const mean = evaluate(binaryCrossEntropyWithLogits(x, t), { x: xs, t: ts })[0];
    const sum = evaluate(binaryCrossEntropyWithLogits(x, t, "sum"), { x: xs, t: ts })[0];
    expect(mean).toBeCloseTo(naive.reduce((a, b) => a + b) / 5, 12);
    expect(sum).toBeCloseTo(
      naive.reduce((a, b) => a + b),
      12,
    );
  });
  it("its gradient is (σ(x) − t)/n, also at x = 0", () => {
    const g = new Graph();
    const x = g.input("x", [5], { requiresGrad: true });
    const t = g.input("t", [5]);
    const [dx] = grad(binaryCrossEntropyWithLogits(x, t), [x]);
    const v = evaluate(dx, { x: xs, t: ts });
    xs.forEach((xi, i) => {
      expect(v[i]).toBeCloseTo((sigmoid(xi) - ts[i]) / 5, 12);
    });
  });
  it("is stable for large logits (no Infinity, no NaN)", () => {
    const g = new Graph();
    const x = g.input("x", [4]);
    const t = g.input("t", [4]);
    const v = evaluate(binaryCrossEntropyWithLogits(x, t, "sum"), {
      x: [1000, -1000, 1000, -1000],
      t: [1, 0, 0, 1],
    });
    expect(v[0]).toBeCloseTo(2000, 9);
  });
  it("checks shapes and reduction", () => {
    const g = new Graph();
    expect(() => binaryCrossEntropyWithLogits(g.input("a", [3]), g.input("b", [2]))).toThrow(
      "binaryCrossEntropyWithLogits: logits [3] and targets [2] must have the same shape",
    );
    expect(() => binaryCrossEntropyWithLogits(g.input("c", [2]), g.input("d", [2]), "max" as never)).toThrow(
      'reduction must be "mean" or "sum", got "max"',
    );
  });
});

describe("crossEntropy and mseLoss (core's, re-exported)", () => {
  it("class indices and probability targets agree for one-hot rows", () => {
    const g = new Graph();
    const logits = g.input("z", [2, 3]);
    const idx = g.input("i", [2]);
    const probs = g.input("p", [2, 3]);
    const z = [1, 2, 0.5, -1, 0, 3];
    const a = evaluate(crossEntropy(logits, idx), { z, i: [1, 2] })[0];
    const b = evaluate(crossEntropy(logits, probs), { z, p: [0, 1, 0, 0, 0, 1] })[0];
    const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    expect(a).toBeCloseTo((lse(z.slice(0, 3)) - 2 + lse(z.slice(3)) - 3) / 2, 12);
    expect(b).toBeCloseTo(a, 12);
  });
  it("mse mean and sum", () => {
    const g = new Graph();
    const p = g.input("p", [2]);
    const t = g.input("t", [2]);
    expect(evaluate(mseLoss(p, t), { p: [1, 3], t: [0, 0] })[0]).toBe(5);
    expect(evaluate(mseLoss(p, t, "sum"), { p: [1, 3], t: [0, 0] })[0]).toBe(10);
  });
});

describe("penalties", () => {
  const g = new Graph();
  const W1 = g.param("W1", [2, 2]);
  const W2 = g.param("W2", [3]);
  W1.value.set([3, 4, 0, 0]);
  W2.value.set([1, 2, 2]);
  it("l2Penalty = λ·Σ‖W‖ (not squared), gradient λ·W/‖W‖", () => {
    const pen = l2Penalty([W1, W2], 0.1);
    expect(evaluate(pen)[0]).toBeCloseTo(0.1 * (5 + 3), 12);
    const [g1, g2] = evaluate(grad(pen, [W1, W2]));
    expect(Array.from(g1)).toEqual([0.1 * 0.6, 0.1 * 0.8, 0, 0].map((v) => expect.closeTo(v, 12)));
    expect(Array.from(g2)).toEqual([1 / 3, 2 / 3, 2 / 3].map((v) => expect.closeTo(0.1 * v, 12)));
  });
  it("weightDecayPenalty = λ/2·Σ‖W‖², gradient λ·W", () => {
    const pen = weightDecayPenalty([W1, W2], 0.1);
    expect(evaluate(pen)[0]).toBeCloseTo(0.05 * (25 + 9), 12);
    const [g1] = evaluate(grad(pen, [W1]));
    expect(Array.from(g1)).toEqual([0.3, 0.4, 0, 0].map((v) => expect.closeTo(v, 12)));
  });
  it("checks λ and the params", () => {
    expect(() => l2Penalty([W1], -1)).toThrow("l2Penalty: lambda must be a finite number >= 0, got -1");
    expect(() => weightDecayPenalty([], 1)).toThrow("weightDecayPenalty: needs a non-empty array of params");
  });
});
