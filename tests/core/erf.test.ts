import { compile, erf, evaluate, Graph, grad } from "adjoint";
import { describe, expect, it } from "vitest";
import { assertGradients } from "../helpers/finite-diff";

// erf to 16 digits (Abramowitz & Stegun's table, checked with Python's math.erf).
const KNOWN: [number, number][] = [
  [0, 0],
  [0.1, 0.1124629160182849],
  [0.5, 0.5204998778130465],
  [1, 0.8427007929497149],
  [-1, -0.8427007929497149],
  [1.5, 0.9661051464753108],
  [2, 0.9953222650189527],
  [-3, -0.9999779095030014],
  [5, 0.9999999999984626],
];

describe("erf", () => {
  it("matches known values within 1.2e-7, in the interpreter and the compiled kernel alike", () => {
    const g = new Graph();
    const x = g.input("x", [KNOWN.length]);
    const y = erf(x);
    const feed = KNOWN.map(([v]) => v);
    const ref = evaluate(y, { x: feed });
    const kernel = compile({ y });
    kernel.run({ x: feed });
    const out = kernel.outputs.y;
    KNOWN.forEach(([, want], i) => {
      expect(Math.abs(ref[i] - want)).toBeLessThan(1.2e-7);
      expect(Math.abs(out[i] - ref[i])).toBeLessThan(1e-6);
    });
  });

  it("differentiates (first and second order) against finite differences", () => {
    const g = new Graph();
    const x = g.input("x", [5], { requiresGrad: true });
    const loss = erf(x).mul(x).sum();
    const feeds = { x: [-1.3, -0.2, 0.05, 0.7, 2.1] };
    assertGradients(loss, [x], feeds, { rtol: 1e-5, atol: 1e-6 });
    const [dx] = grad(loss, [x]);
    assertGradients(dx.sum(), [x], feeds, { rtol: 1e-5, atol: 1e-6 });
  });
});
