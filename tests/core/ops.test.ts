/**
 * Values of every op on small hand-checked cases, through the float64 reference interpreter. Inputs are
 * fed (float64) rather than baked in as constants (float32), so that expected values hold to 1e-12.
 */
import {
  abs,
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

const LN2 = Math.log(2);
const LN3 = Math.log(3);

/** Each value equal to the expected one to `digits` decimal places (default 12). */
function expectValues(actual: Float64Array, expected: readonly number[], digits = 12) {
  expect(Array.from(actual)).toEqual(expected.map((e) => expect.closeTo(e, digits)));
}

/** Builds `f` over inputs named a, b, c, … with the given shapes and values; returns the output node and its value. */
function run(
  inputs: Record<string, { shape: number[]; values: number[] }>,
  f: (xs: Record<string, Tensor>, g: Graph) => Tensor,
): { y: Tensor; value: Float64Array } {
  const g = new Graph();
  const xs: Record<string, Tensor> = {};
  const feeds: Record<string, number[]> = {};
  for (const [name, { shape, values }] of Object.entries(inputs)) {
    xs[name] = g.input(name, shape);
    feeds[name] = values;
  }
  const y = f(xs, g);
  return { y, value: evaluate(y, feeds) };
}

function unary(op: (x: Tensor) => Tensor, x: number[], expected: number[], digits = 12) {
  const { y, value } = run({ x: { shape: [x.length], values: x } }, ({ x }) => op(x));
  expect(y.shape).toEqual([x.length]);
  expectValues(value, expected, digits);
}

function binary(
  op: (a: Tensor, b: Tensor) => Tensor,
  a: { shape: number[]; values: number[] },
  b: { shape: number[]; values: number[] },
  shape: number[],
  expected: number[],
) {
  const { y, value } = run({ a, b }, ({ a, b }) => op(a, b));
  expect(y.shape).toEqual(shape);
  expectValues(value, expected);
}

const v = (shape: number[], values: number[]) => ({ shape, values });

describe("elementwise binary ops", () => {
  it("add, sub, mul, div on equal shapes", () => {
    binary(add, v([3], [1, 2, 3]), v([3], [10, 20, 30]), [3], [11, 22, 33]);
    binary(sub, v([2], [5, 7]), v([2], [2, 10]), [2], [3, -3]);
    binary(mul, v([2], [2, 3]), v([2], [4, -5]), [2], [8, -15]);
    binary(div, v([2], [1, 9]), v([2], [4, 3]), [2], [0.25, 3]);
  });

  it("maximum and minimum", () => {
    binary(maximum, v([3], [1, 5, 3]), v([3], [4, 2, 3]), [3], [4, 5, 3]);
    binary(minimum, v([3], [1, 5, 3]), v([3], [4, 2, 3]), [3], [1, 2, 3]);
  });

  it("broadcast [3,1] + [1,4] to [3,4]", () => {
    binary(
      add,
      v([3, 1], [0, 10, 20]),
      v([1, 4], [1, 2, 3, 4]),
      [3, 4],
      [1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24],
    );
  });

  it("broadcast [2,3] - [3] and [3] - [2,3] (a row vector against each row)", () => {
    binary(sub, v([2, 3], [10, 20, 30, 40, 50, 60]), v([3], [1, 2, 3]), [2, 3], [9, 18, 27, 39, 48, 57]);
    binary(
      sub,
      v([3], [1, 2, 3]),
      v([2, 3], [10, 20, 30, 40, 50, 60]),
      [2, 3],
      [-9, -18, -27, -39, -48, -57],
    );
  });

  it("broadcast a scalar against a matrix, and plain numbers lifted to constants", () => {
    binary(mul, v([], [2]), v([2, 2], [1, 2, 3, 4]), [2, 2], [2, 4, 6, 8]);
    binary(div, v([2, 2], [1, 2, 3, 4]), v([], [4]), [2, 2], [0.25, 0.5, 0.75, 1]);
    const { value } = run({ x: v([3], [1, 2, 3]) }, ({ x }) => sub(10, x.mul(2)).add(0.5));
    expectValues(value, [8.5, 6.5, 4.5]);
  });

  it("broadcast [2,1,3] * [4,1] to [2,4,3]", () => {
    const a = [1, 2, 3, 4, 5, 6];
    const b = [1, 10, 100, 1000];
    const expected: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 4; j++) for (let k = 0; k < 3; k++) expected.push(a[i * 3 + k] * b[j]);
    binary(mul, v([2, 1, 3], a), v([4, 1], b), [2, 4, 3], expected);
    expect(expected.slice(0, 6)).toEqual([1, 2, 3, 10, 20, 30]); // the loop above, spelled out
  });
});

