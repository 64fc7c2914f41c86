/**
 * The spatial and normalization composites: shape rules, errors raised at graph-build time, the composite
 * mark on their results, gradients against float64 finite differences (random conv configurations) and
 * second order through conv2d, avgPool2d, pad and the norms (grad of grad of maxPool2d builds).
 */
import {
  avgPool2d,
  batchNorm,
  batchNormInference,
  conv2d,
  evaluate,
  Graph,
  grad,
  layerNorm,
  maxPool2d,
  pad2d,
  Rng,
  ShapeError,
} from "adjoint";
import { describe, expect, it } from "vitest";
import { gradCheck, secondOrderCheck } from "./grad-check";

describe("shape rules", () => {
  it("conv2d: torch's output size, NCHW", () => {
    const g = new Graph();
    const x = g.input("x", [2, 3, 11, 9]);
    expect(conv2d(x, g.param("w1", [4, 3, 3, 3])).shape).toEqual([2, 4, 9, 7]);
    expect(x.conv2d(g.param("w2", [4, 3, 3, 3]), { stride: 2, padding: 1 }).shape).toEqual([2, 4, 6, 5]);
    expect(
      conv2d(x, g.param("w3", [6, 1, 3, 2]), g.param("b3", [6]), { groups: 3, dilation: [2, 3] }).shape,
    ).toEqual([2, 6, 7, 6]);
    expect(conv2d(x, g.param("w4", [5, 3, 1, 1]), null, { stride: [3, 2] }).shape).toEqual([2, 5, 4, 5]);
  });

  it("pools: stride defaults to the kernel; floor mode", () => {
    const g = new Graph();
    const x = g.input("x", [2, 3, 7, 8]);
    expect(x.maxPool2d(2).shape).toEqual([2, 3, 3, 4]);
    expect(x.avgPool2d([3, 2], { stride: 1, padding: [1, 0] }).shape).toEqual([2, 3, 7, 7]);
    expect(maxPool2d(g.input("c", [3, 5, 5]), 3, { stride: 2, padding: 1 }).shape).toEqual([3, 3, 3]);
  });

  it("pad on the last two axes, norms keep the shape", () => {
    const g = new Graph();
    const x = g.input("x", [2, 3, 4, 5]);
    expect(x.pad([1, 2, 3, 0]).shape).toEqual([2, 3, 7, 8]);
    expect(x.pad([0, 0, 0, 0])).toBe(x);
    expect(batchNorm(x, g.param("w", [3]), g.param("b", [3])).shape).toEqual([2, 3, 4, 5]);
    expect(layerNorm(x, [4, 5]).shape).toEqual([2, 3, 4, 5]);
  });
});

