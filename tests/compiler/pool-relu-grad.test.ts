/**
 * A max pool after a ReLU: its gradient and the ReLU's mask in one loop (foldAtFirstMax with
 * positiveOnly, passes/pool-grad.ts), and the store-only loop when the windows tile the plane
 * (codegen/windows.ts). Compiled vs the float64 interpreter under every config and with the pass off.
 */
import { evaluate, firstMaxMask, foldWindows, Graph, maxPool2d, slidingWindows, step } from "adjoint";
import { describe, expect, it } from "vitest";
import { CaseBuilder, CONFIGS, differential } from "./differential";

const configs = [...CONFIGS, { name: "poolGrad off", options: { passes: { poolGrad: false } } }];

describe("a max pool after a ReLU: the pool's gradient and the ReLU's mask in one loop", () => {
  const cases: [string, number[], number, { stride?: number; padding?: number }][] = [
    ["2x2 stride 2, windows tile the plane", [2, 3, 8, 6], 2, {}],
    ["2x2 stride 2, odd size (the last row and column in no window)", [1, 2, 7, 9], 2, {}],
    ["3x3 stride 2 (overlapping windows)", [1, 2, 7, 9], 3, { stride: 2 }],
    ["3x3 stride 3, windows tile the plane", [2, 2, 6, 9], 3, {}],
    ["2x2 stride 3 (gaps)", [1, 2, 8, 7], 2, { stride: 3 }],
  ];
  for (const [name, shape, k, options] of cases) {
    it(`${name}: matches the interpreter; the mask is folded in`, () => {
      const c = new CaseBuilder(13);
      // Values in [-1, 1): a ReLU zeroes about half of them, so some windows hold only zeros (mask 0).
      const x = c.x("x", shape, { minAbs: 1e-3 });
      // tanh, not square: a window of zeros must still get a nonzero gradient for the mask to matter.
      const y = maxPool2d(x.mul(c.param("s", [1])).relu(), k, options).tanh();
      const report = differential(c, y, { configs });
      expect(report.failures, report.message).toEqual([]);
      const lowered = report.kernels[0].programText;
      expect(lowered).toMatch(/foldAtFirstMax\[.*positiveOnly=true/);
      expect(lowered).not.toMatch(/= step\[/);
      expect(report.kernels[configs.length - 1].programText).not.toContain("foldAtFirstMax");
    });
  }

  it("a padded pool folds over the padded plane, not the ReLU's output: no mask to fold in", () => {
    const c = new CaseBuilder(17);
    const y = maxPool2d(c.x("x", [1, 2, 7, 9]).relu(), 3, { stride: 2, padding: 1 }).square();
    const report = differential(c, y, { configs });
    expect(report.failures, report.message).toEqual([]);
    expect(report.kernels[0].programText).toContain("foldAtFirstMax");
    expect(report.kernels[0].programText).not.toContain("positiveOnly");
  });

  it("a ReLU output read by the pool and by another op: the mask multiplies the sum, not the fold", () => {
    const c = new CaseBuilder(3);
    const x = c.x("x", [1, 2, 6, 6]);
    const h = x.relu();
    // dL/dh = (the pool's fold) + w, and the ReLU's mask multiplies that sum: nothing to fold in.
    const y = maxPool2d(h, 2)
      .square()
      .sum()
      .add(h.mul(c.data("w", [1, 2, 6, 6])).sum());
    const report = differential(c, y, { configs });
    expect(report.failures, report.message).toEqual([]);
    expect(report.kernels[0].programText).toContain("foldAtFirstMax");
    expect(report.kernels[0].programText).not.toContain("positiveOnly");
  });

  it("the op's float64 reference with positiveOnly equals foldWindows(g · firstMaxMask(windows)) · step(x)", () => {
    const g = new Graph();
    const x = g.input("x", [2, 6, 6]);
    const geo = {
      kernel: [2, 2] as [number, number],
      stride: [2, 2] as [number, number],
      dilation: [1, 1] as [number, number],
    };
    const win = slidingWindows(x, geo);
    const gg = g.input("g", [2, 1, 1, 3, 3]);
    const fold = foldWindows(gg.mul(firstMaxMask(win, [1, 2])), { ...geo, size: [6, 6] });
    const reference = fold.mul(step(x));
    const lowered = g.addNode("foldAtFirstMax", [x, gg], {
      ...geo,
      windows: [...win.shape],
      positiveOnly: true,
    });
    const feeds = {
      // Half the windows hold only values <= 0 (their maximum gets no gradient), one a tie at 0.
      x: Float64Array.from({ length: 72 }, (_, i) =>
        i % 12 < 6 ? Math.sin(i * 1.7) : -Math.abs(Math.cos(i)),
      ),
      g: Float64Array.from({ length: gg.size }, (_, i) => i + 1),
    };
    const [a, b] = evaluate([reference, lowered], feeds);
    expect(Array.from(b).map((v) => v + 0)).toEqual(Array.from(a).map((v) => v + 0));
    expect(Array.from(a).some((v, i) => v === 0 && Array.from(evaluate([fold], feeds)[0])[i] !== 0)).toBe(
      true,
    );
  });
});
