/**
 * Every op, compiled (float32) vs the float64 interpreter: forward values and the gradients of a scalar
 * loss with respect to every leaf, under each compile configuration (fusion on, fusion off, simplify and
 * CSE off). See differential.ts for the loss and the tolerance.
 */
import {
  add,
  concat,
  crossEntropy,
  defineElementwise,
  div,
  equal,
  grad,
  linear,
  logSoftmax,
  maximum,
  minimum,
  mseLoss,
  mul,
  norm,
  pad,
  softmax,
  step,
  sub,
  type Tensor,
} from "adjoint";
import { describe, expect, it } from "vitest";
import { CaseBuilder, compareOutputs, type DiffOptions, differential } from "./differential";

interface OpCase {
  name: string;
  build: (c: CaseBuilder) => Tensor;
  options?: DiffOptions;
}

function run(cases: readonly OpCase[]) {
  for (const oc of cases) {
    it(oc.name, () => {
      const c = new CaseBuilder(7);
      const y = oc.build(c);
      const report = differential(c, y, oc.options);
      if (process.env.DIFF_LOG) console.log(`WORST ${report.worst.toExponential(2)} ${oc.name}`);
      expect(report.failures.length, report.message).toBe(0);
    });
  }
}

const KINK = { low: -2, high: 2, minAbs: 0.1 };
const POSITIVE = { low: 0.2, high: 3 };

describe("elementwise unary ops", () => {
  const smooth: [string, (x: Tensor) => Tensor][] = [
    ["neg", (x) => x.neg()],
    ["exp", (x) => x.exp()],
    ["tanh", (x) => x.tanh()],
    ["sigmoid", (x) => x.sigmoid()],
    ["square", (x) => x.square()],
    ["sin", (x) => x.sin()],
    ["cos", (x) => x.cos()],
    ["softplus", (x) => x.softplus()],
    ["gelu", (x) => x.gelu()],
    ["pow 2", (x) => x.pow(2)],
    ["pow 3", (x) => x.pow(3)],
  ];
  const kinked: [string, (x: Tensor) => Tensor][] = [
    ["relu", (x) => x.relu()],
    ["abs", (x) => x.abs()],
    ["flushSubnormal", (x) => x.flushSubnormal()],
    ["leakyRelu", (x) => x.leakyRelu(0.1)],
    // sign and step have no gradient: multiplied by x, so that the product has one (sign(x)·x = |x|).
    ["sign (times x)", (x) => x.sign().mul(x)],
    ["step (times x)", (x) => step(x, 0.5).mul(x)],
  ];
  const positive: [string, (x: Tensor) => Tensor][] = [
    ["log", (x) => x.log()],
    ["sqrt", (x) => x.sqrt()],
    ["reciprocal", (x) => x.reciprocal()],
    ["pow 0.5", (x) => x.pow(0.5)],
    ["pow -1.5", (x) => x.pow(-1.5)],
    ["pow 1.5", (x) => x.pow(1.5)],
  ];
  run([
    ...smooth.map(([name, f]) => ({
      name,
      build: (c: CaseBuilder) => f(c.x("x", [3, 4], { low: -2, high: 2 })),
    })),
    ...kinked.map(([name, f]) => ({ name, build: (c: CaseBuilder) => f(c.x("x", [3, 4], KINK)) })),
    ...positive.map(([name, f]) => ({ name, build: (c: CaseBuilder) => f(c.x("x", [3, 4], POSITIVE)) })),
  ]);
});