describe("bad input: a clear error when the graph is built", () => {
  const g = new Graph();
  const x = g.input("x", [2, 3, 8, 8]);
  it("conv2d", () => {
    expect(() => conv2d(x, g.param("wc", [4, 2, 3, 3]))).toThrow(
      /conv2d: weight \[4,2,3,3\] expects 2 input channels \(2 per group × 1 group\), but the input \[2,3,8,8\] has 3/,
    );
    expect(() => conv2d(g.input("x3", [3, 8, 8]), g.param("w3", [4, 3, 3, 3]))).toThrow(
      /conv2d: input must be 4-D \[N, C, H, W\], got \[3,8,8\]/,
    );
    expect(() => conv2d(x, g.param("wk", [4, 3, 9, 3]))).toThrow(ShapeError);
    expect(() => conv2d(x, g.param("wk2", [4, 3, 11, 3]), null, { padding: 1 })).toThrow(
      /conv2d: kernel 11x3 is larger than the padded input: height 8 \+ 2·1 padding = 10 < 11 \(input \[2,3,8,8\]\)/,
    );
    expect(() => conv2d(x, g.param("wd", [4, 3, 3, 3]), null, { dilation: 4 })).toThrow(
      /conv2d: kernel 3x3 \(dilated by 4: extent 9\) is larger than the padded input/,
    );
    expect(() => conv2d(x, g.param("wg", [4, 1, 3, 3]), null, { groups: 2 })).toThrow(
      /conv2d: groups = 2 must divide both the input channels \(3, input \[2,3,8,8\]\) and the output channels \(4/,
    );
    expect(() => conv2d(x, g.param("wb", [4, 3, 3, 3]), g.param("bb", [3]))).toThrow(
      /conv2d: bias must be \[4\] \(one per output channel\), got \[3\]/,
    );
    const w = g.param("w", [4, 3, 3, 3]);
    expect(() => conv2d(x, w, null, { stride: 0 })).toThrow(/conv2d: stride must be a whole number >= 1/);
    expect(() => conv2d(x, w, null, { stride: 1.5 })).toThrow(/conv2d: stride must be a whole number >= 1/);
    expect(() => conv2d(x, w, null, { padding: -1 })).toThrow(/conv2d: padding must be a whole number >= 0/);
    expect(() => conv2d(x, w, null, { groups: 0 })).toThrow(/conv2d: groups must be a whole number >= 1/);
    expect(() => conv2d(x, w, null, { strides: 2 } as never)).toThrow(/conv2d: unknown option "strides"/);
  });

  it("pools and pad", () => {
    expect(() => x.maxPool2d(9)).toThrow(/maxPool2d: kernel 9x9 is larger than the padded input/);
    expect(() => x.avgPool2d(2, { padding: 2 })).toThrow(
      /avgPool2d: padding 2 must be at most half the kernel size 2/,
    );
    expect(() => g.input("v", [8, 8]).maxPool2d(2)).toThrow(
      /maxPool2d: input must be \[N, C, H, W\] or \[C, H, W\], got \[8,8\]/,
    );
    expect(() => x.maxPool2d(0)).toThrow(/maxPool2d: kernel must be a whole number >= 1/);
    expect(() => x.pad([1, 2, 3] as never)).toThrow(/pad: pads must be \[top, bottom, left, right\]/);
    expect(() => pad2d(g.input("s", [3]), [1, 1, 1, 1])).toThrow(/pad: needs at least 2 axes/);
  });

  it("norms", () => {
    expect(() => batchNorm(x, g.param("w2", [4]))).toThrow(
      /batchNorm: weight must be \[3\] for input \[2,3,8,8\], got \[4\]/,
    );
    expect(() => batchNorm(g.input("one", [1, 3]))).toThrow(
      /batchNorm: expected more than 1 value per channel/,
    );
    expect(() => batchNorm(g.input("r1", [5]))).toThrow(
      /batchNorm: input must be \[N, C\] or \[N, C, H, W\]/,
    );
    expect(() => layerNorm(x, [8, 7])).toThrow(
      /layerNorm: input \[2,3,8,8\] must end in the normalized shape \[8,7\]/,
    );
    expect(() => layerNorm(x, 8, g.param("lw", [7]))).toThrow(/layerNorm: weight must be \[8\]/);
    expect(() => layerNorm(x, 8, null, null, { eps: -1 })).toThrow(
      /layerNorm: eps must be a finite number >= 0/,
    );
  });
});

describe("composite marks: the op as one unit, for exporters and dumps", () => {
  it("records the op, its operands and normalized attributes", () => {
    const g = new Graph();
    const x = g.input("x", [1, 2, 6, 6]);
    const w = g.param("w", [4, 1, 3, 3]);
    const b = g.param("b", [4]);
    const y = conv2d(x, w, b, { stride: 2, padding: [1, 0], groups: 2 });
    expect(y.composite).toEqual({
      op: "conv2d",
      inputs: [x, w, b],
      attrs: { stride: [2, 2], padding: [1, 0], dilation: [1, 1], groups: 2, kernel: [3, 3] },
    });
    expect(x.maxPool2d(2).composite).toMatchObject({
      op: "maxPool2d",
      inputs: [x],
      attrs: { kernel: [2, 2], stride: [2, 2], padding: [0, 0] },
    });
    expect(x.avgPool2d(3, { stride: 1, padding: 1 }).composite?.attrs).toEqual({
      kernel: [3, 3],
      stride: [1, 1],
      padding: [1, 1],
      countIncludePad: true,
    });
    expect(x.pad([1, 0, 2, 2], -1).composite).toEqual({
      op: "pad2d",
      inputs: [x],
      attrs: { pads: [1, 0, 2, 2], value: -1 },
    });
    const m = g.buffer("m", [2]);
    const v = g.buffer("v", [2], 1);
    expect(batchNormInference(x, m, v, null, null, { eps: 1e-3 }).composite).toEqual({
      op: "batchNorm",
      inputs: [x, m, v],
      attrs: { eps: 1e-3, training: false, weight: false, bias: false },
    });
    expect(layerNorm(x, [6, 6]).composite?.attrs).toEqual({
      normalizedShape: [6, 6],
      eps: 1e-5,
      weight: false,
      bias: false,
    });
    // Only the result is marked: the primitives inside are plain nodes.
    expect(y.inputs[0].composite).toBeNull();
  });
});

describe("gradients against float64 finite differences", () => {
  it("conv2d over random configurations (odd sizes, strides 1-3, padding, dilation, groups, depthwise, 1x1)", () => {
    const rng = new Rng(5);
    const pick = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
    let done = 0;
    const configs: string[] = [];
    while (done < 14) {
      const groups = [1, 1, 2, 3][pick(0, 3)];
      const depthwise = done === 3;
      const Cg = depthwise ? 1 : pick(1, 2);
      const C = groups * Cg;
      const O = depthwise ? C : groups * pick(1, 2);
      const k: [number, number] = done === 2 ? [1, 1] : [pick(1, 3), pick(1, 3)];
      const s: [number, number] = [pick(1, 3), pick(1, 3)];
      const p: [number, number] = [pick(0, 2), pick(0, 1)];
      const d: [number, number] = [pick(1, 2), pick(1, 2)];
      const H = pick(3, 7);
      const W = pick(3, 7);
      if (H + 2 * p[0] < d[0] * (k[0] - 1) + 1 || W + 2 * p[1] < d[1] * (k[1] - 1) + 1) continue;
      const N = done % 4 === 0 ? 1 : 2;
      const bias = rng.uniform() < 0.6;
      configs.push(`N${N} C${C} ${H}x${W} O${O} k${k} s${s} p${p} d${d} g${groups}${bias ? " b" : ""}`);
      gradCheck(
        {
          x: { shape: [N, C, H, W] },
          w: { shape: [O, Cg, k[0], k[1]] },
          ...(bias ? { b: { shape: [O] } } : {}),
        },
        (xs) =>
          conv2d(xs.x, xs.w, xs.b, { stride: s, padding: p, dilation: d, groups: depthwise ? C : groups }),
        { seed: done },
      );
      done++;
    }
    expect(configs.length).toBe(14);
  });

  it("max pool (distinct values), avg pool, pad", () => {
    gradCheck({ x: { shape: [2, 2, 5, 6] } }, (xs) =>
      maxPool2d(xs.x, [2, 3], { stride: [2, 1], padding: [1, 1] }),
    );
    gradCheck({ x: { shape: [2, 2, 5, 6] } }, (xs) => avgPool2d(xs.x, 3, { stride: 2, padding: 1 }));
    gradCheck({ x: { shape: [2, 3, 3] } }, (xs) => xs.x.pad([2, 1, 0, 3], 0.5));
  });

  it("batch norm and layer norm, with and without weight and bias", () => {
    gradCheck(
      { x: { shape: [4, 3] }, w: { shape: [3] }, b: { shape: [3] } },
      (xs) => batchNorm(xs.x, xs.w, xs.b),
      {
        rtol: 1e-5,
      },
    );
    gradCheck({ x: { shape: [2, 3, 2, 3] }, w: { shape: [3] } }, (xs) => batchNorm(xs.x, xs.w));
    gradCheck({ x: { shape: [3, 2, 4] }, w: { shape: [2, 4] }, b: { shape: [2, 4] } }, (xs) =>
      layerNorm(xs.x, [2, 4], xs.w, xs.b),
    );
    gradCheck({ x: { shape: [3, 5] } }, (xs) => layerNorm(xs.x, 5));
  });
});

describe("second order (a Hessian-vector product against finite differences of the gradient)", () => {
  it("conv2d: wrt input and weight (the product is bilinear), through a nonlinearity", () => {
    secondOrderCheck({ x: { shape: [2, 2, 5, 4] }, w: { shape: [3, 2, 3, 2] }, b: { shape: [3] } }, (xs) =>
      conv2d(xs.x, xs.w, xs.b, { stride: [2, 1], padding: 1, dilation: [1, 2] }).tanh(),
    );
    secondOrderCheck({ x: { shape: [1, 4, 5, 5] }, w: { shape: [4, 2, 2, 2] } }, (xs) =>
      conv2d(xs.x, xs.w, null, { groups: 2, stride: 2 }),
    );
  });

  it("avgPool2d and pad, through a nonlinearity", () => {
    secondOrderCheck({ x: { shape: [1, 2, 5, 5] } }, (xs) =>
      avgPool2d(xs.x.sin(), 2, { stride: 1, padding: 1 }).square(),
    );
    secondOrderCheck({ x: { shape: [2, 3, 4] } }, (xs) => xs.x.pad([1, 0, 2, 1], 0.25).sin());
  });

  it("batch norm and layer norm", () => {
    secondOrderCheck({ x: { shape: [4, 2] }, w: { shape: [2] }, b: { shape: [2] } }, (xs) =>
      batchNorm(xs.x, xs.w, xs.b),
    );
    secondOrderCheck({ x: { shape: [2, 2, 2, 2] } }, (xs) => batchNorm(xs.x));
    secondOrderCheck({ x: { shape: [3, 4] }, w: { shape: [4] } }, (xs) => layerNorm(xs.x, 4, xs.w));
  });

  it("maxPool2d: grad of grad builds and evaluates (zero almost everywhere)", () => {
    const g = new Graph();
    const x = g.input("x", [1, 1, 4, 4], { requiresGrad: true });
    const y = x.maxPool2d(2).square().sum();
    const [dx] = grad(y, [x]);
    const [ddx] = grad(dx.sum(), [x]);
    const feeds = { x: Array.from({ length: 16 }, (_, i) => Math.sin(i + 1)) };
    const [v1, v2] = evaluate([dx, ddx], feeds);
    // d/dx of Σ 2·max·mask: 2 at each window's maximum (the mask is constant), 0 elsewhere.
    expect([...v2].filter((v) => v !== 0).length).toBe(4);
    expect([...v2].every((v) => v === 0 || v === 2)).toBe(true);
    expect([...v1].filter((v) => v !== 0).length).toBe(4);
  });
});