describe("elementwise unary ops", () => {
  it("neg, exp, log, sqrt", () => {
    unary(neg, [1, -2, 0], [-1, 2, -0]);
    unary(exp, [0, 1, LN2], [1, Math.E, 2]);
    unary(log, [1, Math.E, 0.25], [0, 1, -1.3862943611198906]);
    unary(sqrt, [4, 9, 2, 0], [2, 3, Math.SQRT2, 0]);
  });

  it("tanh and sigmoid", () => {
    unary(tanh, [0, 0.5, -1], [0, 0.46211715726000974, -0.7615941559557649]);
    unary(sigmoid, [0, LN3, -LN3], [0.5, 0.75, 0.25]);
    unary(sigmoid, [800, -800], [1, 0]); // no overflow to NaN
  });

  it("relu, abs, square", () => {
    unary(relu, [-2, 0, 3], [0, 0, 3]);
    unary(abs, [-2, 0, 3], [2, 0, 3]);
    unary(square, [-3, 0.5, 0], [9, 0.25, 0]);
  });

  it("pow with integer, fractional and negative exponents", () => {
    unary((x) => pow(x, 3), [2, -3, 0.5], [8, -27, 0.125]);
    unary((x) => pow(x, 0.5), [4, 9, 0.25], [2, 3, 0.5]);
    unary((x) => pow(x, -1), [2, -4], [0.5, -0.25]);
    unary((x) => pow(x, 0), [5, -3], [1, 1]);
  });

  it("sin, cos, reciprocal", () => {
    unary(sin, [0, Math.PI / 2, Math.PI / 6], [0, 1, 0.5]);
    unary(cos, [0, Math.PI, Math.PI / 3], [1, -1, 0.5]);
    unary(reciprocal, [2, -4, 0.5], [0.5, -0.25, 2]);
  });

  it("leakyRelu with a given alpha and the default 0.01", () => {
    unary((x) => leakyRelu(x, 0.1), [-2, 3, 0], [-0.2, 3, 0]);
    unary((x) => leakyRelu(x), [-100, 7], [-1, 7]);
  });

  it("softplus = log(1 + e^x), stable for large |x|", () => {
    unary(softplus, [0, LN3, -LN3], [LN2, Math.log(4), Math.log(4 / 3)]);
    unary(softplus, [100, -100, 1000], [100, 3.720075976020836e-44, 1000]);
  });

  it("gelu is the tanh approximation (torch's approximate='tanh')", () => {
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), worked out separately.
    unary(
      gelu,
      [0, 1, -1, 2, 0.5, -3],
      [
        0, 0.8411919906082768, -0.15880800939172324, 1.954597694087775, 0.34571400982514394,
        -0.0036373920817729943,
      ],
    );
  });

  it("stopGradient is the identity on values", () => {
    unary(stopGradient, [1.5, -2], [1.5, -2]);
    unary((x) => x.detach(), [3], [3]);
  });
});

