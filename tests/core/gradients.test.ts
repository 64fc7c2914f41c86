/**
 * First-order gradients of every op against central finite differences of the float64 interpreter,
 * including broadcasting and fan-out. Inputs of kinked ops stay away from their kinks.
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
  sigmoid,
  sin,
  slice,
  softmax,
  softplus,
  sqrt,
  square,
  stopGradient,
  sub,
  sum,
  type Tensor,
  tanh,
  transpose,
} from "adjoint";
import { describe, expect, it } from "vitest";
import { assertGradients } from "../helpers/finite-diff";
import { gradCheck, type InputSpec, X } from "./grad-check";

const POS = { low: 0.2, high: 2 };

describe("unary elementwise ops: gradients match finite differences", () => {
  const cases: [string, (x: Tensor) => Tensor, Partial<InputSpec>][] = [
    ["neg", neg, {}],
    ["exp", exp, { low: -2, high: 2 }],
    ["log", log, POS],
    ["sqrt", sqrt, POS],
    ["tanh", tanh, { low: -2, high: 2 }],
    ["sigmoid", sigmoid, { low: -3, high: 3 }],
    ["relu", relu, { minAbs: 0.1 }],
    ["abs", abs, { minAbs: 0.1 }],
    ["flushSubnormal", flushSubnormal, {}],
    ["square", square, {}],
    ["pow(3)", (x) => pow(x, 3), {}],
    ["pow(2)", (x) => pow(x, 2), {}],
    ["pow(1)", (x) => pow(x, 1), {}],
    ["pow(0)", (x) => pow(x, 0), {}],
    ["pow(0.5)", (x) => pow(x, 0.5), POS],
    ["pow(-2)", (x) => pow(x, -2), POS],
    ["pow(2.5)", (x) => pow(x, 2.5), POS],
    ["sin", sin, { low: -3, high: 3 }],
    ["cos", cos, { low: -3, high: 3 }],
    ["reciprocal", reciprocal, POS],
    ["reciprocal of negatives", reciprocal, { low: -2, high: -0.2 }],
    ["leakyRelu(0.1)", (x) => leakyRelu(x, 0.1), { minAbs: 0.1 }],
    ["leakyRelu (alpha 0.01)", (x) => leakyRelu(x), { minAbs: 0.1 }],
    ["softplus", softplus, { low: -4, high: 4 }],
    ["gelu", gelu, { low: -3, high: 3 }],
  ];
  for (const [name, op, range] of cases) {
    it(name, () => {
      const r = gradCheck({ x: X([2, 3], range) }, ({ x }) => op(x));
      expect(r.symbolic[0]).toHaveLength(6);
    });
  }

  it("relu and abs gradients have the expected signs on both sides of the kink", () => {
    const g = new Graph();
    const x = g.input("x", [4], { requiresGrad: true });
    const [dr] = grad(relu(x).sum(), [x]);
    const [da] = grad(abs(x).sum(), [x]);
    const [dl] = grad(leakyRelu(x, 0.2).sum(), [x]);
    const feeds = { x: [-2, -0.5, 0.5, 2] };
    expect(Array.from(evaluate(dr, feeds))).toEqual([0, 0, 1, 1]);
    expect(Array.from(evaluate(da, feeds))).toEqual([-1, -1, 1, 1]);
    expect(Array.from(evaluate(dl, feeds))).toEqual([0.2, 0.2, 1, 1].map((v) => expect.closeTo(v, 12)));
  });

  it("stopGradient passes values but no gradient (checked against the formula: FD cannot see it)", () => {
    const g = new Graph();
    const x = g.input("x", [3], { requiresGrad: true });
    // f = Σ stop(x)·x: df/dx = stop(x) = x, not 2x.
    const [dx] = grad(stopGradient(x).mul(x).sum(), [x]);
    expect(Array.from(evaluate(dx, { x: [1, -2, 3] }))).toEqual([1, -2, 3]);
    const [dd] = grad(x.detach().mul(x).add(x.square()).sum(), [x]);
    expect(Array.from(evaluate(dd, { x: [1, -2, 3] }))).toEqual([3, -6, 9]);
    // Only through stopGradient: a zero gradient of x's shape.
    const [z] = grad(stopGradient(x).exp().sum(), [x]);
    expect(z.shape).toEqual([3]);
    expect(Array.from(evaluate(z, { x: [1, -2, 3] }))).toEqual([0, 0, 0]);
  });
});

describe("binary elementwise ops: gradients match finite differences, with broadcasting", () => {
  const shapes: [string, number[], number[]][] = [
    ["same shapes [2,3]", [2, 3], [2, 3]],
    ["[3,1] and [1,4]", [3, 1], [1, 4]],
    ["[2,3] and [3]", [2, 3], [3]],
    ["[3] and [2,3]", [3], [2, 3]],
    ["scalar and matrix", [], [2, 3]],
    ["matrix and scalar", [2, 3], []],
    ["[2,1,3] and [4,1]", [2, 1, 3], [4, 1]],
  ];
  const ops: [string, (a: Tensor, b: Tensor) => Tensor, Partial<InputSpec>][] = [
    ["add", add, {}],
    ["sub", sub, {}],
    ["mul", mul, {}],
    ["div", div, POS],
  ];
  for (const [opName, op, bRange] of ops) {
    for (const [shapeName, sa, sb] of shapes) {
      it(`${opName}: ${shapeName}`, () => {
        gradCheck({ a: X(sa), b: X(sb, bRange) }, ({ a, b }) => op(a, b));
      });
    }
  }

  // maximum/minimum: values at least 0.1 apart (no ties).
  const a31 = [0.1, 0.5, 0.9];
  const b14 = [0.0, 0.3, 0.7, 1.2];
  for (const [opName, op] of [
    ["maximum", maximum],
    ["minimum", minimum],
  ] as const) {
    it(`${opName}: same shapes, no ties`, () => {
      gradCheck(
        {
          a: X([2, 3], { values: [1, -1, 0.5, 2, 0, -0.3] }),
          b: X([2, 3], { values: [0, 1, 0.2, 2.5, -1, 0.3] }),
        },
        ({ a, b }) => op(a, b),
      );
    });
    it(`${opName}: [3,1] and [1,4]`, () => {
      gradCheck({ a: X([3, 1], { values: a31 }), b: X([1, 4], { values: b14 }) }, ({ a, b }) => op(a, b));
    });
    it(`${opName}: scalar and matrix`, () => {
      gradCheck(
        { a: X([], { values: [0.45] }), b: X([2, 3], { values: [0, 1, 0.2, 2.5, -1, 0.3] }) },
        ({ a, b }) => op(a, b),
      );
    });
  }

  it("maximum and minimum split the gradient evenly on ties (as torch does)", () => {
    const g = new Graph();
    const a = g.input("a", [2], { requiresGrad: true });
    const b = g.input("b", [2], { requiresGrad: true });
    const [da, db] = grad(maximum(a, b).sum(), [a, b]);
    const [ma, mb] = grad(minimum(a, b).sum(), [a, b]);
    const feeds = { a: [1, 2], b: [1, 3] };
    expect(Array.from(evaluate(da, feeds))).toEqual([0.5, 0]);
    expect(Array.from(evaluate(db, feeds))).toEqual([0.5, 1]);
    expect(Array.from(evaluate(ma, feeds))).toEqual([0.5, 1]);
    expect(Array.from(evaluate(mb, feeds))).toEqual([0.5, 0]);
  });

  it("with a plain number as one operand", () => {
    gradCheck({ x: X([2, 3], POS) }, ({ x }) => div(3, x).add(sub(1, x).mul(2)));
  });

  it("the gradient of a broadcast operand has the operand's shape", () => {
    const r = gradCheck({ a: X([3, 1]), b: X([1, 4]) }, ({ a, b }) => a.mul(b));
    const [da, db] = grad(r.loss, [r.xs.a, r.xs.b]);
    expect(da.shape).toEqual([3, 1]);
    expect(db.shape).toEqual([1, 4]);
  });
});

describe("reductions: gradients match finite differences", () => {
  // Distinct values at least 0.05 apart, shuffled: no ties for max.
  const distinct = [0.3, -0.9, 0.75, 0.1, -0.25, 0.95, -0.6, 0.5, -0.05, 0.2, -0.4, 0.65];
  const axes: [number | null, boolean][] = [
    [null, false],
    [null, true],
    [0, false],
    [0, true],
    [1, false],
    [1, true],
    [-1, false],
    [-1, true],
  ];
  const ops: [string, (x: Tensor, axis: number | null, keepdims: boolean) => Tensor][] = [
    ["sum", sum],
    ["mean", mean],
    ["max", max],
    ["logsumexp", logsumexp],
  ];
  for (const [name, op] of ops) {
    for (const [axis, keepdims] of axes) {
      it(`${name}(axis=${axis}, keepdims=${keepdims}) of [3,4]`, () => {
        const r = gradCheck({ x: X([3, 4], { values: distinct }) }, ({ x }) => op(x, axis, keepdims));
        expect(r.y.shape.length).toBe(axis === null ? (keepdims ? 2 : 0) : keepdims ? 2 : 1);
      });
    }
    it(`${name} of a [2,3,2] tensor over the middle axis`, () => {
      gradCheck({ x: X([2, 3, 2], { values: distinct }) }, ({ x }) => op(x, 1, false));
      gradCheck({ x: X([2, 3, 2], { values: distinct }) }, ({ x }) => op(x, -2, true));
    });
  }

  it("max shares the gradient evenly between tied maxima", () => {
    const g = new Graph();
    const x = g.input("x", [2, 3], { requiresGrad: true });
    const [dAll] = grad(max(x), [x]);
    const [dRows] = grad(max(x, 1).sum(), [x]);
    const feeds = { x: [1, 5, 5, 2, 0, 1] };
    expect(Array.from(evaluate(dAll, feeds))).toEqual([0, 0.5, 0.5, 0, 0, 0]);
    expect(Array.from(evaluate(dRows, feeds))).toEqual([0, 0.5, 0.5, 1, 0, 0]);
  });
});

describe("matmul: gradients match finite differences", () => {
  it("2-D [2,3]·[3,4]", () => {
    gradCheck({ a: X([2, 3]), b: X([3, 4]) }, ({ a, b }) => matmul(a, b));
  });
  it("batched [b,m,k]·[k,n]", () => {
    const r = gradCheck({ a: X([2, 2, 3]), b: X([3, 4]) }, ({ a, b }) => matmul(a, b));
    expect(r.y.shape).toEqual([2, 2, 4]);
  });
  it("batched [b,m,k]·[b,k,n]", () => {
    const r = gradCheck({ a: X([2, 2, 3]), b: X([2, 3, 4]) }, ({ a, b }) => matmul(a, b));
    expect(r.y.shape).toEqual([2, 2, 4]);
  });
  it("batched [m,k]·[b,k,n]", () => {
    const r = gradCheck({ a: X([2, 3]), b: X([2, 3, 4]) }, ({ a, b }) => matmul(a, b));
    expect(r.y.shape).toEqual([2, 2, 4]);
  });
  it("with fan-out: x·x and x·xᵀ", () => {
    gradCheck({ x: X([3, 3]) }, ({ x }) => matmul(x, x));
    gradCheck({ x: X([2, 3]) }, ({ x }) => matmul(x, x.transpose()));
  });
  it("only one operand requiring grad", () => {
    gradCheck({ a: X([2, 3]), b: X([3, 2], { requiresGrad: false }) }, ({ a, b }) => matmul(a, b));
    gradCheck({ a: X([2, 3], { requiresGrad: false }), b: X([3, 2]) }, ({ a, b }) => matmul(a, b));
  });
});

describe("layout ops: gradients match finite differences", () => {
  it("transpose of a matrix and of a batch", () => {
    gradCheck({ x: X([2, 3]) }, ({ x }) => transpose(x));
    gradCheck({ x: X([2, 3, 4]) }, ({ x }) => x.transpose());
  });
  it("permute", () => {
    gradCheck({ x: X([2, 3, 4]) }, ({ x }) => permute(x, [2, 0, 1]));
    gradCheck({ x: X([2, 3, 4]) }, ({ x }) => permute(x, [1, 2, 0]));
  });
  it("reshape, with -1", () => {
    gradCheck({ x: X([2, 3]) }, ({ x }) => reshape(x, [3, -1]));
    gradCheck({ x: X([2, 3, 2]) }, ({ x }) => x.reshape([-1]));
    gradCheck({ x: X([6]) }, ({ x }) => x.reshape([1, 2, -1]));
  });
  it("broadcastTo", () => {
    gradCheck({ x: X([3]) }, ({ x }) => broadcastTo(x, [2, 3]));
    gradCheck({ x: X([2, 1]) }, ({ x }) => x.broadcastTo([2, 3]));
    gradCheck({ x: X([]) }, ({ x }) => x.broadcastTo([2, 2]));
    gradCheck({ x: X([3, 1]) }, ({ x }) => x.broadcastTo([2, 3, 4]));
  });
  it("slice along axis 0, 1 and -1", () => {
    gradCheck({ x: X([3, 4]) }, ({ x }) => slice(x, 1, 3, 0));
    gradCheck({ x: X([3, 4]) }, ({ x }) => slice(x, 0, 2, 1));
    gradCheck({ x: X([2, 3, 4]) }, ({ x }) => x.slice(1, 4, -1));
  });
  it("concat along axis 0 and 1, including one tensor twice", () => {
    gradCheck({ a: X([1, 3]), b: X([2, 3]) }, ({ a, b }) => concat([a, b], 0));
    gradCheck({ a: X([2, 1]), b: X([2, 2]), c: X([2, 3]) }, ({ a, b, c }) => concat([a, b, c], 1));
    gradCheck({ a: X([2, 2]), b: X([2, 2]) }, ({ a, b }) => concat([a, b.tanh(), a], -1));
  });
  it("concat with an operand that does not require grad", () => {
    gradCheck({ a: X([2, 2]), b: X([1, 2], { requiresGrad: false }) }, ({ a, b }) => concat([b, a], 0));
  });
});

describe("neural ops: gradients match finite differences", () => {
  it("softmax along the last axis and along axis 0", () => {
    gradCheck({ x: X([2, 3], { low: -2, high: 2 }) }, ({ x }) => softmax(x));
    gradCheck({ x: X([2, 3], { low: -2, high: 2 }) }, ({ x }) => x.softmax(0));
  });
  it("logSoftmax", () => {
    gradCheck({ x: X([2, 3], { low: -2, high: 2 }) }, ({ x }) => logSoftmax(x));
    gradCheck({ x: X([3, 2], { low: -2, high: 2 }) }, ({ x }) => x.logSoftmax(0));
  });
  it("crossEntropy against class indices", () => {
    const r = gradCheck(
      {
        logits: X([4, 3], { low: -2, high: 2 }),
        labels: X([4], { values: [0, 2, 1, 2], requiresGrad: false }),
      },
      ({ logits, labels }) => crossEntropy(logits, labels),
    );
    expect(r.y.shape).toEqual([]);
    expect(r.loss).toBe(r.y);
  });
  it("crossEntropy against probability targets (w.r.t. both)", () => {
    gradCheck(
      { logits: X([2, 3], { low: -2, high: 2 }), t: X([2, 3], { low: 0, high: 1 }) },
      ({ logits, t }) => crossEntropy(logits, t),
    );
  });
  it("crossEntropy's gradient is (softmax − onehot)/N", () => {
    const g = new Graph();
    const logits = g.input("logits", [2, 2], { requiresGrad: true });
    const labels = g.input("labels", [2]);
    const [d] = grad(crossEntropy(logits, labels), [logits]);
    const L3 = Math.log(3);
    // Row 0: p = [¼, ¾], label 1; row 1: p = [¾, ¼], label 0.
    expect(Array.from(evaluate(d, { logits: [0, L3, L3, 0], labels: [1, 0] }))).toEqual(
      [0.125, -0.125, -0.125, 0.125].map((v) => expect.closeTo(v, 12)),
    );
  });
  it("mseLoss, mean and sum (w.r.t. both)", () => {
    gradCheck({ p: X([2, 3]), t: X([2, 3]) }, ({ p, t }) => mseLoss(p, t));
    gradCheck({ p: X([2, 3]), t: X([2, 3]) }, ({ p, t }) => mseLoss(p, t, "sum"));
  });
  it("norm", () => {
    gradCheck({ x: X([2, 3]) }, ({ x }) => norm(x));
  });
  it("linear with and without bias, 2-D and batched input", () => {
    gradCheck({ x: X([2, 3]), W: X([4, 3]), b: X([4]) }, ({ x, W, b }) => linear(x, W, b));
    gradCheck({ x: X([2, 3]), W: X([4, 3]) }, ({ x, W }) => linear(x, W));
    gradCheck({ x: X([2, 2, 3]), W: X([4, 3]), b: X([4]) }, ({ x, W, b }) => linear(x, W, b));
  });
  it("linear with params (values from storage, float32)", () => {
    const g = new Graph({ seed: 3 });
    const init = (v: Float32Array) => {
      for (let i = 0; i < v.length; i++) v[i] = Math.sin(i + 1);
    };
    const W = g.param("W", [2, 3], { init });
    const b = g.param("b", [2], { init });
    const x = g.input("x", [4, 3]);
    const loss = linear(x, W, b).tanh().sum();
    const feeds = { x: Float64Array.from({ length: 12 }, (_, i) => Math.cos(i)) };
    const [dW, db] = grad(loss, [W, b]);
    expect(dW.shape).toEqual([2, 3]);
    expect(db.shape).toEqual([2]);
    gradCheckParams(loss, [W, b], feeds);
  });
});

function gradCheckParams(loss: Tensor, wrt: Tensor[], feeds: Record<string, Float64Array>) {
  const r = assertGradients(loss, wrt, feeds);
  expect(r.ok).toBe(true);
}

describe("fan-out: a tensor used several times accumulates its gradients", () => {
  it("x·x", () => {
    gradCheck({ x: X([2, 3]) }, ({ x }) => x.mul(x));
  });
  it("tanh(x)·x + Σexp(x) broadcast back", () => {
    gradCheck({ x: X([2, 3]) }, ({ x }) => x.tanh().mul(x).add(x.exp().sum()));
  });
  it("x + x.sum(0) + x.mean(1, keepdims)", () => {
    gradCheck({ x: X([2, 3]) }, ({ x }) => x.add(x.sum(0)).add(x.mean(1, true)));
  });
  it("a repeated chain y ← y·x + sin(y)", () => {
    gradCheck({ x: X([3]) }, ({ x }) => {
      let y = x;
      for (let i = 0; i < 6; i++) y = y.mul(x).add(y.sin());
      return y;
    });
  });
  it("two inputs, one feeding the other's branches (a diamond)", () => {
    gradCheck({ a: X([2, 2]), b: X([2]) }, ({ a, b }) => {
      const h = a.add(b).tanh();
      return h.matmul(h).add(h.sigmoid().mul(b)).sub(h.exp().log());
    });
  });
});

describe("the gradient of a leaf the output does not depend on", () => {
  it("is zeros of the leaf's shape", () => {
    const g = new Graph();
    const x = g.input("x", [2, 3], { requiresGrad: true });
    const y = g.input("y", [4], { requiresGrad: true });
    const [dy] = grad(x.exp().sum(), [y]);
    expect(dy.shape).toEqual([4]);
    expect(Array.from(evaluate(dy, { x: [1, 2, 3, 4, 5, 6], y: [1, 2, 3, 4] }))).toEqual([0, 0, 0, 0]);
  });
});
