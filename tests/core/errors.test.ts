/**
 * Bad input fails early with a message that says what is wrong: shape errors name the op and both
 * shapes, feed errors name the input and its shape, non-finite attributes and axes out of range are
 * refused at graph-build time, crossEntropy labels are checked wherever they are fed.
 */
import {
  concat,
  crossEntropy,
  evaluate,
  Graph,
  linear,
  matmul,
  mseLoss,
  ShapeError,
  step,
  sum,
  type Tensor,
} from "adjoint";
import { describe, expect, it } from "vitest";

function graph() {
  const g = new Graph();
  return { g, x: g.input("x", [2, 3]) };
}

describe("shape mismatches name the op and both shapes", () => {
  it("matmul [64,784] x [128,784]: inner dimensions, and a hint to transpose", () => {
    const g = new Graph();
    const x = g.input("x", [64, 784]);
    const W = g.param("W", [128, 784]);
    const f = () => matmul(x, W);
    expect(f).toThrow(ShapeError);
    expect(f).toThrow(/^matmul: inner dimensions differ: \[64,784\] x \[128,784\]: 784 vs 128/);
    expect(f).toThrow(/transpose/);
    // The hint fits the mistake: x·Wᵀ works.
    expect(matmul(x, W.transpose()).shape).toEqual([64, 128]);
  });

  it("matmul without a transpose hint when transposing would not help", () => {
    const g = new Graph();
    const f = () => matmul(g.input("a", [2, 3]), g.input("b", [4, 5]));
    expect(f).toThrow(/matmul: inner dimensions differ: \[2,3\] x \[4,5\]: 3 vs 4/);
    expect(f).not.toThrow(/transpose/);
  });

  it("matmul of a vector, and of batches of different sizes", () => {
    const g = new Graph();
    expect(() => matmul(g.input("a", [3, 2]), g.input("v", [2]))).toThrow(
      /matmul: operands must be 2-D \(or 3-D for a batched product\): \[3,2\] x \[2\]/,
    );
    expect(() => matmul(g.input("p", [2, 3, 3]), g.input("q", [4, 3, 3]))).toThrow(
      /matmul: batch sizes differ \(2 vs 4\): \[2,3,3\] x \[4,3,3\]/,
    );
  });

  it("elementwise ops: shapes that cannot be broadcast together", () => {
    const { g, x } = graph();
    const y = g.input("y", [4]);
    for (const [op, f] of [
      ["add", () => x.add(y)],
      ["sub", () => x.sub(y)],
      ["mul", () => x.mul(y)],
      ["div", () => y.div(x)],
      ["maximum", () => x.maximum(y)],
    ] as const) {
      expect(f).toThrow(ShapeError);
      expect(f).toThrow(
        new RegExp(`^${op}: shapes \\[(2,3|4)\\] and \\[(4|2,3)\\] cannot be broadcast together`),
      );
    }
    expect(() => g.input("a", [3, 2]).add(g.input("b", [2, 3]))).toThrow(
      /add: shapes \[3,2\] and \[2,3\] cannot be broadcast together \(dimension 0 of the result: 3 vs 2/,
    );
  });

  it("broadcastTo a shape the tensor does not broadcast to", () => {
    const { x } = graph();
    expect(() => x.broadcastTo([3, 3])).toThrow(/broadcastTo: \[2,3\] cannot be broadcast to \[3,3\]/);
    expect(() => x.broadcastTo([3])).toThrow(/broadcastTo: \[2,3\] cannot be broadcast to \[3\]/);
  });

  it("reshape to a different number of elements, or with two -1", () => {
    const { x } = graph();
    expect(() => x.reshape([4, 2])).toThrow(
      /reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,2\] \(8 elements\)/,
    );
    expect(() => x.reshape([-1, -1])).toThrow(/reshape: at most one dimension may be -1, got \[-1,-1\]/);
    expect(() => x.reshape([4, -1])).toThrow(/reshape: cannot reshape \[2,3\] to \[4,-1\]/);
  });

  it("concat of shapes that differ outside the axis", () => {
    const { g, x } = graph();
    expect(() => concat([x, g.input("y", [2, 4])], 0)).toThrow(
      /concat: shapes \[2,3\], \[2,4\] differ outside axis 0/,
    );
    expect(() => concat([x, g.input("z", [3])], 0)).toThrow(/concat: shapes \[2,3\], \[3\]/);
    expect(() => concat([])).toThrow(/concat: needs at least one tensor/);
  });

  it("mseLoss, linear and crossEntropy with mismatched shapes", () => {
    const { g, x } = graph();
    expect(() => mseLoss(x, g.input("t", [3, 2]))).toThrow(
      /mseLoss: prediction \[2,3\] and target \[3,2\] must have the same shape/,
    );
    expect(() => mseLoss(x, x, "max" as "sum")).toThrow(
      /mseLoss: reduction must be "mean" or "sum", got "max"/,
    );
    expect(() => linear(x, g.param("W", [4, 2]))).toThrow(
      /linear: input \[2,3\] does not fit weight \[4,2\]/,
    );
    expect(() => linear(x, g.param("W2", [4, 3]), g.param("b", [3]))).toThrow(
      /linear: bias must be \[4\], got \[3\]/,
    );
    expect(() => crossEntropy(x, g.input("l", [3]))).toThrow(
      /crossEntropy: labels must be class indices \[2\] or probabilities \[2,3\] for logits \[2,3\], got \[3\]/,
    );
    expect(() => crossEntropy(g.input("flat", [6]), g.input("l2", [6]))).toThrow(
      /crossEntropy: logits must be \[N,C\], got \[6\]/,
    );
  });

  it("transpose of a vector, permute with a bad permutation", () => {
    const { g, x } = graph();
    expect(() => g.input("v", [3]).transpose()).toThrow(/transpose: needs a 2-D tensor, got \[3\]/);
    expect(() => x.permute([0, 0])).toThrow(/permute: \[0,0\] is not a permutation of the 2 axes of \[2,3\]/);
    expect(() => x.permute([0])).toThrow(/permute: \[0\] is not a permutation/);
  });

  it("slice ranges outside the axis", () => {
    const { x } = graph();
    expect(() => x.slice(0, 4, 1)).toThrow(/slice: \[0, 4\) is not a range within axis 1 of \[2,3\]/);
    expect(() => x.slice(2, 1, 1)).toThrow(/slice: \[2, 1\) is not a range/);
    expect(() => x.slice(-1, 1, 1)).toThrow(/slice: \[-1, 1\) is not a range/);
    expect(() => x.slice(0.5, 1, 1)).toThrow(/slice: \[0.5, 1\) is not a range/);
  });

  it("invalid shapes of leaves", () => {
    const g = new Graph();
    expect(() => g.input("a", [-1, 2])).toThrow(
      /input: invalid shape \[-1,2\]: dimensions must be whole numbers >= 0/,
    );
    expect(() => g.param("b", [1.5])).toThrow(/param: invalid shape \[1.5\]/);
    expect(() => g.constant([1, 2, 3], [2, 2])).toThrow(
      /constant: 3 values given for shape \[2,2\] \(expected 4\)/,
    );
  });

  it("duplicate and missing leaf names", () => {
    const g = new Graph();
    g.input("x", [2]);
    expect(() => g.input("x", [3])).toThrow(/the graph already has a leaf named "x"/);
    expect(() => g.param("x", [3])).toThrow(/the graph already has a leaf named "x"/);
    expect(() => g.param("", [3])).toThrow(/param: a name is required/);
    expect(() => g.get("W")).toThrow(/graph: no input, param or buffer named "W"/);
  });
});