describe("reductions", () => {
  const m = v([2, 3], [1, 2, 3, 4, 5, 6]);

  it("sum over all, axis 0, 1, -1, with and without keepdims", () => {
    const cases: [number | null, boolean, number[], number[]][] = [
      [null, false, [], [21]],
      [null, true, [1, 1], [21]],
      [0, false, [3], [5, 7, 9]],
      [0, true, [1, 3], [5, 7, 9]],
      [1, false, [2], [6, 15]],
      [1, true, [2, 1], [6, 15]],
      [-1, false, [2], [6, 15]],
      [-1, true, [2, 1], [6, 15]],
      [-2, false, [3], [5, 7, 9]],
    ];
    for (const [axis, keepdims, shape, expected] of cases) {
      const { y, value } = run({ x: m }, ({ x }) => sum(x, axis, keepdims));
      expect(y.shape).toEqual(shape);
      expectValues(value, expected);
    }
  });

  it("mean over all, axis 0, 1, -1, with and without keepdims", () => {
    const cases: [number | null, boolean, number[], number[]][] = [
      [null, false, [], [3.5]],
      [null, true, [1, 1], [3.5]],
      [0, false, [3], [2.5, 3.5, 4.5]],
      [1, true, [2, 1], [2, 5]],
      [-1, false, [2], [2, 5]],
    ];
    for (const [axis, keepdims, shape, expected] of cases) {
      const { y, value } = run({ x: m }, ({ x }) => mean(x, axis, keepdims));
      expect(y.shape).toEqual(shape);
      expectValues(value, expected);
    }
  });

  it("max over all, axis 0, 1, -1, with and without keepdims", () => {
    const x = v([2, 3], [1, 5, 3, 4, 2, 6]);
    const cases: [number | null, boolean, number[], number[]][] = [
      [null, false, [], [6]],
      [null, true, [1, 1], [6]],
      [0, false, [3], [4, 5, 6]],
      [0, true, [1, 3], [4, 5, 6]],
      [1, false, [2], [5, 6]],
      [-1, true, [2, 1], [5, 6]],
    ];
    for (const [axis, keepdims, shape, expected] of cases) {
      const { y, value } = run({ x }, ({ x }) => max(x, axis, keepdims));
      expect(y.shape).toEqual(shape);
      expectValues(value, expected);
    }
    const neg = run({ x: v([3], [-5, -2, -9]) }, ({ x }) => max(x));
    expectValues(neg.value, [-2]);
  });

  it("logsumexp over all, axis 0, 1, -1, with and without keepdims", () => {
    // exp of the entries: [[1, 3], [2, 2]].
    const x = v([2, 2], [0, LN3, LN2, LN2]);
    const cases: [number | null, boolean, number[], number[]][] = [
      [null, false, [], [Math.log(8)]],
      [null, true, [1, 1], [Math.log(8)]],
      [0, false, [2], [LN3, Math.log(5)]],
      [1, false, [2], [Math.log(4), Math.log(4)]],
      [-1, true, [2, 1], [Math.log(4), Math.log(4)]],
    ];
    for (const [axis, keepdims, shape, expected] of cases) {
      const { y, value } = run({ x }, ({ x }) => logsumexp(x, axis, keepdims));
      expect(y.shape).toEqual(shape);
      expectValues(value, expected);
    }
  });

  it("logsumexp is stable for large values", () => {
    const { value } = run({ x: v([2], [1000, 1000]) }, ({ x }) => logsumexp(x));
    expectValues(value, [1000 + LN2], 9);
    const small = run({ x: v([2], [-1000, -1000]) }, ({ x }) => logsumexp(x));
    expectValues(small.value, [-1000 + LN2], 9);
  });

  it("reductions of a rank-3 tensor along the middle axis", () => {
    // x[i,j,k] = 100i + 10j + k for a [2,3,2] tensor.
    const vals: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) vals.push(100 * i + 10 * j + k);
    const { y, value } = run({ x: v([2, 3, 2], vals) }, ({ x }) => sum(x, 1, true));
    expect(y.shape).toEqual([2, 1, 2]);
    expectValues(value, [30, 33, 330, 333]);
    const mx = run({ x: v([2, 3, 2], vals) }, ({ x }) => max(x, 1));
    expectValues(mx.value, [20, 21, 120, 121]);
  });
});

