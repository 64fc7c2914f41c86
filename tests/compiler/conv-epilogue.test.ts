/**
 * A product's bias add and relu as its epilogue: moved in front of a conv's reshape (passes/sink-reshape.ts)
 * and run inside the wasm kernel (codegen/kernel-epilogue.ts), one bias per row for a conv, per column for
 * a dense layer. Compiled vs the float64 interpreter under every config, plus the pass switched off.
 */
import { conv2d, type Tensor } from "adjoint";
import { describe, expect, it } from "vitest";
import { splitAxis } from "../../packages/compiler/src/passes/sink-reshape";
import { CaseBuilder, CONFIGS, differential } from "./differential";

const configs = [...CONFIGS, { name: "sinkReshape off", options: { passes: { sinkReshape: false } } }];

/** The fused group (programText's "# group N ...") of the first node line matching `line`. */
function groupOf(programText: string, line: RegExp): number {
  const found = programText.split("\n").find((l) => line.test(l));
  const group = found && /# group (\d+)/.exec(found);
  if (!group) throw new Error(`no grouped node matches ${line}`);
  return Number(group[1]);
}

function check(build: (c: CaseBuilder) => Tensor, seed = 5) {
  const c = new CaseBuilder(seed);
  const report = differential(c, build(c), { configs });
  expect(report.failures, report.message).toEqual([]);
  return report;
}

describe("splitAxis: the one axis a reshape splits", () => {
  it("finds it at the end, the start or inside, and rejects other reshapes", () => {
    expect(splitAxis([64, 6, 784], [64, 6, 28, 28])).toEqual({ axis: 2, parts: 2 });
    expect(splitAxis([36, 6], [6, 6, 6])).toEqual({ axis: 0, parts: 2 });
    expect(splitAxis([2, 12, 5], [2, 3, 2, 2, 5])).toEqual({ axis: 1, parts: 3 });
    expect(splitAxis([6, 4], [4, 6])).toBeNull(); // same rank: no split
    expect(splitAxis([6, 4], [2, 12])).toBeNull();
    expect(splitAxis([2, 3, 4], [6, 2, 2])).toBeNull(); // merges 2·3, then splits 4
    expect(splitAxis([24], [2, 3, 5])).toBeNull(); // sizes differ
  });
});

describe("a conv's bias and relu as the epilogue of its product", () => {
  for (const [name, options] of [
    ["3x3 pad 1", { padding: 1 }],
    ["5x5 stride 2 dilation 1x2", { stride: 2, dilation: [1, 2] as [number, number] }],
  ] as const) {
    it(`${name}: one group with the product, run in the kernel with a bias per row`, () => {
      const report = check((c) => {
        const x = c.x("x", [2, 3, 13, 12]);
        const w = c.param("w", [8, 3, 3, 3]);
        const b = c.param("b", [8]);
        return conv2d(x, w, b, options).relu().tanh();
      });
      const text = report.kernels[0].programText;
      const product = groupOf(text, /= matmul %\d+, %\d+ : f32\[2,8,\d+\]/);
      expect(groupOf(text, /= add .*: f32\[2,8,\d+\]/)).toBe(product);
      expect(groupOf(text, /= relu .*: f32\[2,8,\d+\]/)).toBe(product);
      expect(report.kernels[0].wasmListing).toMatch(/epilogue: bias @\d+ \(one per row\), then relu/);
      // Without the pass the reshape keeps them apart, in a loop of their own.
      const apart = report.kernels[configs.length - 1].programText;
      expect(groupOf(apart, /= relu /)).not.toBe(groupOf(apart, /= matmul %\d+, %\d+ : f32\[2,8,\d+\]/));
    });
  }

  it("a bias without an activation, and an activation the kernel does not have (JS epilogue)", () => {
    for (const activation of [(y: Tensor) => y, (y: Tensor) => y.sigmoid()]) {
      check((c) => {
        const x = c.x("x", [2, 4, 9, 9]);
        const w = c.param("w", [6, 4, 3, 3]);
        return activation(conv2d(x, w, c.param("b", [6]))).square();
      });
    }
  });

  it("an operand that varies along the split axes stays after the reshape", () => {
    const report = check((c) => {
      const w = c.param("w", [6, 20]);
      const cols = c.x("cols", [3, 20, 30]);
      const y = w.matmul(cols).reshape([3, 6, 5, 6]);
      return y.add(c.x("z", [6, 5, 6])).relu();
    });
    expect(report.kernels[0].programText).toMatch(/= add .*: f32\[3,6,5,6\]/);
  });
});

describe("a dense layer's bias and relu in the kernel", () => {
  it("one bias per column, with and without the relu", () => {
    const report = check((c) => {
      const x = c.x("x", [16, 40]);
      const h = x
        .matmul(c.param("w1", [40, 24]))
        .add(c.param("b1", [24]))
        .relu();
      const z = h.matmul(c.param("w2", [24, 12])).add(c.param("b2", [12]));
      return z.matmul(c.param("w3", [12, 20]));
    });
    const listing = report.kernels[0].wasmListing;
    expect(listing).toMatch(/epilogue: bias @\d+ \(one per column\), then relu/);
    expect(listing).toMatch(/epilogue: bias @\d+ \(one per column\) \(after/);
  });
});