describe("elementwise binary ops, with broadcasting", () => {
  const ops: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ["add", add],
    ["sub", sub],
    ["mul", mul],
    ["div", div],
    ["maximum", maximum],
    ["minimum", minimum],
  ];
  const shapes: [string, number[], number[]][] = [
    ["[3,4] and [3,4]", [3, 4], [3, 4]],
    ["[3,1] and [1,4]", [3, 1], [1, 4]],
    ["[2,3] and [3]", [2, 3], [3]],
    ["[3] and [2,3]", [3], [2, 3]],
    ["scalar [] and [3,4]", [], [3, 4]],
    ["[3,4] and scalar []", [3, 4], []],
  ];
  const cases: OpCase[] = [];
  for (const [opName, f] of ops) {
    for (const [shapeName, sa, sb] of shapes) {
      cases.push({
        name: `${opName} ${shapeName}`,
        build: (c) => {
          // Operands drawn from disjoint ranges where the op has a tie or a pole: no tie, no division by ~0.
          const a = c.x("a", sa, { low: -2, high: 2 });
          const b = c.x("b", sb, opName === "div" ? POSITIVE : { low: -2, high: 2 });
          return f(a, b);
        },
      });
    }
  }
  cases.push(
    { name: "a tensor plus a number (lifted constant)", build: (c) => c.x("x", [3, 4]).add(2.5) },
    { name: "a number minus a tensor", build: (c) => sub(2, c.x("x", [3, 4])) },
    { name: "a number divided by a tensor", build: (c) => div(3, c.x("x", [2, 3], POSITIVE)) },
    {
      name: "a tensor times a number, then maximum with a number",
      build: (c) => maximum(c.x("x", [4, 3], KINK).mul(-1.5), 0.25),
    },
    {
      name: "equal (no gradient) as a mask, times a",
      build: (c) => {
        const a = c.x("a", [3, 4], { values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] });
        const b = c.data("b", [3, 4], { values: [1, 0, 3, 0, 5, 0, 7, 0, 0, 10, 0, 12] });
        return equal(a, b).mul(a);
      },
    },
    {
      name: "a chain of same-shape and broadcast ops (one fused loop)",
      build: (c) => {
        const x = c.x("x", [4, 5]);
        const r = c.x("r", [4, 1]);
        const s = c.x("s", [5]);
        return x.mul(r).add(s).tanh().mul(x).sub(s.square());
      },
    },
  );
  run(cases);
});

// Loops of at least WASM_ELEMENTWISE_MIN (256) elements run in the wasm SIMD kernels of
// codegen/wasm-elementwise.ts: 33×31 = 1,023 elements, 3 of them in the kernel's one-lane tail.
describe("elementwise ops over large loops (wasm SIMD kernels), with broadcasting", () => {
  const large = [33, 31];
  const unary: [string, (x: Tensor) => Tensor, { low: number; high: number }][] = [
    ["neg", (x) => x.neg(), KINK],
    ["square", (x) => x.square(), KINK],
    ["relu", (x) => x.relu(), KINK],
    ["abs", (x) => x.abs(), KINK],
    ["flushSubnormal", (x) => x.flushSubnormal(), KINK],
    ["leakyRelu", (x) => x.leakyRelu(0.1), KINK],
    ["step (times x)", (x) => step(x, 0.5).mul(x), KINK],
    ["sqrt", (x) => x.sqrt(), POSITIVE],
    ["reciprocal", (x) => x.reciprocal(), POSITIVE],
  ];
  const binary: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ["add", add],
    ["sub", sub],
    ["mul", mul],
    ["div", div],
    ["maximum", maximum],
    ["minimum", minimum],
  ];
  const shapes: [string, number[], number[]][] = [
    ["[33,31] and [33,31]", large, large],
    ["[33,31] and scalar []", large, []],
    ["[1] and [33,31]", [1], large],
  ];
  run([
    ...unary.map(([name, f, range]) => ({ name, build: (c: CaseBuilder) => f(c.x("x", large, range)) })),
    ...binary.flatMap(([opName, f]) =>
      shapes.map(([shapeName, sa, sb]) => ({
        name: `${opName} ${shapeName}`,
        build: (c: CaseBuilder) =>
          f(
            c.x("a", sa, { low: -2, high: 2 }),
            c.x("b", sb, opName === "div" ? POSITIVE : { low: -2, high: 2 }),
          ),
      })),
    ),
    {
      name: "a fused chain: sqrt(max(a·b, 0.1) + |a|) / (b − 2·a) + equal(a, a)",
      build: (c) => {
        const a = c.x("a", large, { low: -2, high: 2 });
        const b = c.x("b", large, { low: 5, high: 6 });
        return a
          .mul(b)
          .maximum(0.1)
          .add(a.abs())
          .sqrt()
          .div(b.sub(a.mul(2)))
          .add(equal(a, a));
      },
    },
  ]);
});

