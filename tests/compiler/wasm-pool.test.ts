/**
 * The 2×2 max pool's SIMD kernels, forward max and gradient (wasm/pool2x2.ts, codegen/wasm-pool.ts): bit
 * for bit the JS loops (wasm off), NaN, ties and zeros included, at every remainder of the four-window
 * groups, with and without the ReLU mask; and against the float64 interpreter.
 */
import { compile, grad, Graph, maxPool2d } from "adjoint";
import { describe, expect, it } from "vitest";
import { CaseBuilder, differential } from "./differential";

/** The input gradient of Σ maxPool2d(relu?(x))·c, compiled with and without wasm, on the same feeds. */
function both(shape: number[], relu: boolean, values: (i: number) => number) {
  const g = new Graph();
  const x = g.input("x", shape, { requiresGrad: true });
  const pooled = maxPool2d(relu ? x.relu() : x, 2);
  const c = g.input("c", pooled.shape);
  const [dx] = grad(pooled.mul(c).sum(), [x]);
  const size = shape.reduce((a, b) => a * b, 1);
  const feeds = {
    x: Float32Array.from({ length: size }, (_, i) => values(i)),
    c: Float32Array.from({ length: c.size }, (_, i) => (i % 7) - 3 + 0.25),
  };
  return [{}, { wasm: false }].map((options) => {
    const k = compile({ dx, y: pooled }, options);
    k.run(feeds);
    return { source: k.source, dx: Array.from(k.outputs.dx), y: Array.from(k.outputs.y) };
  });
}

describe("a 2x2 max pool's gradient in a wasm SIMD kernel", () => {
  // Wo = 1..9: every remainder of the groups of four windows, with and without full groups.
  for (const Wo of [1, 2, 3, 4, 5, 7, 8, 9]) {
    for (const relu of [false, true]) {
      it(`Wo ${Wo}${relu ? ", after a ReLU" : ""}: bit for bit the JS loop, NaN, ties and zeros included`, () => {
        const shape = [2, 3, 6, 2 * Wo];
        // Small integers give ties; every 11th a NaN, every 13th -0.
        const values = (i: number) =>
          i % 11 === 5 ? Number.NaN : i % 13 === 0 ? -0 : ((i * 7919) % 9) - 4 + (i % 3 === 0 ? 0 : 0.5);
        const [wasm, js] = both(shape, relu, values);
        expect(wasm.source).toMatch(/wasm\.win\d+\(\)/);
        expect(js.source).not.toMatch(/wasm\.win/);
        expect((wasm.source.match(/wasm\.win\d+\(\)/g) ?? []).length).toBe(2); // the max and its gradient
        for (const out of ["y", "dx"] as const) {
          const differing = wasm[out].findIndex((v, i) => !Object.is(v, js[out][i]));
          expect(differing, `${out}[${differing}]: ${wasm[out][differing]} vs ${js[out][differing]}`).toBe(
            -1,
          );
        }
        // (A ReLU sends NaN to 0: only without it do NaNs reach the pool.)
        expect(wasm.y.some((v) => Number.isNaN(v))).toBe(!relu);
        expect(wasm.dx.some((v) => v !== 0 && !Number.isNaN(v))).toBe(true);
      });
    }
  }

  it("matches the interpreter at W5's first pool shape (batch 2)", () => {
    const c = new CaseBuilder(21);
    const y = maxPool2d(c.x("x", [2, 6, 28, 28]).relu(), 2).tanh();
    const report = differential(c, y);
    expect(report.failures, report.message).toEqual([]);
    expect(report.kernels[0].source).toMatch(/wasm\.win\d+\(\)/);
  });

  it("odd planes (the last row and column in no window): the max in wasm, the gradient in JS", () => {
    const [wasm, js] = both([1, 2, 7, 9], true, (i) => Math.sin(i));
    expect((wasm.source.match(/wasm\.win\d+\(\)/g) ?? []).length).toBe(1);
    expect(wasm.y).toEqual(js.y);
    expect(wasm.dx).toEqual(js.dx);
  });
});
