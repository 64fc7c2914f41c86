/**
 * The window primitives compiled vs the interpreter (forward and gradients, every compile config, wasm on
 * and off): slidingWindows as a strided view, pad with a fill, foldWindows' gather loop, firstMaxMask,
 * and the compositions they exist for (an im2col convolution, max and average pooling).
 */
import {
  evaluate,
  firstMaxMask,
  foldWindows,
  Graph,
  maxPool2d,
  pad,
  slidingWindows,
  type Tensor,
} from "adjoint";
import { describe, expect, it } from "vitest";
import { CaseBuilder, differential } from "./differential";

function check(build: (c: CaseBuilder) => Tensor, seed = 7) {
  const c = new CaseBuilder(seed);
  const y = build(c);
  const report = differential(c, y);
  expect(report.failures, report.message).toEqual([]);
  return report;
}

describe("window primitives compiled", () => {
  it("slidingWindows read as a view, inside elementwise ops", () => {
    check((c) =>
      slidingWindows(c.x("x", [2, 7, 6]).sin(), {
        kernel: [3, 2],
        stride: [2, 1],
        dilation: [1, 2],
      }).square(),
    );
  });
  it("pad with -inf then a max over windows (a max pool)", () => {
    check((c) => {
      const x = c.x("x", [2, 3, 5, 5]);
      const p = pad(pad(x, 1, 1, 2, Number.NEGATIVE_INFINITY), 1, 1, 3, Number.NEGATIVE_INFINITY);
      return slidingWindows(p, { kernel: 3, stride: 2 }).max(2).max(2);
    });
  });
  it("foldWindows, strided and dilated", () => {
    for (const [k, s, d, size] of [
      [3, 1, 1, [6, 5]],
      [2, 2, 1, [7, 6]],
      [3, 2, 2, [9, 8]],
      [2, 3, 1, [8, 7]],
    ] as [number, number, number, [number, number]][]) {
      check((c) => {
        const x = c.data("x", [2, ...size]);
        const shape = slidingWindows(x, { kernel: k, stride: s, dilation: d }).shape as number[];
        return foldWindows(c.x("w", shape).sin(), { kernel: k, stride: s, dilation: d, size }).square();
      });
    }
  });
  it("firstMaxMask, and a max pool that sends the gradient to it", () => {
    check((c) => {
      const x = c.x("x", [2, 2, 6, 6]);
      const w = slidingWindows(x, { kernel: 2, stride: 2 });
      return w
        .mul(firstMaxMask(w, [2, 3]))
        .sum(2)
        .sum(2);
    });
  });
  it("an im2col convolution: pad, windows, reshape, matmul (forward, input and weight gradients)", () => {
    for (const [N, C, H, W, O, k, s, p, d] of [
      [2, 3, 9, 8, 5, 3, 1, 1, 1],
      [1, 2, 11, 7, 4, 5, 2, 2, 1],
      [3, 4, 8, 8, 6, 3, 3, 0, 2],
      [2, 6, 7, 7, 16, 1, 1, 0, 1],
    ]) {
      check((c) => {
        const x = c.x("x", [N, C, H, W]);
        const w = c.param("w", [O, C, k, k]);
        const xp = pad(pad(x, p, p, 2), p, p, 3);
        const win = slidingWindows(xp, { kernel: k, stride: s, dilation: d });
        const [Ho, Wo] = win.shape.slice(-2);
        const cols = win.reshape([N, C * k * k, Ho * Wo]);
        return w
          .reshape([O, C * k * k])
          .matmul(cols)
          .reshape([N, O, Ho, Wo])
          .relu();
      });
    }
  });
});

