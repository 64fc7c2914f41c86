/**
 * A padded conv's im2col read from the unpadded input (paddedWindows, passes/padded-windows.ts and
 * codegen/padded-windows.ts): compiled vs the float64 interpreter under every config and with the pass
 * off, for padding on either axis, asymmetric pads, strides, dilations, groups, windows reaching past
 * both sides, and rows too long to unroll.
 */
import { conv2d, evaluate, Graph, maxPool2d, pad, slidingWindows, type Tensor } from "adjoint";
import { describe, expect, it } from "vitest";
import { CaseBuilder, CONFIGS, differential } from "./differential";

const configs = [...CONFIGS, { name: "padWindows off", options: { passes: { padWindows: false } } }];
type Pair = [number, number];

function check(build: (c: CaseBuilder) => Tensor, seed = 9) {
  const c = new CaseBuilder(seed);
  const report = differential(c, build(c), { configs });
  expect(report.failures, report.message).toEqual([]);
  const lowered = report.kernels[0].programText;
  expect(lowered).toContain("paddedWindows");
  expect(lowered).not.toMatch(/= pad\[/);
  expect(report.kernels[configs.length - 1].programText).toMatch(/= pad\[/);
  // With wasm on, column stride 1 copies in wasm/im2col.ts (other strides: codegen/padded-windows.ts).
  const columnStride = /paddedWindows\[kernel=\[\d+,\d+\] stride=\[\d+,(\d+)\]/.exec(lowered)![1];
  const wasmCalls = report.kernels[0].source.match(/wasm\.win\d+\(\)/g) ?? [];
  expect(wasmCalls.length > 0).toBe(columnStride === "1");
  return report;
}

describe("a padded conv's im2col without the padded copy", () => {
  const cases: [
    string,
    number[],
    number[],
    { padding: Pair; stride?: Pair; dilation?: Pair; groups?: number },
  ][] = [
    ["LeNet's conv1: 5x5 pad 2", [2, 1, 12, 12], [4, 1, 5, 5], { padding: [2, 2] }],
    ["padding on rows only, stride 2", [1, 3, 9, 8], [2, 3, 3, 3], { padding: [1, 0], stride: [2, 2] }],
    [
      "padding on columns only, dilation 2",
      [2, 2, 7, 9],
      [3, 2, 3, 2],
      { padding: [0, 2], dilation: [2, 2] },
    ],
    [
      "padding wider than half the kernel, groups 2",
      [1, 4, 5, 6],
      [4, 2, 3, 3],
      { padding: [2, 2], groups: 2 },
    ],
    ["a 1x1 kernel, pad 1 (windows that are only padding)", [2, 2, 4, 5], [3, 2, 1, 1], { padding: [1, 1] }],
  ];
  for (const [name, xs, ws, options] of cases) {
    it(name, () => {
      check((c) => conv2d(c.x("x", xs), c.param("w", ws), c.param("b", [ws[0]]), options).tanh());
    });
  }

  it("asymmetric pads written as pad() calls, with a fill that is not 0", () => {
    // (A fill of 0 would look right in zeroed memory even where the loop forgot to store it.)
    check((c) => {
      const x = pad(pad(c.x("x", [2, 2, 6, 7]), 1, 3, 2, 0.5), 2, 0, 3, 0.5);
      const cols = slidingWindows(x, { kernel: [3, 2], stride: [2, 1] });
      const [N, C, kh, kw, Ho, Wo] = cols.shape;
      return c
        .param("w", [4, C * kh * kw])
        .matmul(cols.reshape([N, C * kh * kw, Ho * Wo]))
        .sin();
    });
  });

  it("rows too long to unroll keep a loop over the window columns", () => {
    const report = check((c) =>
      conv2d(c.x("x", [1, 1, 3, 300]), c.param("w", [2, 1, 1, 4]), null, { padding: [0, 2] }).tanh(),
    );
    const js = report.kernels[CONFIGS.findIndex((c) => c.options.wasm === false)].source;
    expect(js).toMatch(/for \(let j = 0; j < 4; j\+\+\)/);
  });

  it("a padded max pool reads its windows as a view: nothing to rewrite", () => {
    const c = new CaseBuilder(2);
    const report = differential(c, maxPool2d(c.x("x", [1, 2, 7, 7]), 3, { stride: 2, padding: 1 }).tanh(), {
      configs,
    });
    expect(report.failures, report.message).toEqual([]);
    expect(report.kernels[0].programText).not.toContain("paddedWindows");
  });

  it("the op's float64 reference equals slidingWindows(pad(pad(x))), with a -inf fill", () => {
    const g = new Graph();
    const x = g.input("x", [2, 5, 6]);
    const fill = Number.NEGATIVE_INFINITY;
    const geo = { kernel: [3, 2] as Pair, stride: [2, 1] as Pair, dilation: [1, 2] as Pair };
    const reference = slidingWindows(pad(pad(x, 1, 2, 1, fill), 3, 0, 2, fill), geo);
    const lowered = g.addNode("paddedWindows", [x], {
      ...geo,
      padding: [1, 2, 3, 0],
      fill,
      windowsShape: [...reference.shape],
    });
    const feeds = { x: Float64Array.from({ length: 60 }, (_, i) => Math.sin(i * 1.3)) };
    const [a, b] = evaluate([reference, lowered], feeds);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(a)).toContain(fill);
  });
});
