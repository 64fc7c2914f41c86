/**
 * foldWindows (col2im) compiled vs the interpreter for the geometries of each path of codegen/fold-rows.ts:
 * stride 1 (a contiguous range of window rows per output row; dilation through Math.ceil/floor; rows no
 * window reaches), strides above 1 (a tested loop over the window rows), the unrolled borders of every row,
 * and rows too wide to unroll (the row scatter in windows.ts).
 */
import { foldWindows, slidingWindows, type Tensor } from "adjoint";
import { describe, expect, it } from "vitest";
import { FOLD_ROWS_MAX_TERMS } from "../../packages/compiler/src/codegen/fold-rows";
import { CaseBuilder, CONFIGS, differential } from "./differential";

type Pair = [number, number];

function checkFold(kernel: Pair, stride: Pair, dilation: Pair, size: Pair, lead = [2, 3]) {
  const c = new CaseBuilder(kernel[0] * 31 + size[1]);
  const x = c.data("x", [...lead, ...size]);
  const shape = slidingWindows(x, { kernel, stride, dilation }).shape as number[];
  const y: Tensor = foldWindows(c.x("w", shape).sin(), { kernel, stride, dilation, size }).square();
  const report = differential(c, y);
  expect(report.failures, report.message).toEqual([]);
  return report;
}

describe("foldWindows per output row, terms summed in registers", () => {
  const cases: [string, Pair, Pair, Pair, Pair][] = [
    ["W5's conv2 input gradient: 5x5 windows of 10x10 onto 14x14", [5, 5], [1, 1], [1, 1], [14, 14]],
    ["a 1x1 kernel (every element one term)", [1, 1], [1, 1], [1, 1], [5, 6]],
    ["a kernel as large as the input (one window)", [4, 3], [1, 1], [1, 1], [4, 3]],
    ["stride 1, dilation 2 (window rows by Math.ceil/floor)", [3, 3], [1, 1], [2, 2], [9, 8]],
    ["stride 1, dilation 3 with one window row: rows no window reaches", [2, 2], [1, 1], [3, 3], [4, 9]],
    ["stride 2 in both axes, odd sizes", [3, 3], [2, 2], [1, 1], [9, 7]],
    ["stride 3 over rows only, dilation 2 over columns", [2, 3], [3, 1], [1, 2], [8, 9]],
    ["stride 2 over columns only (gaps between the terms of a row)", [2, 2], [1, 2], [1, 1], [6, 9]],
  ];
  for (const [name, kernel, stride, dilation, size] of cases) {
    it(name, () => {
      const kernels = checkFold(kernel, stride, dilation, size).kernels;
      const js = kernels[CONFIGS.findIndex((c) => c.options.wasm === false)].source;
      // Unrolled: the first window row stores, the others add, element by element.
      expect(js).toMatch(/F\[row \+ 0\] (=|\+=) /);
      // With wasm, column stride 1 goes to the SIMD kernel (wasm/col2im.ts), other strides stay in JS.
      expect(/wasm\.win\d+\(\)/.test(kernels[0].source)).toBe(stride[1] === 1);
    });
  }

  it("rows no window reaches are stored as zeros, whatever the memory held", () => {
    const c = new CaseBuilder(4);
    const geo = {
      kernel: [2, 2] as Pair,
      stride: [1, 1] as Pair,
      dilation: [3, 3] as Pair,
      size: [5, 9] as Pair,
    };
    const shape = slidingWindows(c.data("x", [2, 5, 9]), geo).shape as number[];
    const report = differential(c, foldWindows(c.x("w", shape), geo));
    expect(report.failures, report.message).toEqual([]);
    // The wasm kernel (wasm/col2im.ts) and the JS rows (fold-rows.ts).
    for (const k of [report.kernels[0], report.kernels[CONFIGS.findIndex((c) => c.options.wasm === false)]]) {
      const before = Array.from(k.outputs.y);
      k.outputs.y.fill(Number.NaN);
      k.run();
      expect(Array.from(k.outputs.y)).toEqual(before);
      // Row 2 of each plane (window rows reach 0-1 and 3-4). 5·9 floats are not a whole number of
      // vectors: the wasm kernel's zeroing ends in single lanes.
      expect(before.filter((v) => v === 0).length).toBeGreaterThanOrEqual(2 * 9);
    }
  });

  it(`rows wider than ${FOLD_ROWS_MAX_TERMS} unrolled terms use the row scatter, and match too`, () => {
    const width = Math.ceil(FOLD_ROWS_MAX_TERMS / 4) + 3;
    const kernels = checkFold([2, 4], [1, 1], [1, 1], [3, width], [2]).kernels;
    const js = kernels[CONFIGS.findIndex((c) => c.options.wasm === false)].source;
    expect(js).not.toMatch(/F\[row \+ 0\] (=|\+=) /);
  });
});
