/**
 * The window primitives (slidingWindows, foldWindows, firstMaxMask) and pad's fill value: values against
 * direct formulas, the adjoint identity <slide(x), y> = <x, fold(y)>, gradients and second order against
 * float64 finite differences, and the build-time errors.
 */
import {
  evaluate,
  firstMaxMask,
  foldWindows,
  Graph,
  grad,
  pad,
  Rng,
  slidingWindows,
  type Tensor,
} from "adjoint";
import { describe, expect, it } from "vitest";
import { gradCheck, secondOrderCheck } from "./grad-check";

const rnd = (n: number, seed = 3) => {
  const r = new Rng(seed);
  return Float64Array.from({ length: n }, () => r.uniformRange(-1, 1));
};

interface Geo {
  kernel: [number, number];
  stride: [number, number];
  dilation: [number, number];
}

const CASES: [string, number[], Geo][] = [
  ["3x3 stride 1", [2, 5, 6], { kernel: [3, 3], stride: [1, 1], dilation: [1, 1] }],
  ["2x3 stride 2x1, odd sizes", [1, 2, 7, 5], { kernel: [2, 3], stride: [2, 1], dilation: [1, 1] }],
  ["dilation 2, stride 3", [9, 8], { kernel: [2, 2], stride: [3, 3], dilation: [2, 2] }],
  ["1x1 kernel stride 2", [3, 4, 5], { kernel: [1, 1], stride: [2, 2], dilation: [1, 1] }],
  [
    "kernel larger than stride, dilation 2x1",
    [2, 7, 7],
    { kernel: [3, 2], stride: [2, 1], dilation: [2, 1] },
  ],
];

describe("slidingWindows: values", () => {
  for (const [name, shape, geo] of CASES) {
    it(name, () => {
      const g = new Graph();
      const x = g.input("x", shape);
      const y = slidingWindows(x, geo);
      const [H, W] = shape.slice(-2);
      const [kh, kw] = geo.kernel;
      const Ho = Math.floor((H - geo.dilation[0] * (kh - 1) - 1) / geo.stride[0]) + 1;
      const Wo = Math.floor((W - geo.dilation[1] * (kw - 1) - 1) / geo.stride[1]) + 1;
      expect(y.shape).toEqual([...shape.slice(0, -2), kh, kw, Ho, Wo]);
      const xv = rnd(x.size);
      const out = evaluate(y, { x: xv });
      const lead = x.size / (H * W);
      let at = 0;
      for (let b = 0; b < lead; b++)
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++)
            for (let p = 0; p < Ho; p++)
              for (let q = 0; q < Wo; q++) {
                const r = p * geo.stride[0] + i * geo.dilation[0];
                const c = q * geo.stride[1] + j * geo.dilation[1];
                expect(out[at++]).toBe(xv[b * H * W + r * W + c]);
              }
    });
  }

  it("a number stands for both axes, stride and dilation default to 1", () => {
    const g = new Graph();
    const x = g.input("x", [4, 5]);
    expect(slidingWindows(x, { kernel: 2 }).shape).toEqual([2, 2, 3, 4]);
    expect(x.slidingWindows({ kernel: 3, stride: 2 }).shape).toEqual([3, 3, 1, 2]);
  });
});

describe("foldWindows is the adjoint of slidingWindows", () => {
  for (const [name, shape, geo] of CASES) {
    it(name, () => {
      const g = new Graph();
      const x = g.input("x", shape);
      const w = slidingWindows(x, geo);
      const y = g.input("y", w.shape);
      const folded = foldWindows(y, { ...geo, size: [shape.at(-2)!, shape.at(-1)!] });
      expect(folded.shape).toEqual(shape);
      const xv = rnd(x.size, 5);
      const yv = rnd(y.size, 6);
      const [wv, fv] = evaluate([w, folded], { x: xv, y: yv });
      const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);
      expect(dot(wv, yv)).toBeCloseTo(dot(xv, fv), 12);
    });
  }

  it("counts overlaps: folding windows of ones gives how many windows cover each position", () => {
    const g = new Graph();
    const ones = g.constant(new Array(2 * 2 * 2 * 2).fill(1), [2, 2, 2, 2]);
    const f = foldWindows(ones, { kernel: 2, size: [3, 3] });
    expect(Array.from(evaluate(f, {}))).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
  });
});

describe("window gradients against finite differences", () => {
  for (const [name, shape, geo] of CASES) {
    it(`slidingWindows ${name}: first and second order`, () => {
      gradCheck({ x: { shape } }, ({ x }) => slidingWindows(x, geo));
      // Inside a nonlinearity, so that the VJP's own gradient (foldWindows' VJP) is exercised.
      secondOrderCheck({ x: { shape } }, ({ x }) => slidingWindows(x.sin(), geo).square());
    });
    it(`foldWindows ${name}: first and second order`, () => {
      const g0 = new Graph();
      const wShape = slidingWindows(g0.input("x", shape), geo).shape as number[];
      const size: [number, number] = [shape.at(-2)!, shape.at(-1)!];
      gradCheck({ y: { shape: wShape } }, ({ y }) => foldWindows(y, { ...geo, size }));
      secondOrderCheck({ y: { shape: wShape } }, ({ y }) => foldWindows(y.sin(), { ...geo, size }).square());
    });
  }
});