describe("reductions: sum, mean, max, logsumexp over every axis, with and without keepdims", () => {
  const cases: OpCase[] = [];
  const reducers: [string, (x: Tensor, axis: number | null, keep: boolean) => Tensor][] = [
    ["sum", (x, a, k) => x.sum(a, k)],
    ["mean", (x, a, k) => x.mean(a, k)],
    ["max", (x, a, k) => x.max(a, k)],
    ["logsumexp", (x, a, k) => x.logsumexp(a, k)],
  ];
  for (const [name, f] of reducers) {
    for (const axis of [null, 0, 1, -1]) {
      for (const keep of [false, true]) {
        cases.push({
          name: `${name} of [3,4], axis ${axis}, keepdims ${keep}`,
          build: (c) => f(c.x("x", [3, 4], { low: -3, high: 3 }), axis, keep),
        });
      }
    }
    for (const axis of [1, 0, 2]) {
      for (const keep of [false, true]) {
        cases.push({
          name: `${name} of [2,3,5], axis ${axis}, keepdims ${keep}`,
          build: (c) => f(c.x("x", [2, 3, 5], { low: -3, high: 3 }), axis, keep),
        });
      }
    }
    cases.push({
      name: `${name} of all-negative values, axis 1`,
      build: (c) => f(c.x("x", [3, 4], { low: -5, high: -0.5 }), 1, false),
    });
    cases.push({
      name: `${name} of all-negative values, all axes`,
      build: (c) => f(c.x("x", [2, 3], { low: -5, high: -0.5 }), null, false),
    });
    cases.push({
      name: `${name} of an elementwise prologue (fused into the reduction)`,
      build: (c) =>
        f(
          c
            .x("x", [6, 7])
            .mul(c.x("w", [7]))
            .tanh(),
          1,
          false,
        ),
    });
  }
  run(cases);
});

describe("matmul in every orientation and odd sizes", () => {
  type Orient = "A·B" | "Aᵀ·B" | "A·Bᵀ" | "Aᵀ·Bᵀ";
  const orients: Orient[] = ["A·B", "Aᵀ·B", "A·Bᵀ", "Aᵀ·Bᵀ"];
  const sizes: [number, number, number][] = [
    [1, 1, 1],
    [3, 5, 7],
    [127, 129, 65],
    [64, 784, 128],
  ];
  const cases: OpCase[] = [];
  for (const [m, k, n] of sizes) {
    for (const o of orients) {
      cases.push({
        name: `${o}, m×k×n = ${m}×${k}×${n}`,
        build: (c) => {
          const ta = o === "Aᵀ·B" || o === "Aᵀ·Bᵀ";
          const tb = o === "A·Bᵀ" || o === "Aᵀ·Bᵀ";
          const a = c.x("a", ta ? [k, m] : [m, k]);
          const b = c.param("b", tb ? [n, k] : [k, n]);
          return (ta ? a.transpose() : a).matmul(tb ? b.transpose() : b);
        },
      });
    }
  }
  cases.push(
    {
      name: "batched [b,m,k]×[k,n] (2×5×6×3)",
      build: (c) => c.x("a", [2, 5, 6]).matmul(c.param("b", [6, 3])),
    },
    {
      name: "batched [b,m,k]×[b,k,n] (3×4×5×6)",
      build: (c) => c.x("a", [3, 4, 5]).matmul(c.x("b", [3, 5, 6])),
    },
    {
      name: "batched [m,k]×[b,k,n] (4×5, 2×5×3)",
      build: (c) => c.param("a", [4, 5]).matmul(c.x("b", [2, 5, 3])),
    },
    {
      name: "batched with transposed operands [b,k,m]ᵀ×[b,n,k]ᵀ (2×7×5, 2×6×7)",
      build: (c) =>
        c
          .x("a", [2, 7, 5])
          .transpose()
          .matmul(c.x("b", [2, 6, 7]).transpose()),
    },
    {
      name: "batched odd sizes [3,33,17]×[17,9]",
      build: (c) => c.x("a", [3, 33, 17]).matmul(c.param("b", [17, 9])),
    },
    {
      name: "matmul with a fused epilogue: tanh(x·w + b)",
      build: (c) =>
        c
          .x("x", [8, 4])
          .matmul(c.param("w", [4, 3]))
          .add(c.param("b", [3]))
          .tanh(),
    },
    {
      name: "a chain of matmuls (x·W1)·W2 with relu between",
      build: (c) =>
        c
          .x("x", [9, 6], KINK)
          .matmul(c.param("W1", [6, 10]))
          .relu()
          .matmul(c.param("W2", [10, 4])),
    },
  );
  run(cases);

  // grad(sum(A·B)): the cotangent of A·B is the constant 1 (or 1/(m·n) for a mean) broadcast to [m,n],
  // and it is an operand of both gradient matmuls. Compared directly (no weighting of the loss).
  for (const [name, reduce] of [
    ["sum", (t: Tensor) => t.sum()],
    ["mean", (t: Tensor) => t.mean()],
  ] as const) {
    for (const [m, k, n] of [
      [1, 1, 1],
      [3, 5, 4],
    ]) {
      it(`grad of ${name}(A·B), ${m}×${k}×${n}: a matmul with a broadcast-constant operand`, () => {
        const c = new CaseBuilder(3);
        const a = c.x("a", [m, k]);
        const b = c.param("b", [k, n]);
        const loss = reduce(a.matmul(b));
        const [da, db] = grad(loss, [a, b]);
        const report = compareOutputs({ loss, da, db }, c.feeds);
        expect(report.failures.length, report.message).toBe(0);
      });
    }
  }
});