describe("the weight gradient of a batch-broadcast matmul is one product (passes/batch-sum.ts)", () => {
  it("Σ_b g[b]·x[b]ᵀ compiles to one matmul with sumBatch, no [N, m, k] intermediate, and matches", () => {
    for (const [b, m, k, n] of [
      [64, 16, 150, 100],
      [3, 5, 7, 9],
      [1, 4, 4, 4],
    ]) {
      const c = new CaseBuilder(3);
      const w = c.param("w", [m, k]);
      const x = c.data("x", [b, k, n]);
      const y = w.matmul(x).tanh();
      const report = differential(c, y, {
        configs: [
          { name: "default", options: {} },
          { name: "wasm off", options: { wasm: false } },
          { name: "batchSum off", options: { passes: { batchSum: false } } },
        ],
      });
      expect(report.failures, report.message).toEqual([]);
      const [lowered, , plain] = report.kernels;
      if (b === 1) continue; // a sum over a batch of one is a reshape already (simplify)
      expect(lowered.programText).toMatch(new RegExp(`matmul\\[sumBatch=true\\] .*: f32\\[${m},${k}\\]`));
      expect(lowered.programText).not.toMatch(new RegExp(`f32\\[${b},${m},${k}\\]`));
      expect(plain.programText).toMatch(new RegExp(`f32\\[${b},${m},${k}\\]`));
    }
  });
});

describe("a max pool's gradient in one loop (passes/pool-grad.ts)", () => {
  const cases: [string, number[], number, { stride?: number; padding?: number }][] = [
    ["2x2 stride 2", [2, 3, 8, 8], 2, {}],
    ["3x3 stride 2 pad 1 (overlapping windows), odd size", [1, 2, 7, 9], 3, { stride: 2, padding: 1 }],
    ["3x3 stride 1", [2, 2, 6, 5], 3, { stride: 1 }],
    ["2x2 stride 3 (gaps)", [1, 2, 8, 7], 2, { stride: 3 }],
  ];
  for (const [name, shape, k, options] of cases) {
    it(`${name}: matches the interpreter, with the lowering applied (and off)`, () => {
      const c = new CaseBuilder(11);
      const x = c.x("x", shape);
      const y = maxPool2d(x.sin(), k, options).square();
      const report = differential(c, y, {
        configs: [
          { name: "default", options: {} },
          { name: "wasm off", options: { wasm: false } },
          { name: "fusion off", options: { passes: { fusion: false } } },
          { name: "poolGrad off", options: { passes: { poolGrad: false } } },
        ],
      });
      expect(report.failures, report.message).toEqual([]);
      expect(report.kernels[0].programText).toContain("foldAtFirstMax");
      expect(report.kernels[0].programText).not.toContain("firstMaxMask");
      expect(report.kernels[3].programText).toContain("firstMaxMask");
    });
  }

  it("ties go to the first maximum (as torch), also compiled", () => {
    const c = new CaseBuilder(1);
    const x = c.x("x", [1, 1, 4, 4], { values: [3, 1, 0, 2, 0, 3, 1, 2, 4, 4, 5, 0, 1, 4, 1, 5] });
    const report = differential(c, maxPool2d(x, 2).mul(c.data("w", [1, 1, 2, 2], { values: [1, 2, 3, 4] })));
    expect(report.failures, report.message).toEqual([]);
    const k = report.kernels[0];
    // Each window holds a tie between its first and last element: only the first gets a gradient.
    const dx = Array.from(k.outputs[Object.keys(k.outputs).find((n) => n.startsWith("d_"))!]);
    expect(dx.map((v) => (v !== 0 ? 1 : 0))).toEqual([1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
  });

  it("the op's float64 reference equals foldWindows(g · firstMaxMask(windows))", () => {
    const g = new Graph();
    const x = g.input("x", [2, 7, 6]);
    const geo = {
      kernel: [3, 2] as [number, number],
      stride: [2, 1] as [number, number],
      dilation: [1, 2] as [number, number],
    };
    const win = slidingWindows(x, geo);
    const gg = g.input("g", [2, 1, 1, win.shape[3], win.shape[4]]);
    const reference = foldWindows(gg.mul(firstMaxMask(win, [1, 2])), { ...geo, size: [7, 6] });
    const lowered = g.addNode("foldAtFirstMax", [x, gg], { ...geo, windows: [...win.shape] });
    const feeds = {
      x: Float64Array.from({ length: 84 }, (_, i) => Math.sin(i * 1.7)),
      g: Float64Array.from({ length: gg.size }, (_, i) => i + 1),
    };
    const [a, b] = evaluate([reference, lowered], feeds);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
