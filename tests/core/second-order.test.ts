/**
 * Second order for every differentiable op: with g = ∇f(x) (symbolic) and a fixed random v,
 * loss2 = Σ g·v; grad(loss2, x) (a Hessian-vector product) must match central finite differences of
 * loss2, i.e. of the first gradient's dot with v, evaluated by the float64 interpreter.
 *
 * Each op is checked bare when its second derivative is not zero, and wrapped as sin(op(x)) so that the
 * gradient of its VJP rule is exercised too (for linear and piecewise-linear ops this is the only check
 * that means anything). tanh, sigmoid and exp are also checked to third order and against their closed
 * forms (TensorFlow.js's rules for these do not differentiate again).
 */
import {
  abs,
  flushSubnormal,
  add,
  broadcastTo,
  concat,
  cos,
  crossEntropy,
  div,
  evaluate,
  exp,
  Graph,
  gelu,
  grad,
  leakyRelu,
  linear,
  log,
  logSoftmax,
  logsumexp,
  matmul,
  max,
  maximum,
  mean,
  minimum,
  mseLoss,
  mul,
  neg,
  norm,
  permute,
  pow,
  reciprocal,
  relu,
  reshape,
  Rng,
  sigmoid,
  sin,
  slice,
  softmax,
  softplus,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  tanh,
  transpose,
} from "adjoint";
import { describe, expect, it } from "vitest";
import { assertGradients } from "../helpers/finite-diff";
import { type InputSpec, secondOrderCheck, X } from "./grad-check";

const POS = { low: 0.3, high: 2 };

/** The largest |value| over the second-order gradients: a check of an all-zero Hessian would prove little. */
function largest(arrays: Float64Array[]): number {
  return Math.max(...arrays.flatMap((a) => Array.from(a, Math.abs)));
}

function check(
  inputs: Record<string, InputSpec>,
  f: (xs: Record<string, Tensor>, g: Graph) => Tensor,
  { nonzero = true }: { nonzero?: boolean } = {},
) {
  const r = secondOrderCheck(inputs, f);
  if (nonzero) expect(largest(r.symbolic)).toBeGreaterThan(1e-3);
  return r;
}

/** op bare (when nonlinear) and inside sin. */
function both(
  inputs: Record<string, InputSpec>,
  f: (xs: Record<string, Tensor>, g: Graph) => Tensor,
  { bare = true }: { bare?: boolean } = {},
) {
  if (bare) check(inputs, f);
  check(inputs, (xs, g) => f(xs, g).sin());
}

describe("unary elementwise ops: gradient of gradient matches finite differences", () => {
  const cases: [string, (x: Tensor) => Tensor, Partial<InputSpec>, boolean][] = [
    // name, op, input range, bare (second derivative nonzero)
    ["neg", neg, {}, false],
    ["exp", exp, { low: -2, high: 2 }, true],
    ["log", log, POS, true],
    ["sqrt", sqrt, POS, true],
    ["tanh", tanh, { low: -2, high: 2 }, true],
    ["sigmoid", sigmoid, { low: -3, high: 3 }, true],
    ["relu", relu, { minAbs: 0.1 }, false],
    ["abs", abs, { minAbs: 0.1 }, false],
    ["flushSubnormal", flushSubnormal, {}, false],
    ["square", square, {}, true],
    ["pow(3)", (x) => pow(x, 3), {}, true],
    ["pow(2)", (x) => pow(x, 2), {}, true],
    ["pow(0.5)", (x) => pow(x, 0.5), POS, true],
    ["pow(-2)", (x) => pow(x, -2), POS, true],
    ["pow(1)", (x) => pow(x, 1), {}, false],
    ["sin", sin, { low: -3, high: 3 }, true],
    ["cos", cos, { low: -3, high: 3 }, true],
    ["reciprocal", reciprocal, POS, true],
    ["leakyRelu(0.1)", (x) => leakyRelu(x, 0.1), { minAbs: 0.1 }, false],
    ["softplus", softplus, { low: -3, high: 3 }, true],
    ["gelu", gelu, { low: -3, high: 3 }, true],
  ];
  for (const [name, op, range, bare] of cases) {
    it(name, () => both({ x: X([2, 3], range) }, ({ x }) => op(x), { bare }));
  }

  it("relu, abs and leakyRelu have a zero second derivative away from 0", () => {
    for (const op of [relu, abs, (x: Tensor) => leakyRelu(x, 0.1), (x: Tensor) => pow(x, 1), neg]) {
      const g = new Graph();
      const x = g.input("x", [4], { requiresGrad: true });
      const [d1] = grad(
        op(x)
          .mul(x.graph.constant([1, -2, 3, 0.5], [4]))
          .sum(),
        [x],
      );
      expect(d1.requiresGrad).toBe(false); // a step function of x: nothing to differentiate
      const [d2] = grad(d1.mul(x.graph.constant([0.3, 0.1, -1, 2], [4])).sum(), [x]);
      expect(Array.from(evaluate(d2, { x: [-1.5, -0.2, 0.3, 2] }))).toEqual([0, 0, 0, 0]);
    }
  });
});