describe("layout ops", () => {
  // Every layout result is multiplied elementwise by another leaf, so the view is read at every position
  // by a computing op (and the gradient flows back through the view's VJP).
  run([
    {
      name: "transpose",
      build: (c) =>
        c
          .x("x", [3, 5])
          .transpose()
          .mul(c.x("w", [5, 3])),
    },
    { name: "transpose as an output (materialized)", build: (c) => c.x("x", [3, 5]).transpose() },
    {
      name: "permute [2,0,1]",
      build: (c) =>
        c
          .x("x", [2, 3, 4])
          .permute([2, 0, 1])
          .mul(c.x("w", [4, 2, 3])),
    },
    { name: "permute [1,2,0] as an output", build: (c) => c.x("x", [2, 3, 4]).permute([1, 2, 0]) },
    {
      name: "reshape [2,3,4] -> [4,6]",
      build: (c) =>
        c
          .x("x", [2, 3, 4])
          .reshape([4, 6])
          .mul(c.x("w", [4, 6])),
    },
    {
      name: "reshape with -1",
      build: (c) =>
        c
          .x("x", [2, 3, 4])
          .reshape([-1, 4])
          .mul(c.x("w", [6, 4])),
    },
    {
      name: "reshape of a transpose (not a view: the source is materialized)",
      build: (c) =>
        c
          .x("x", [3, 4])
          .transpose()
          .reshape([2, 6])
          .mul(c.x("w", [2, 6])),
    },
    {
      name: "broadcastTo [4] -> [3,4]",
      build: (c) =>
        c
          .x("x", [4])
          .broadcastTo([3, 4])
          .mul(c.x("w", [3, 4])),
    },
    {
      name: "broadcastTo [3,1] -> [2,3,4]",
      build: (c) =>
        c
          .x("x", [3, 1])
          .broadcastTo([2, 3, 4])
          .mul(c.x("w", [2, 3, 4])),
    },
    { name: "broadcastTo as an output", build: (c) => c.x("x", [3, 1]).broadcastTo([3, 4]) },
    {
      name: "slice axis 0 (gradient: pad)",
      build: (c) =>
        c
          .x("x", [5, 4])
          .slice(1, 4, 0)
          .mul(c.x("w", [3, 4])),
    },
    {
      name: "slice axis 1 (gradient: pad)",
      build: (c) =>
        c
          .x("x", [3, 6])
          .slice(2, 5, 1)
          .mul(c.x("w", [3, 3])),
    },
    {
      name: "slice axis -1 of 3-D",
      build: (c) =>
        c
          .x("x", [2, 3, 5])
          .slice(0, 2, -1)
          .mul(c.x("w", [2, 3, 2])),
    },
    { name: "slice as an output", build: (c) => c.x("x", [3, 6]).slice(2, 5, 1) },
    {
      name: "concat axis 0 (gradient: slices)",
      build: (c) => concat([c.x("a", [2, 3]), c.x("b", [4, 3])], 0).mul(c.x("w", [6, 3])),
    },
    {
      name: "concat axis 1 of three",
      build: (c) => concat([c.x("a", [2, 3]), c.x("b", [2, 1]), c.x("d", [2, 2])], 1).mul(c.x("w", [2, 6])),
    },
    { name: "pad axis 1", build: (c) => pad(c.x("x", [3, 2]), 1, 2, 1).mul(c.x("w", [3, 5])) },
    { name: "pad axis 0, as an output", build: (c) => pad(c.x("x", [2, 3]), 2, 1, 0) },
    {
      name: "concat of slices in the other order (a roll)",
      build: (c) => {
        const x = c.x("x", [3, 5]);
        return concat([x.slice(2, 5, 1), x.slice(0, 2, 1)], 1).mul(c.x("w", [3, 5]));
      },
    },
  ]);
});