describe("matmul", () => {
  const A = v([2, 2], [1, 2, 3, 4]);
  const B = v([2, 2], [5, 6, 7, 8]);

  it("2-D: [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]]", () => {
    binary(matmul, A, B, [2, 2], [19, 22, 43, 50]);
  });

  it("2-D non-square: [2,3]·[3,1]", () => {
    binary(matmul, v([2, 3], [1, 2, 3, 4, 5, 6]), v([3, 1], [1, 0, -1]), [2, 1], [-2, -2]);
  });

  it("batched [b,m,k]·[k,n]: every batch times the same matrix", () => {
    // batch 0 = A, batch 1 = identity.
    binary(matmul, v([2, 2, 2], [1, 2, 3, 4, 1, 0, 0, 1]), B, [2, 2, 2], [19, 22, 43, 50, 5, 6, 7, 8]);
  });

  it("batched [b,m,k]·[b,k,n]: batch by batch", () => {
    // batch 0: A·B; batch 1: A·(2I) = 2A.
    binary(
      matmul,
      v([2, 2, 2], [1, 2, 3, 4, 1, 2, 3, 4]),
      v([2, 2, 2], [5, 6, 7, 8, 2, 0, 0, 2]),
      [2, 2, 2],
      [19, 22, 43, 50, 2, 4, 6, 8],
    );
  });

  it("batched [m,k]·[b,k,n]: the same matrix times every batch", () => {
    binary(matmul, A, v([2, 2, 2], [5, 6, 7, 8, 1, 0, 0, 1]), [2, 2, 2], [19, 22, 43, 50, 1, 2, 3, 4]);
  });
});