describe("axes out of range", () => {
  it("reductions, softmax, slice and concat refuse an axis outside the tensor's rank, naming op and shape", () => {
    const { g, x } = graph();
    const cases: [RegExp, () => Tensor][] = [
      [/^sum: axis 2 is out of range for shape \[2,3\] \(rank 2: expected -2 <= axis < 2\)/, () => x.sum(2)],
      [/^sum: axis -3 is out of range for shape \[2,3\]/, () => sum(x, -3)],
      [/^mean: axis 2 is out of range for shape \[2,3\]/, () => x.mean(2)],
      [/^max: axis 5 is out of range for shape \[2,3\]/, () => x.max(5, true)],
      [/^logsumexp: axis -4 is out of range for shape \[2,3\]/, () => x.logsumexp(-4)],
      [/axis 2 is out of range for shape \[2,3\]/, () => x.softmax(2)],
      [/axis -3 is out of range for shape \[2,3\]/, () => x.logSoftmax(-3)],
      [/^slice: axis 2 is out of range for shape \[2,3\]/, () => x.slice(0, 1, 2)],
      [/^concat: axis 2 is out of range for shape \[2,3\]/, () => concat([x, x], 2)],
      [/^permute: axis 2 is out of range for shape \[2,3\]/, () => x.permute([2, 0])],
      [/^sum: axis 1.5 is out of range/, () => x.sum(1.5)],
    ];
    for (const [message, f] of cases) {
      expect(f).toThrow(ShapeError);
      expect(f).toThrow(message);
    }
    expect(g.nodes.length).toBe(1); // nothing was added
  });

  it("a 0-d tensor: axis 0 and axis -1 are treated alike (torch wraps both for 0-d tensors)", () => {
    const g = new Graph();
    const s = g.input("s", []);
    let zero: unknown;
    let minusOne: unknown;
    try {
      zero = evaluate(sum(s, 0), { s: [3] })[0];
    } catch (e) {
      zero = e instanceof Error ? "error" : e;
    }
    try {
      minusOne = evaluate(sum(s, -1), { s: [3] })[0];
    } catch (e) {
      minusOne = e instanceof Error ? "error" : e;
    }
    expect(zero).toBe(minusOne);
  });

  it("mean of a 0-d tensor over axis 0 works as sum, max and logsumexp do (the value itself)", () => {
    const g = new Graph();
    const s = g.input("s", []);
    const feeds = { s: [3] };
    expect(evaluate(s.sum(0), feeds)[0]).toBe(3);
    expect(evaluate(s.max(0), feeds)[0]).toBe(3);
    expect(evaluate(s.logsumexp(0), feeds)[0]).toBe(3);
    expect(evaluate(s.mean(0), feeds)[0]).toBe(3);
  });

  it("mean over an empty axis", () => {
    const g = new Graph();
    expect(() => g.input("z", [0, 3]).mean(0)).toThrow(/mean: reducing \[0,3\] over an empty axis/);
  });
});

