/**
 * Parameters are updated in place: after a compiled step with updates, W.value (the one copy of the
 * weights, in the graph's memory) holds the interpreter's value of the update, computed from the values
 * before the step; every kernel of a graph reads and writes the same storage.
 */
import { assign, compile, evaluate, Graph, type Tensor } from "adjoint";
import { describe, expect, it } from "vitest";
import { compareArray } from "./differential";
import { mlp, momentum, sgd } from "./models";

const RTOL = 1e-4;

/** The interpreter's value of every assign's new value, before the step (no side effects). */
function expectedUpdates(updates: readonly Tensor[], feeds: Record<string, ArrayLike<number>>): Float64Array[] {
  return updates.map((u) => evaluate(u.inputs[1], feeds));
}

function mismatches(actual: ArrayLike<number>, expected: ArrayLike<number>): string[] {
  const out: string[] = [];
  compareArray(actual, expected, RTOL, (i, c, r, allowed) => {
    if (out.length < 5) out.push(`[${i}] ${c} vs ${r} (±${allowed.toExponential(1)})`);
  });
  return out;
}

describe("parameters are updated in place", () => {
  it("after a step with SGD updates, W.value changed and equals the interpreter's update value", () => {
    const m = mlp([12, 8, 3], 5);
    const updates = sgd(m, 0.1);
    const k = compile({ loss: m.loss }, { updates });
    const views = m.params.map((p) => p.value);
    const before = m.params.map((p) => Float32Array.from(p.value));
    const expected = expectedUpdates(updates, m.feeds);
    const expectedLoss = evaluate(m.loss, m.feeds)[0];

    k.run(m.feeds);
    expect(k.outputs.loss[0]).toBeCloseTo(expectedLoss, 5);
    m.params.forEach((p, i) => {
      expect(p.value).toBe(views[i]); // the same Float32Array: one copy of the weights
      expect(p.value.some((v, j) => v !== before[i][j]), `${p.name} changed`).toBe(true);
      expect(mismatches(p.value, expected[i]), p.name).toEqual([]);
    });
  });

  it("three steps follow the interpreter's trajectory (each step from the values the previous one left)", () => {
    const m = mlp([6, 7, 4], 3, 5);
    const updates = sgd(m, 0.5);
    const k = compile({ loss: m.loss }, { updates });
    for (let step = 0; step < 3; step++) {
      const expected = expectedUpdates(updates, m.feeds);
      k.run(m.feeds);
      m.params.forEach((p, i) => {
        expect(mismatches(p.value, expected[i]), `step ${step}, ${p.name}`).toEqual([]);
      });
    }
  });

  it("momentum: buffers and params are both updated, each from the values before the step", () => {
    const m = mlp([5, 6, 3], 4, 9);
    const updates = momentum(m, 0.1, 0.9);
    const k = compile({ loss: m.loss }, { updates });
    for (let step = 0; step < 3; step++) {
      const expected = expectedUpdates(updates, m.feeds);
      k.run(m.feeds);
      updates.forEach((u, i) => {
        const target = u.inputs[0];
        expect(mismatches(target.value, expected[i]), `step ${step}, ${target.name}`).toEqual([]);
      });
    }
    expect(m.graph.get("v_W0").value.some((v) => v !== 0)).toBe(true);
  });

  it("all updates take effect together: a swap a ← b, b ← a reads both old values", () => {
    const g = new Graph();
    const a = g.param("a", [3], { init: (v) => v.set([1, 2, 3]) });
    const b = g.param("b", [3], { init: (v) => v.set([10, 20, 30]) });
    const k = compile({ s: a.sub(b).sum() }, { updates: [assign(a, b.mul(1)), assign(b, a.add(0))] });
    k.run();
    expect(k.outputs.s[0]).toBe(6 - 60);
    expect(Array.from(a.value)).toEqual([10, 20, 30]);
    expect(Array.from(b.value)).toEqual([1, 2, 3]);
  });

  for (const order of ["W's update first", "prev's update first"]) {
    it(`keeping the previous weights (prev ← W, W ← 0.8·W), ${order}: prev gets W from before the step`, () => {
      const g = new Graph();
      const W = g.param("W", [3], { init: (v) => v.set([1, 2, 3]) });
      const prev = g.buffer("prev", [3]);
      const uW = assign(W, W.sub(W.mul(0.2)));
      const uP = assign(prev, W);
      const k = compile({ loss: W.square().sum() }, { updates: order.startsWith("W") ? [uW, uP] : [uP, uW] });
      k.run();
      expect(k.outputs.loss[0]).toBe(14);
      expect(Array.from(prev.value)).toEqual([1, 2, 3]);
      expect(Array.from(W.value)).toEqual([0.8, 1.6, 2.4].map(Math.fround));
    });
  }

  it("an output read from a param sees its value before the step, even when the update is computed first", () => {
    const g = new Graph();
    const p = g.param("p", [4], { init: (v) => v.set([1, 2, 3, 4]) });
    const halved = p.mul(0.5); // created (and scheduled) before the output that reads p
    const y = p.exp().sum();
    const k = compile({ y, p2: p.mul(p) }, { updates: [assign(p, halved)] });
    k.run();
    expect(k.outputs.y[0]).toBeCloseTo(Math.E + Math.E ** 2 + Math.E ** 3 + Math.E ** 4, 3);
    expect(Array.from(k.outputs.p2)).toEqual([1, 4, 9, 16]);
    expect(Array.from(p.value)).toEqual([0.5, 1, 1.5, 2]);
  });

  it("two kernels compiled from one graph share W.value: training changes what the eval kernel computes", () => {
    const m = mlp([10, 6, 3], 4, 3);
    const updates = sgd(m, 0.5);
    const evalKernel = compile({ loss: m.loss, logits: m.logits });
    const train = compile({ loss: m.loss }, { updates });
    expect(evalKernel).not.toBe(train);

    evalKernel.run(m.feeds);
    const before = evalKernel.outputs.loss[0];
    expect(before).toBeCloseTo(evaluate(m.loss, m.feeds)[0], 5);

    train.run(m.feeds);
    evalKernel.run(m.feeds);
    const after = evalKernel.outputs.loss[0];
    expect(after).not.toBe(before);
    expect(after).toBeCloseTo(evaluate(m.loss, m.feeds)[0], 5); // the interpreter reads the same W.value
    expect(after).toBeLessThan(before); // one SGD step on the same batch lowers its loss

    // Writing W.value by hand is seen by both kernels too.
    for (const p of m.params) p.value.fill(0);
    evalKernel.run(m.feeds);
    expect(evalKernel.outputs.loss[0]).toBeCloseTo(Math.log(3), 5); // all logits 0: uniform over 3 classes
    expect(Array.from(evalKernel.outputs.logits)).toEqual(new Array(12).fill(0));
  });
});