describe("layout ops", () => {
  it("transpose of a matrix and of a batch of matrices", () => {
    const { y, value } = run({ x: v([2, 3], [1, 2, 3, 4, 5, 6]) }, ({ x }) => transpose(x));
    expect(y.shape).toEqual([3, 2]);
    expectValues(value, [1, 4, 2, 5, 3, 6]);
    const b = run({ x: v([2, 1, 2], [1, 2, 3, 4]) }, ({ x }) => x.transpose());
    expect(b.y.shape).toEqual([2, 2, 1]);
    expectValues(b.value, [1, 2, 3, 4]);
    const c = run({ x: v([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]) }, ({ x }) => x.transpose());
    expectValues(c.value, [1, 3, 2, 4, 5, 7, 6, 8]);
  });

  it("permute [2,3,4] by [2,0,1]: out[i,j,k] = x[j,k,i]", () => {
    const vals = Array.from({ length: 24 }, (_, i) => i); // x[j,k,i] = 12j + 4k + i
    const { y, value } = run({ x: v([2, 3, 4], vals) }, ({ x }) => permute(x, [2, 0, 1]));
    expect(y.shape).toEqual([4, 2, 3]);
    expectValues(
      value,
      [
        [0, 4, 8, 12, 16, 20],
        [1, 5, 9, 13, 17, 21],
        [2, 6, 10, 14, 18, 22],
        [3, 7, 11, 15, 19, 23],
      ].flat(),
    );
    const negative = run({ x: v([2, 3, 4], vals) }, ({ x }) => permute(x, [-1, 0, 1]));
    expect(negative.y.shape).toEqual([4, 2, 3]);
    expectValues(negative.value, Array.from(value));
  });

  it("reshape, with one dimension inferred from -1", () => {
    const vals = [1, 2, 3, 4, 5, 6];
    const a = run({ x: v([2, 3], vals) }, ({ x }) => reshape(x, [3, -1]));
    expect(a.y.shape).toEqual([3, 2]);
    expectValues(a.value, vals);
    const b = run({ x: v([2, 3], vals) }, ({ x }) => x.reshape([-1]));
    expect(b.y.shape).toEqual([6]);
    const c = run({ x: v([2, 3], vals) }, ({ x }) => x.reshape([1, -1, 2]));
    expect(c.y.shape).toEqual([1, 3, 2]);
    expectValues(c.value, vals);
  });

  it("broadcastTo a row, a column and a scalar", () => {
    const row = run({ x: v([3], [1, 2, 3]) }, ({ x }) => broadcastTo(x, [2, 3]));
    expect(row.y.shape).toEqual([2, 3]);
    expectValues(row.value, [1, 2, 3, 1, 2, 3]);
    const col = run({ x: v([2, 1], [7, 8]) }, ({ x }) => x.broadcastTo([2, 3]));
    expectValues(col.value, [7, 7, 7, 8, 8, 8]);
    const s = run({ x: v([], [5]) }, ({ x }) => x.broadcastTo([2, 2]));
    expectValues(s.value, [5, 5, 5, 5]);
  });

  it("slice along axis 0, 1 and -1", () => {
    const x = v([2, 3], [0, 1, 2, 3, 4, 5]);
    const a = run({ x }, ({ x }) => slice(x, 1, 3, 1));
    expect(a.y.shape).toEqual([2, 2]);
    expectValues(a.value, [1, 2, 4, 5]);
    const b = run({ x }, ({ x }) => x.slice(1, 2));
    expect(b.y.shape).toEqual([1, 3]);
    expectValues(b.value, [3, 4, 5]);
    const c = run({ x }, ({ x }) => x.slice(0, 1, -1));
    expectValues(c.value, [0, 3]);
    const empty = run({ x }, ({ x }) => x.slice(2, 2, 1));
    expect(empty.y.shape).toEqual([2, 0]);
  });

  it("concat along axis 0 and 1", () => {
    const a = run({ a: v([1, 2], [1, 2]), b: v([2, 2], [3, 4, 5, 6]) }, ({ a, b }) => concat([a, b], 0));
    expect(a.y.shape).toEqual([3, 2]);
    expectValues(a.value, [1, 2, 3, 4, 5, 6]);
    const b = run({ a: v([2, 1], [1, 2]), b: v([2, 2], [3, 4, 5, 6]), c: v([2, 1], [7, 8]) }, ({ a, b, c }) =>
      concat([a, b, c], -1),
    );
    expect(b.y.shape).toEqual([2, 4]);
    expectValues(b.value, [1, 3, 4, 7, 2, 5, 6, 8]);
  });
});