describe("non-finite attributes and constants are refused", () => {
  it("pow(NaN), pow(Infinity), leakyRelu(Infinity), step(NaN)", () => {
    const { x } = graph();
    expect(() => x.pow(Number.NaN)).toThrow(/^pow: the exponent must be a finite number, got NaN/);
    expect(() => x.pow(Number.POSITIVE_INFINITY)).toThrow(
      /pow: the exponent must be a finite number, got Infinity/,
    );
    expect(() => x.leakyRelu(Number.POSITIVE_INFINITY)).toThrow(
      /leakyRelu: alpha must be a finite number, got Infinity/,
    );
    expect(() => step(x, Number.NaN)).toThrow(/step: at0 must be a finite number, got NaN/);
  });

  it("NaN or Infinity as an operand, a constant, a buffer fill or an initial value", () => {
    const { g, x } = graph();
    expect(() => x.add(Number.NaN)).toThrow(/NaN is not a finite number/);
    expect(() => x.mul(Number.NEGATIVE_INFINITY)).toThrow(/-Infinity is not a finite number/);
    expect(() => g.scalar(Number.NaN)).toThrow(/constant: NaN is not a finite number/);
    expect(() => g.constant([1, Number.NaN], [2])).toThrow(/initial value \[1\] = NaN is not finite/);
    expect(() => g.buffer("m", [2], Number.NaN)).toThrow(/buffer "m": fill value NaN is not finite/);
    expect(() => g.param("W", [2], { init: (v) => v.fill(Number.POSITIVE_INFINITY) })).toThrow(
      /param W: initial value \[0\] = Infinity is not finite/,
    );
  });

  it("non-finite numeric attributes given directly to addNode", () => {
    const { g, x } = graph();
    expect(() => g.addNode("pow", [x], { p: Number.NaN })).toThrow(
      /pow: attribute p = NaN is not a finite number/,
    );
  });
});