describe("neural-network ops", () => {
  run([
    { name: "softmax axis -1", build: (c) => softmax(c.x("x", [4, 5], { low: -3, high: 3 })) },
    { name: "softmax axis 0", build: (c) => softmax(c.x("x", [4, 5], { low: -3, high: 3 }), 0) },
    { name: "logSoftmax axis -1", build: (c) => logSoftmax(c.x("x", [4, 5], { low: -3, high: 3 })) },
    {
      name: "logSoftmax axis 0 of 3-D",
      build: (c) => logSoftmax(c.x("x", [3, 2, 4], { low: -3, high: 3 }), 0),
    },
    {
      name: "softmax of large logits (stable: no overflow)",
      build: (c) => softmax(c.x("x", [3, 4], { low: 80, high: 100 })),
    },
    {
      name: "crossEntropy with class indices",
      build: (c) =>
        crossEntropy(
          c.x("logits", [6, 5], { low: -3, high: 3 }),
          c.data("labels", [6], { values: [0, 4, 2, 2, 1, 3] }),
        ),
    },
    {
      name: "crossEntropy with probabilities",
      build: (c) => crossEntropy(c.x("logits", [6, 5], { low: -3, high: 3 }), softmax(c.x("t", [6, 5]))),
    },
    {
      name: "crossEntropy with fed probabilities (no gradient for them)",
      build: (c) => {
        const p = new Float32Array(4 * 3);
        for (let i = 0; i < 4; i++) {
          const r = [c.rng.uniform(), c.rng.uniform(), c.rng.uniform()];
          const s = r[0] + r[1] + r[2];
          for (let j = 0; j < 3; j++) p[i * 3 + j] = r[j] / s;
        }
        return crossEntropy(c.x("logits", [4, 3], { low: -3, high: 3 }), c.data("p", [4, 3], { values: p }));
      },
    },
    { name: "mseLoss mean", build: (c) => mseLoss(c.x("p", [4, 3]), c.x("t", [4, 3])) },
    { name: "mseLoss sum", build: (c) => mseLoss(c.x("p", [4, 3]), c.data("t", [4, 3]), "sum") },
    { name: "norm", build: (c) => norm(c.x("x", [3, 5])) },
    {
      name: "linear with bias",
      build: (c) => linear(c.x("x", [5, 4]), c.param("W", [3, 4]), c.param("b", [3])),
    },
    { name: "linear without bias", build: (c) => linear(c.x("x", [5, 4]), c.param("W", [3, 4])) },
    {
      name: "linear of a batch of sequences [2,5,4]",
      build: (c) => linear(c.x("x", [2, 5, 4]), c.param("W", [3, 4]), c.param("b", [3])),
    },
    {
      name: "a two-layer MLP loss (linear, relu, linear, crossEntropy)",
      build: (c) => {
        const h = linear(c.x("x", [8, 6]), c.param("W1", [10, 6]), c.param("b1", [10])).relu();
        const logits = linear(h, c.param("W2", [4, 10]), c.param("b2", [4]));
        return crossEntropy(logits, c.data("labels", [8], { values: [0, 1, 2, 3, 3, 2, 1, 0] }));
      },
    },
  ]);
});

describe("a custom op from defineElementwise", () => {
  const swish = defineElementwise("compilerTestSwish", "x => x / (1 + Math.exp(-x))");
  const blend = defineElementwise("compilerTestBlend", "(x, y) => x * Math.tanh(y) + y * y / (1 + x * x)");
  run([
    { name: "unary custom op", build: (c) => swish(c.x("x", [3, 4], { low: -3, high: 3 })) },
    {
      name: "binary custom op with broadcasting [3,1] and [1,4]",
      build: (c) => blend(c.x("a", [3, 1]), c.x("b", [1, 4])),
    },
    {
      name: "custom op fused between matmul and a reduction",
      build: (c) => swish(c.x("x", [5, 3]).matmul(c.param("W", [3, 4]))).sum(1),
    },
  ]);
});
