/** The finite-difference checker itself: it must be able to fail, and its feeds must be what they claim. */
import { crossEntropy, Graph, Rng } from "adjoint";
import { describe, expect, it } from "vitest";
import {
  assertGradients,
  checkGradients,
  compareGradients,
  numericGradient,
  randomFeeds,
} from "../helpers/finite-diff";

function quadratic() {
  const g = new Graph();
  const x = g.input("x", [3], { requiresGrad: true });
  const W = g.param("W", [3], { init: (v) => v.set([0.5, -1, 2]) });
  const loss = x.square().mul(W).sum(); // ∂/∂x = 2Wx, ∂/∂W = x²
  return { g, x, W, loss, feeds: { x: [1, 2, -3] } };
}

describe("finite differences", () => {
  it("numericGradient approximates the derivative to ~1e-9", () => {
    const { x, W, loss, feeds } = quadratic();
    const dx = numericGradient(loss, x, feeds);
    const dW = numericGradient(loss, W, feeds);
    expect(Array.from(dx)).toEqual([1, -4, -12].map((v) => expect.closeTo(v, 8)));
    expect(Array.from(dW)).toEqual([1, 4, 9].map((v) => expect.closeTo(v, 8)));
  });

  it("checkGradients accepts the right gradients and reports both sides", () => {
    const { x, W, loss, feeds } = quadratic();
    const r = checkGradients(loss, [x, W], feeds);
    expect(r.ok).toBe(true);
    expect(r.mismatches).toEqual([]);
    expect(r.value).toBe(0.5 - 4 + 18);
    expect(Array.from(r.symbolic[0])).toEqual([1, -4, -12]);
    expect(r.maxAbsError).toBeLessThan(1e-7);
  });

  it("checkGradients rejects a gradient that is off by 0.1%, naming the leaf and element", () => {
    const { x, W, loss, feeds } = quadratic();
    const wrong = x.mul(W).mul(2.002);
    const r = checkGradients(loss, [x], feeds, { grads: [wrong] });
    expect(r.ok).toBe(false);
    expect(r.mismatches.map((m) => m.index)).toEqual([0, 1, 2]);
    expect(r.message).toMatch(/3 gradient element\(s\) differ/);
    expect(r.message).toMatch(/"x" input "x" %0 \[3\]\[2\]: symbolic -12\.01/);
    expect(() => assertGradients(loss, [x], feeds, { grads: [wrong] })).toThrow(
      /differ from central finite differences/,
    );
    // A loose enough tolerance accepts it: the tolerance is really applied.
    expect(checkGradients(loss, [x], feeds, { grads: [wrong], rtol: 1e-2 }).ok).toBe(true);
  });

  it("checkGradients rejects a NaN gradient and a gradient of one wrong element", () => {
    const { g, x, loss, feeds } = quadratic();
    const nan = x.log(); // log of a negative feed: NaN at [2]
    expect(checkGradients(loss, [x], feeds, { grads: [nan] }).ok).toBe(false);
    const oneOff = g.input("oneOff", [3]);
    const r = checkGradients(loss, [x], { ...feeds, oneOff: [1, -4, -12.001] }, { grads: [oneOff] });
    expect(r.mismatches.map((m) => m.index)).toEqual([2]);
  });

  it("compareGradients works on gradients computed elsewhere (e.g. by a compiled kernel)", () => {
    const ok = compareGradients([[1, 2]], [Float64Array.of(1, 2 + 1e-9)], ["a"]);
    expect(ok.ok).toBe(true);
    const bad = compareGradients([[1, 2]], [Float64Array.of(1, 2.01)], ["a"]);
    expect(bad.ok).toBe(false);
    expect(bad.mismatches[0]).toMatchObject({ leaf: "a", index: 1, symbolic: 2, numeric: 2.01 });
    expect(() => compareGradients([[1]], [Float64Array.of(1, 2)], ["a"])).toThrow(/has 1 values, its leaf 2/);
  });

  it("reads params from storage unless fed, and perturbs fed values in float64", () => {
    const { W, loss, feeds } = quadratic();
    const fed = checkGradients(loss, [W], { ...feeds, W: [0.1, 0.2, 0.3] });
    expect(fed.value).toBeCloseTo(0.1 * 1 + 0.2 * 4 + 0.3 * 9, 12);
    expect(fed.ok).toBe(true);
  });

  it("refuses what it cannot perturb", () => {
    const { x, loss, feeds } = quadratic();
    const h = x.exp();
    expect(() => checkGradients(loss, [h], feeds)).toThrow(/is not a leaf/);
    expect(() => checkGradients(h, [x], feeds)).toThrow(/the loss must have one element/);
    expect(() => checkGradients(loss, [x], {})).toThrow(/no feed for input/);
  });
});

describe("randomFeeds", () => {
  it("feeds every input, in range, away from 0 when asked, reproducibly", () => {
    const g = new Graph();
    g.input("a", [50]);
    g.input("b", [2, 3]);
    g.param("W", [4]);
    const f = randomFeeds(g, new Rng(3), { low: -2, high: 2, minAbs: 0.5 });
    expect(Object.keys(f).sort()).toEqual(["a", "b"]);
    expect(f.a).toBeInstanceOf(Float64Array);
    expect(f.a).toHaveLength(50);
    expect(f.b).toHaveLength(6);
    expect(Array.from(f.a).every((v) => v >= -2 && v < 2 && Math.abs(v) >= 0.5)).toBe(true);
    expect(randomFeeds(g, 3, { low: -2, high: 2, minAbs: 0.5 })).toEqual(f);
    expect(randomFeeds(g, 4)).not.toEqual(randomFeeds(g, 5));
    expect(Object.keys(randomFeeds(g, 1, { params: true })).sort()).toEqual(["W", "a", "b"]);
  });

  it("gives crossEntropy's label inputs whole numbers in [0, C)", () => {
    const g = new Graph();
    const logits = g.input("logits", [40, 3]);
    const labels = g.input("labels", [40]);
    crossEntropy(logits, labels);
    const f = randomFeeds(g, 9);
    expect(Array.from(f.labels).every((c) => Number.isInteger(c) && c >= 0 && c < 3)).toBe(true);
    expect(new Set(f.labels).size).toBe(3);
  });

  it("refuses an impossible range", () => {
    const g = new Graph();
    g.input("a", [2]);
    expect(() => randomFeeds(g, 1, { low: 1, high: 1 })).toThrow(/empty range/);
    expect(() => randomFeeds(g, 1, { low: -0.1, high: 0.1, minAbs: 0.5 })).toThrow(/at least 0.5 from 0/);
  });
});