describe("feeds", () => {
  function model() {
    const g = new Graph();
    const x = g.input("x", [2, 3]);
    const W = g.param("W", [3]);
    return { g, x, W, y: x.mul(W).sum() };
  }

  it("an unknown feed name lists the graph's inputs", () => {
    const { y } = model();
    expect(() => evaluate(y, { x: [1, 2, 3, 4, 5, 6], X: [1] })).toThrow(
      /evaluate: unknown feed "X" \(the graph's inputs are: "x"\)/,
    );
  });

  it("a missing feed names the input and its shape", () => {
    const { y } = model();
    expect(() => evaluate(y, {})).toThrow(/evaluate: missing feed for input "x" \[2,3\]/);
    expect(() => evaluate(y)).toThrow(/missing feed for input "x" \[2,3\]/);
  });

  it("a feed of the wrong length names the input, its shape and both lengths", () => {
    const { y } = model();
    const f = () => evaluate(y, { x: [1, 2, 3, 4, 5] });
    expect(f).toThrow(RangeError);
    expect(f).toThrow(/evaluate: the feed for input "x" \[2,3\] has 5 values, expected 6/);
    expect(() => evaluate(y, { x: new Float32Array(7) })).toThrow(/has 7 values, expected 6/);
    expect(() => evaluate(y, { x: [1, 2, 3, 4, 5, 6], W: [1, 2] })).toThrow(
      /the feed for param "W" \[3\] has 2 values, expected 3/,
    );
  });

  it("a feed that is not an array of numbers", () => {
    const { y } = model();
    expect(() => evaluate(y, { x: "abc" as unknown as number[] })).toThrow(
      /the feed for input "x" \[2,3\] must be a Float32Array or an array of numbers, got string/,
    );
    expect(() => evaluate(y, { x: [1, 2, 3, 4, 5, "6"] as unknown as number[] })).toThrow(
      /the feed for input "x" \[2,3\] has a non-number at \[5\]: string/,
    );
  });

  it("accepts number arrays, Float32Array and Float64Array", () => {
    const { y } = model();
    const vals = [1, 2, 3, 4, 5, 6];
    expect(evaluate(y, { x: vals })[0]).toBe(0);
    expect(evaluate(y, { x: Float32Array.from(vals), W: [1, 1, 1] })[0]).toBe(21);
    expect(evaluate(y, { x: Float64Array.from(vals), W: [1, 0, 0] })[0]).toBe(5);
  });

  it("evaluate with no outputs, or a non-Tensor output", () => {
    expect(() => evaluate([])).toThrow(/evaluate: no outputs given/);
    expect(() => evaluate([3 as unknown as Tensor])).toThrow(TypeError);
  });
});

describe("crossEntropy labels must be class indices", () => {
  function model() {
    const g = new Graph();
    const logits = g.input("logits", [2, 3]);
    const labels = g.input("labels", [2]);
    return { loss: crossEntropy(logits, labels), logits: [0, 1, 2, 2, 1, 0] };
  }
  for (const [bad, shown] of [
    [0.5, "0.5"],
    [3, "3"],
    [-1, "-1"],
    [Number.NaN, "NaN"],
    [1e-9, "1e-9"],
  ] as const) {
    it(`evaluate refuses label ${shown} with a clear message`, () => {
      const { loss, logits } = model();
      const f = () => evaluate(loss, { logits, labels: [1, bad] });
      expect(f).toThrow(RangeError);
      expect(f).toThrow(
        new RegExp(
          `evaluate: crossEntropy label ${shown.replace(".", "\\.")} at \\[1\\] of input "labels" is not a class index \\(a whole number in \\[0, 3\\)\\)`,
        ),
      );
    });
  }
  it("accepts every class in [0, C)", () => {
    const { loss, logits } = model();
    for (const labels of [
      [0, 1],
      [2, 2],
      [1, 0],
    ]) {
      expect(Number.isFinite(evaluate(loss, { logits, labels })[0])).toBe(true);
    }
  });
});

describe("operands from two different graphs", () => {
  it("are refused by every op that combines tensors, and by evaluate", () => {
    const g1 = new Graph();
    const g2 = new Graph();
    const a = g1.input("a", [2, 2]);
    const b = g2.input("b", [2, 2]);
    expect(() => a.add(b)).toThrow(/add: operands belong to different graphs \(input "b" %0 \[2,2\]\)/);
    expect(() => matmul(a, b)).toThrow(/matmul: operands belong to different graphs/);
    expect(() => concat([a, b])).toThrow(/concat: operands belong to different graphs/);
    expect(() => mseLoss(a, b)).toThrow(/operands belong to different graphs/);
    expect(() => evaluate([a.exp(), b.exp()], { a: [1, 2, 3, 4] })).toThrow(
      /evaluate: the outputs belong to different graphs/,
    );
  });

  it("are refused for a non-Tensor operand with a type error", () => {
    const { x } = graph();
    expect(() => x.add("1" as unknown as number)).toThrow(TypeError);
    expect(() => x.matmul({} as Tensor)).toThrow(TypeError);
  });
});
