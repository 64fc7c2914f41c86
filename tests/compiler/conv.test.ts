/**
 * conv2d, the pools and the norms compiled vs the float64 interpreter, forward and every gradient (input,
 * weight, bias), under every compile config (wasm on and off, fusion off, simplify/CSE off): random conv
 * configurations from a seeded generator (odd sizes, strides 1-3, paddings, dilations, groups incl.
 * depthwise, batch 1, 1x1 kernels, kernels larger than the stride), then fixed edge cases.
 */
import { avgPool2d, batchNorm, conv2d, layerNorm, maxPool2d, Rng, type Tensor } from "adjoint";
import { describe, expect, it } from "vitest";
import { CaseBuilder, differential } from "./differential";

interface ConvCase {
  N: number;
  C: number;
  O: number;
  H: number;
  W: number;
  k: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
  bias: boolean;
}

function randomCase(rng: Rng): ConvCase {
  const int = (lo: number, hi: number) => lo + Math.floor(rng.uniformRange(0, 1) * (hi - lo + 1));
  const groups = [1, 1, 2, 3][int(0, 3)];
  const depthwise = int(0, 4) === 0;
  const C = depthwise ? int(2, 4) : groups * int(1, 3);
  const O = depthwise ? C * int(1, 2) : groups * int(1, 3);
  const g = depthwise ? C : groups;
  const k: [number, number] = [int(1, 4), int(1, 4)];
  const dilation: [number, number] = [int(1, 2), int(1, 2)];
  const extent = (a: number) => dilation[a] * (k[a] - 1) + 1;
  // Less padding than the window's extent: every window then sees some input (a weight gradient of
  // windows that see only padding would be zero, and the comparison vacuous).
  const padding: [number, number] = [Math.min(int(0, 2), extent(0) - 1), Math.min(int(0, 2), extent(1) - 1)];
  const stride: [number, number] = [int(1, 3), int(1, 3)];
  const H = Math.max(extent(0) - 2 * padding[0], 1) + int(0, 5);
  const W = Math.max(extent(1) - 2 * padding[1], 1) + int(0, 5);
  return { N: int(1, 3), C, O, H, W, k, stride, padding, dilation, groups: g, bias: int(0, 1) === 1 };
}

function checkConv(cc: ConvCase, seed: number) {
  const c = new CaseBuilder(seed);
  const x = c.x("x", [cc.N, cc.C, cc.H, cc.W]);
  const w = c.param("w", [cc.O, cc.C / cc.groups, cc.k[0], cc.k[1]]);
  const b = cc.bias ? c.param("b", [cc.O]) : undefined;
  const y = conv2d(x, w, b, {
    stride: cc.stride,
    padding: cc.padding,
    dilation: cc.dilation,
    groups: cc.groups,
  });
  const report = differential(c, y.tanh());
  expect(report.failures, `${JSON.stringify(cc)}\n${report.message}`).toEqual([]);
}

describe("conv2d compiled: random configurations", () => {
  const rng = new Rng(2026);
  for (let i = 0; i < 14; i++) {
    const cc = randomCase(rng);
    it(`#${i} ${JSON.stringify(cc)}`, () => checkConv(cc, 100 + i));
  }
});

describe("conv2d compiled: edge cases", () => {
  const base: ConvCase = {
    N: 2,
    C: 3,
    O: 4,
    H: 7,
    W: 6,
    k: [3, 3],
    stride: [1, 1],
    padding: [1, 1],
    dilation: [1, 1],
    groups: 1,
    bias: true,
  };
  const cases: [string, Partial<ConvCase>][] = [
    ["batch 1", { N: 1 }],
    ["1x1 kernel", { k: [1, 1], padding: [0, 0] }],
    ["depthwise", { C: 4, O: 4, groups: 4 }],
    ["depthwise, channel multiplier 2, stride 2", { C: 3, O: 6, groups: 3, stride: [2, 2] }],
    ["kernel 5 larger than stride 2, pad 2", { k: [5, 5], stride: [2, 2], padding: [2, 2], H: 9, W: 8 }],
    ["stride 3, dilation 2, odd sizes", { stride: [3, 3], dilation: [2, 2], H: 11, W: 9 }],
    ["LeNet's conv2 shape at batch 2", { N: 2, C: 6, O: 16, H: 14, W: 14, k: [5, 5], padding: [0, 0] }],
  ];
  cases.forEach(([name, over], i) => {
    it(name, () => checkConv({ ...base, ...over }, 300 + i));
  });
});

describe("pools and norms compiled", () => {
  const run = (f: (c: CaseBuilder, x: Tensor) => Tensor, shape = [2, 3, 7, 6], seed = 5) => {
    const c = new CaseBuilder(seed);
    const report = differential(c, f(c, c.x("x", shape)));
    expect(report.failures, report.message).toEqual([]);
  };
  it("avgPool2d 2x2, 3x3 stride 2 pad 1", () => {
    run((_, x) => avgPool2d(x, 2).square());
    run((_, x) => avgPool2d(x, 3, { stride: 2, padding: 1 }).sin());
  });
  it("maxPool2d 3x3 stride 2 pad 1 after a conv and ReLU", () => {
    run((c, x) =>
      maxPool2d(conv2d(x, c.param("w", [4, 3, 3, 3]), c.param("b", [4]), { padding: 1 }).relu(), 3, {
        stride: 2,
        padding: 1,
      }),
    );
  });
  it("batchNorm over [N,C,H,W] and [N,C], with weight and bias", () => {
    run((c, x) => batchNorm(x, c.param("g", [3]), c.param("b", [3])).tanh());
    run((c, x) => batchNorm(x, c.param("g", [5]), c.param("b", [5])).tanh(), [6, 5]);
  });
  it("layerNorm over the trailing [H, W] and [C, H, W]", () => {
    run((c, x) => layerNorm(x, [7, 6], c.param("g", [7, 6]), c.param("b", [7, 6])).tanh());
    run((_, x) => layerNorm(x, [3, 7, 6]).sin());
  });
});