describe("tanh, sigmoid and exp: closed forms and third order", () => {
  const xs = [-1.5, -0.3, 0.2, 0.8, 2];

  function derivatives(op: (x: Tensor) => Tensor) {
    const g = new Graph();
    const x = g.input("x", [xs.length], { requiresGrad: true });
    const [d1] = grad(op(x).sum(), [x]);
    const [d2] = grad(d1.sum(), [x]);
    const [d3] = grad(d2.sum(), [x]);
    const [v1, v2, v3] = evaluate([d1, d2, d3], { x: xs });
    return { v1, v2, v3 };
  }

  it("tanh: 1 − t², −2t(1 − t²), (6t² − 2)(1 − t²)", () => {
    const { v1, v2, v3 } = derivatives(tanh);
    const t = xs.map(Math.tanh);
    expect(Array.from(v1)).toEqual(t.map((t) => expect.closeTo(1 - t * t, 12)));
    expect(Array.from(v2)).toEqual(t.map((t) => expect.closeTo(-2 * t * (1 - t * t), 12)));
    expect(Array.from(v3)).toEqual(t.map((t) => expect.closeTo((6 * t * t - 2) * (1 - t * t), 12)));
  });

  it("sigmoid: s(1 − s), s(1 − s)(1 − 2s), s(1 − s)(1 − 6s + 6s²)", () => {
    const { v1, v2, v3 } = derivatives(sigmoid);
    const s = xs.map((x) => 1 / (1 + Math.exp(-x)));
    expect(Array.from(v1)).toEqual(s.map((s) => expect.closeTo(s * (1 - s), 12)));
    expect(Array.from(v2)).toEqual(s.map((s) => expect.closeTo(s * (1 - s) * (1 - 2 * s), 12)));
    expect(Array.from(v3)).toEqual(s.map((s) => expect.closeTo(s * (1 - s) * (1 - 6 * s + 6 * s * s), 12)));
  });

  it("exp: every derivative is exp", () => {
    const { v1, v2, v3 } = derivatives(exp);
    for (const v of [v1, v2, v3])
      expect(Array.from(v)).toEqual(xs.map((x) => expect.closeTo(Math.exp(x), 12)));
  });

  for (const [name, op] of [
    ["tanh", tanh],
    ["sigmoid", sigmoid],
    ["exp", exp],
  ] as const) {
    it(`${name}: third order (grad of grad of grad) matches finite differences of the second`, () => {
      const g = new Graph();
      const x = g.input("x", [2, 2], { requiresGrad: true });
      const rng = new Rng(7);
      const rand = () =>
        g.constant(
          Array.from({ length: 4 }, () => rng.uniformRange(-1, 1)),
          [2, 2],
        );
      const f = op(x.mul(rand())).mul(rand()).sum();
      const [d1] = grad(f, [x]);
      const [d2] = grad(d1.mul(rand()).sum(), [x]);
      const loss3 = d2.mul(rand()).sum();
      const r = assertGradients(loss3, [x], { x: [0.3, -0.7, 1.1, -0.2] });
      expect(largest(r.symbolic)).toBeGreaterThan(1e-3);
    });
  }
});

describe("binary elementwise ops: gradient of gradient, with broadcasting", () => {
  const shapes: [string, number[], number[]][] = [
    ["same shapes", [2, 3], [2, 3]],
    ["[3,1] and [1,4]", [3, 1], [1, 4]],
    ["[2,3] and [3]", [2, 3], [3]],
    ["scalar and matrix", [], [2, 3]],
  ];
  const ops: [string, (a: Tensor, b: Tensor) => Tensor, Partial<InputSpec>, boolean][] = [
    ["add", add, {}, false],
    ["sub", sub, {}, false],
    ["mul", mul, {}, true],
    ["div", div, POS, true],
  ];
  for (const [opName, op, bRange, bare] of ops) {
    for (const [shapeName, sa, sb] of shapes) {
      it(`${opName}: ${shapeName}`, () =>
        both({ a: X(sa), b: X(sb, bRange) }, ({ a, b }) => op(a, b), { bare }));
    }
  }
  for (const [opName, op] of [
    ["maximum", maximum],
    ["minimum", minimum],
  ] as const) {
    it(`${opName}: [3,1] and [1,4], no ties`, () => {
      both(
        { a: X([3, 1], { values: [0.1, 0.5, 0.9] }), b: X([1, 4], { values: [0, 0.3, 0.7, 1.2] }) },
        ({ a, b }) => op(a, b),
        { bare: false },
      );
    });
    it(`${opName}: of nonlinear operands`, () => {
      // a² = [1.44, 1, 0.25, 4, 0, 0.09] vs exp(b) = [1, 2.72, 1.22, 12.2, 0.37, 1.35]: no ties.
      check(
        {
          a: X([2, 3], { values: [1.2, -1, 0.5, 2, 0, -0.3] }),
          b: X([2, 3], { values: [0, 1, 0.2, 2.5, -1, 0.3] }),
        },
        ({ a, b }) => op(a.square(), b.exp()),
      );
    });
  }
});