describe("neural ops", () => {
  it("softmax along the last axis and along axis 0", () => {
    const a = run({ x: v([2, 2], [0, LN3, LN2, LN2]) }, ({ x }) => softmax(x));
    expectValues(a.value, [0.25, 0.75, 0.5, 0.5]);
    // Columns: exp = [1, 2] and [3, 2].
    const b = run({ x: v([2, 2], [0, LN3, LN2, LN2]) }, ({ x }) => x.softmax(0));
    expectValues(b.value, [1 / 3, 0.6, 2 / 3, 0.4]);
    const big = run({ x: v([2], [1000, 1000 + LN3]) }, ({ x }) => softmax(x));
    expectValues(big.value, [0.25, 0.75], 9);
  });

  it("logSoftmax", () => {
    const a = run({ x: v([2], [0, LN3]) }, ({ x }) => logSoftmax(x));
    expectValues(a.value, [-1.3862943611198906, -0.2876820724517809]);
    const b = run({ x: v([2], [1000, 1000 + LN3]) }, ({ x }) => x.logSoftmax());
    expectValues(b.value, [-1.3862943611198906, -0.2876820724517809], 9);
  });

  it("crossEntropy against class indices: the mean of −log p[label]", () => {
    // Row 0: p = [1/4, 3/4], label 1 → −log(3/4); row 1: p = [3/4, 1/4], label 1 → −log(1/4).
    const { y, value } = run(
      { logits: v([2, 2], [0, LN3, LN3, 0]), labels: v([2], [1, 1]) },
      ({ logits, labels }) => crossEntropy(logits, labels),
    );
    expect(y.shape).toEqual([]);
    expectValues(value, [(Math.log(4 / 3) + Math.log(4)) / 2]);
    expectValues(value, [0.8369882167858357]);
    const other = run(
      { logits: v([2, 3], [0, 0, 0, 1, 2, 3]), labels: v([2], [2, 0]) },
      ({ logits, labels }) => crossEntropy(logits, labels),
    );
    // Row 0: uniform → log 3; row 1: −log(e/(e+e²+e³)) = log(1 + e + e²).
    expectValues(other.value, [(LN3 + Math.log(1 + Math.E + Math.E ** 2)) / 2]);
  });

  it("crossEntropy against probability targets: the mean of −Σ t·log p", () => {
    const { value } = run(
      { logits: v([2, 2], [0, LN3, LN3, 0]), t: v([2, 2], [0.5, 0.5, 1, 0]) },
      ({ logits, t }) => crossEntropy(logits, t),
    );
    // Row 0: −(½·log ¼ + ½·log ¾); row 1: −log ¾.
    expectValues(value, [0.5623351446188083]);
  });

  it("mseLoss with mean and sum reductions", () => {
    const inputs = { p: v([3], [1, 2, 3]), t: v([3], [1, 0, 6]) };
    expectValues(run(inputs, ({ p, t }) => mseLoss(p, t)).value, [13 / 3]);
    expectValues(run(inputs, ({ p, t }) => mseLoss(p, t, "mean")).value, [13 / 3]);
    expectValues(run(inputs, ({ p, t }) => mseLoss(p, t, "sum")).value, [13]);
    const m = run({ p: v([2, 2], [1, 2, 3, 4]), t: v([2, 2], [0, 0, 0, 0]) }, ({ p, t }) => mseLoss(p, t));
    expectValues(m.value, [7.5]);
  });

  it("norm is the L2 norm of all elements", () => {
    expectValues(run({ x: v([2], [3, 4]) }, ({ x }) => norm(x)).value, [5]);
    expectValues(run({ x: v([2, 2], [1, 2, 2, 4]) }, ({ x }) => x.norm()).value, [5]);
  });

  it("linear is x·Wᵀ + b with W [out, in]", () => {
    const { y, value } = run(
      { x: v([2, 2], [1, 2, 3, 4]), W: v([3, 2], [1, 0, 0, 1, 1, 1]), b: v([3], [10, 20, 30]) },
      ({ x, W, b }) => linear(x, W, b),
    );
    expect(y.shape).toEqual([2, 3]);
    expectValues(value, [11, 22, 33, 13, 24, 37]);
    const noBias = run({ x: v([1, 2], [1, 2]), W: v([3, 2], [1, 0, 0, 1, 1, 1]) }, ({ x, W }) =>
      linear(x, W),
    );
    expectValues(noBias.value, [1, 2, 3]);
  });
});

describe("op functions and Tensor methods", () => {
  it("build the same nodes", () => {
    const g = new Graph();
    const x = g.input("x", [2, 3]);
    const pairs: [Tensor, Tensor][] = [
      [x.exp(), exp(x)],
      [x.pow(2), pow(x, 2)],
      [x.sum(1, true), sum(x, 1, true)],
      [x.max(0), max(x, 0)],
      [x.softmax(), softmax(x, -1)],
      [x.leakyRelu(0.2), leakyRelu(x, 0.2)],
    ];
    for (const [a, b] of pairs) {
      expect(a.op).toBe(b.op);
      expect(a.attrs).toEqual(b.attrs);
      expect(a.shape).toEqual(b.shape);
    }
  });
});