describe("pad with a fill value", () => {
  it("fills with the value, ±Infinity included", () => {
    const g = new Graph();
    const x = g.input("x", [2, 2]);
    const p = pad(x, 1, 0, 1, -Infinity);
    expect(p.shape).toEqual([2, 3]);
    expect(Array.from(evaluate(p, { x: [1, 2, 3, 4] }))).toEqual([-Infinity, 1, 2, -Infinity, 3, 4]);
    expect(Array.from(evaluate(pad(x, 0, 1, 0, 7), { x: [1, 2, 3, 4] }))).toEqual([1, 2, 3, 4, 7, 7]);
    expect(pad(x, 1, 1).attrs.value).toBeUndefined(); // the default stays as before (0)
  });

  it("gradient and second order ignore the fill", () => {
    gradCheck({ x: { shape: [3, 2] } }, ({ x }) => pad(x, 1, 2, 0, 2.5));
    secondOrderCheck({ x: { shape: [3, 2] } }, ({ x }) => pad(x.sin(), 2, 1, 1, -3).square());
  });

  it("rejects NaN", () => {
    const g = new Graph();
    expect(() => pad(g.input("x", [2]), 1, 1, 0, Number.NaN)).toThrow(/pad/);
  });
});

describe("firstMaxMask", () => {
  it("marks the first maximum in row-major order; ties go to the first", () => {
    const g = new Graph();
    const x = g.input("x", [2, 2, 3]);
    const m = firstMaxMask(x, [1, 2]);
    const v = [1, 5, 5, 0, 5, 2, /* second block */ -1, -1, -1, -1, -1, -1];
    expect(Array.from(evaluate(m, { x: v }))).toEqual([0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    const m0 = x.firstMaxMask([0]);
    expect(Array.from(evaluate(m0, { x: v }))).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  });

  it("a NaN is the maximum (as max lets it through)", () => {
    const g = new Graph();
    const x = g.input("x", [3]);
    expect(Array.from(evaluate(firstMaxMask(x, [0]), { x: [1, Number.NaN, 3] }))).toEqual([0, 1, 0]);
  });

  it("is not differentiable, and a max pool built on it sends the gradient to the first maximum", () => {
    const g = new Graph();
    const x = g.input("x", [1, 4, 4], { requiresGrad: true });
    const mask = firstMaxMask(slidingWindows(x, { kernel: 2, stride: 2 }), [1, 2]);
    expect(mask.requiresGrad).toBe(false);
    const windows = slidingWindows(x, { kernel: 2, stride: 2 });
    const pooled = windows
      .mul(firstMaxMask(windows, [1, 2]))
      .sum(1)
      .sum(1);
    const [dx] = grad(pooled.sum(), [x]);
    // Each 2x2 window holds a tie between its first and last element: only the first gets the gradient.
    const xv = [3, 1, 0, 2, 0, 3, 1, 2, 4, 4, 5, 0, 1, 4, 1, 5];
    expect(Array.from(evaluate(pooled, { x: xv }))).toEqual([3, 2, 4, 5]);
    expect(Array.from(evaluate(dx, { x: xv }))).toEqual([1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
  });

  it("max pool gradients against finite differences (away from ties), and grad of grad builds", () => {
    const pool = (x: Tensor) => {
      const w = slidingWindows(x, { kernel: 3, stride: 2 });
      return w
        .mul(firstMaxMask(w, [1, 2]))
        .sum(1)
        .sum(1);
    };
    gradCheck({ x: { shape: [2, 5, 5] } }, ({ x }) => pool(x));
    const g = new Graph();
    const x = g.input("x", [1, 5, 5], { requiresGrad: true });
    const [dx] = grad(pool(x).square().sum(), [x]);
    const [ddx] = grad(dx.sum(), [x]);
    expect(ddx.shape).toEqual([1, 5, 5]);
  });
});

describe("bad window arguments are errors at graph-build time", () => {
  const g = new Graph();
  const x = g.input("x", [2, 5, 4]);
  it("names the op and the sizes", () => {
    expect(() => slidingWindows(x, { kernel: [6, 1] })).toThrow(
      /slidingWindows: the window \(kernel 6, dilation 1: extent 6\) is larger than the input's height \(5\)/,
    );
    expect(() => slidingWindows(x, { kernel: 2, dilation: [1, 4] })).toThrow(/extent 5.*width \(4\)/);
    expect(() => slidingWindows(g.input("v", [5]), { kernel: 2 })).toThrow(/rank >= 2.*\[5\]/);
    expect(() => slidingWindows(x, { kernel: 0 })).toThrow(/kernel must be a whole number >= 1/);
    expect(() => slidingWindows(x, { kernel: 2, stride: [1.5, 1] })).toThrow(/stride/);
    expect(() => foldWindows(g.input("y", [2, 2, 3, 3]), { kernel: 2, size: [5, 5] })).toThrow(
      /foldWindows: input \[2,2,3,3\] does not hold the windows of a 5x5 input \(expected \[\.\.\., 2, 2, 4, 4\]/,
    );
    expect(() => firstMaxMask(x, [3])).toThrow(/firstMaxMask: axis 3 is out of range/);
  });
});

describe("the interpreter on a training batch's sizes", () => {
  it("firstMaxMask of a LeNet conv layer's output (301,056 values) evaluates", () => {
    // It spread the reduction map into Math.max(...), which overflows the stack at this size.
    const g = new Graph();
    const x = g.input("x", [64, 6, 28, 28]);
    const windows = slidingWindows(x, { kernel: 2, stride: 2 }); // [64, 6, 2, 2, 14, 14]
    const mask = evaluate(firstMaxMask(windows, [2, 3]), { x: rnd(64 * 6 * 28 * 28, 11) });
    expect(mask.length).toBe(64 * 6 * 28 * 28);
    let ones = 0;
    for (const m of mask) ones += m;
    expect(ones).toBe(64 * 6 * 14 * 14); // one first maximum per 2×2 window
  });
});