describe("reductions: gradient of gradient", () => {
  const distinct = [0.3, -0.9, 0.75, 0.1, -0.25, 0.95, -0.6, 0.5, -0.05, 0.2, -0.4, 0.65];
  const axes: [number | null, boolean][] = [
    [null, false],
    [0, true],
    [1, false],
    [-1, true],
  ];
  for (const [name, op, bare] of [
    ["sum", sum, false],
    ["mean", mean, false],
    ["max", max, false],
    ["logsumexp", logsumexp, true],
  ] as const) {
    for (const [axis, keepdims] of axes) {
      it(`${name}(axis=${axis}, keepdims=${keepdims})`, () => {
        both({ x: X([3, 4], { values: distinct }) }, ({ x }) => op(x, axis, keepdims), { bare });
      });
    }
  }
});

describe("matmul: gradient of gradient", () => {
  it("2-D", () => both({ a: X([2, 3]), b: X([3, 2]) }, ({ a, b }) => matmul(a, b)));
  it("batched [b,m,k]·[k,n]", () => both({ a: X([2, 2, 3]), b: X([3, 2]) }, ({ a, b }) => matmul(a, b)));
  it("batched [b,m,k]·[b,k,n]", () => both({ a: X([2, 2, 3]), b: X([2, 3, 2]) }, ({ a, b }) => matmul(a, b)));
  it("batched [m,k]·[b,k,n]", () => both({ a: X([2, 3]), b: X([2, 3, 2]) }, ({ a, b }) => matmul(a, b)));
  it("x·x (fan-out)", () => both({ x: X([3, 3]) }, ({ x }) => matmul(x, x)));
});

describe("layout ops: gradient of gradient", () => {
  const wrapped = { bare: false };
  it("transpose", () => both({ x: X([2, 3]) }, ({ x }) => transpose(x), wrapped));
  it("permute", () => both({ x: X([2, 3, 2]) }, ({ x }) => permute(x, [2, 0, 1]), wrapped));
  it("reshape with -1", () => both({ x: X([2, 3]) }, ({ x }) => reshape(x, [-1, 2]), wrapped));
  it("broadcastTo", () => both({ x: X([3, 1]) }, ({ x }) => broadcastTo(x, [2, 3, 4]), wrapped));
  it("slice", () => both({ x: X([3, 4]) }, ({ x }) => slice(x, 1, 3, 1), wrapped));
  it("concat", () => both({ a: X([2, 2]), b: X([2, 1]) }, ({ a, b }) => concat([a, b, a], 1), wrapped));
  it("a product through layout ops (bare)", () => {
    check({ x: X([2, 3]) }, ({ x }) =>
      matmul(x, transpose(x))
        .reshape([-1])
        .mul(slice(x, 0, 1).reshape([-1]).sum()),
    );
  });
});

describe("neural ops: gradient of gradient", () => {
  it("softmax", () => both({ x: X([2, 3], { low: -2, high: 2 }) }, ({ x }) => softmax(x)));
  it("softmax along axis 0", () => both({ x: X([2, 3], { low: -2, high: 2 }) }, ({ x }) => x.softmax(0)));
  it("logSoftmax", () => both({ x: X([2, 3], { low: -2, high: 2 }) }, ({ x }) => logSoftmax(x)));
  it("crossEntropy against class indices", () => {
    both(
      { logits: X([3, 3], { low: -2, high: 2 }), labels: X([3], { values: [2, 0, 1], requiresGrad: false }) },
      ({ logits, labels }) => crossEntropy(logits, labels),
    );
  });
  it("crossEntropy against probability targets", () => {
    both({ logits: X([2, 3], { low: -2, high: 2 }), t: X([2, 3], { low: 0, high: 1 }) }, ({ logits, t }) =>
      crossEntropy(logits, t),
    );
  });
  it("mseLoss mean and sum", () => {
    both({ p: X([2, 3]), t: X([2, 3]) }, ({ p, t }) => mseLoss(p, t));
    both({ p: X([2, 3]), t: X([2, 3]) }, ({ p, t }) => mseLoss(p, t, "sum"));
  });
  it("norm", () => both({ x: X([2, 3]) }, ({ x }) => norm(x)));
  it("linear", () => {
    both({ x: X([2, 3]), W: X([4, 3]), b: X([4]) }, ({ x, W, b }) => linear(x, W, b));
  });
  it("a small MLP loss w.r.t. its weights", () => {
    check(
      {
        x: X([4, 3], { requiresGrad: false }),
        W1: X([5, 3]),
        b1: X([5]),
        W2: X([2, 5]),
        labels: X([4], { values: [0, 1, 1, 0], requiresGrad: false }),
      },
      ({ x, W1, b1, W2, labels }) => crossEntropy(linear(linear(x, W1, b1).tanh(), W2), labels),
    );
  });
});
