/**
 * Property-based: random DAGs of smooth elementwise, broadcasting, reduction, matmul, layout and neural
 * ops over random shapes (tests/helpers/random-graph.ts); their symbolic gradients, first and second
 * order, agree with central finite differences of the float64 interpreter. Seeded, so runs are
 * reproducible; a failure reports the generator seed, which rebuilds the same graph.
 */
import fc from "fast-check";
import { evaluate, grad, Rng, type Tensor } from "adjoint";
import { describe, expect, it } from "vitest";
import { checkGradients } from "../helpers/finite-diff";
import { type OpFamily, type RandomGraph, randomGraph } from "../helpers/random-graph";

const FC_SEED = 20250601;
const seeds = fc.integer({ min: 0, max: 2 ** 31 - 1 });

function explain(r: RandomGraph, message: string): string {
  return `randomGraph(${r.seed}), frame [${r.frame}]:\n  ${r.recipe.join("\n  ")}\n${message}\n${r.graph.toText({ outputs: { loss: r.loss } })}`;
}

/** Σ_i sum(∂loss/∂leaf_i · v_i) with fixed random v_i: its gradient is a Hessian-vector product. */
function secondOrderLoss(r: RandomGraph): Tensor {
  const first = grad(r.loss, r.leaves);
  const rng = new Rng(r.seed ^ 0x5bd1e995);
  let loss2: Tensor | null = null;
  for (const gi of first) {
    const v = r.graph.constant(
      Array.from({ length: gi.size }, () => rng.uniformRange(-1, 1)),
      gi.shape,
    );
    const term = gi.mul(v).sum();
    loss2 = loss2 ? loss2.add(term) : term;
  }
  return loss2!;
}

describe("random graphs: gradients agree with finite differences", () => {
  it("first order (all op families)", () => {
    fc.assert(
      fc.property(seeds, (seed) => {
        const r = randomGraph(seed, { maxOps: 12 });
        const report = checkGradients(r.loss, r.leaves, r.feeds);
        if (!report.ok) throw new Error(explain(r, report.message));
      }),
      { seed: FC_SEED, numRuns: 50 },
    );
  });

  it("second order: grad of grad against finite differences of the first gradient", () => {
    fc.assert(
      fc.property(seeds, (seed) => {
        const r = randomGraph(seed);
        const report = checkGradients(secondOrderLoss(r), r.leaves, r.feeds);
        if (!report.ok) throw new Error(explain(r, report.message));
      }),
      { seed: FC_SEED + 1, numRuns: 30 },
    );
  });

  const focused: [string, OpFamily[]][] = [
    ["elementwise and broadcasting only", ["unary", "binary", "broadcast"]],
    ["reductions", ["reduce", "unary", "binary"]],
    ["matmuls", ["matmul", "binary", "unary"]],
    ["layout and neural ops", ["layout", "neural", "binary"]],
  ];
  for (const [name, families] of focused) {
    it(`first order, ${name}`, () => {
      fc.assert(
        fc.property(seeds, (seed) => {
          const r = randomGraph(seed, { families, maxOps: 6 });
          const report = checkGradients(r.loss, r.leaves, r.feeds);
          if (!report.ok) throw new Error(explain(r, report.message));
        }),
        { seed: FC_SEED + 2, numRuns: 20 },
      );
    });
  }
});

describe("the random graph generator", () => {
  it("is deterministic in its seed", () => {
    for (const seed of [0, 1, 12345]) {
      const a = randomGraph(seed);
      const b = randomGraph(seed);
      expect(a.graph.toText()).toBe(b.graph.toText());
      expect(a.feeds).toEqual(b.feeds);
      expect(a.graph.params.map((p) => Array.from(p.value))).toEqual(
        b.graph.params.map((p) => Array.from(p.value)),
      );
    }
    expect(randomGraph(1).graph.toText()).not.toBe(randomGraph(2).graph.toText());
  });

  it("covers every op family and the ops of the issue over 100 seeds", () => {
    const ops = new Set<string>();
    let matmul3d = 0;
    let broadcastBinary = 0;
    let fanOut = 0;
    for (let seed = 0; seed < 100; seed++) {
      const r = randomGraph(seed);
      const uses = new Map<number, number>();
      for (const n of r.graph.nodes) {
        ops.add(n.op);
        if (n.op === "matmul" && n.rank === 3) matmul3d++;
        if (
          ["add", "sub", "mul", "div"].includes(n.op) &&
          n.inputs.some((i) => i.shape.join() !== n.shape.join())
        )
          broadcastBinary++;
        for (const i of n.inputs) uses.set(i.id, (uses.get(i.id) ?? 0) + 1);
      }
      if ([...uses.values()].some((u) => u > 1)) fanOut++;
    }
    for (const op of [
      "add",
      "sub",
      "mul",
      "div",
      "neg",
      "exp",
      "log",
      "sqrt",
      "tanh",
      "sigmoid",
      "square",
      "pow",
      "sin",
      "cos",
      "reciprocal",
      "softplus",
      "gelu",
      "sum",
      "max",
      "logsumexp",
      "matmul",
      "permute",
      "reshape",
      "broadcastTo",
      "slice",
      "concat",
      "equal",
    ]) {
      expect(ops, op).toContain(op);
    }
    expect(matmul3d).toBeGreaterThan(3);
    expect(broadcastBinary).toBeGreaterThan(20);
    expect(fanOut).toBeGreaterThan(30);
  });

  it("returns a scalar loss, leaves that require grad, feeds for every input, bounded values", () => {
    for (let seed = 0; seed < 200; seed++) {
      const r = randomGraph(seed, { bound: 30 });
      expect(r.loss.size).toBe(1);
      expect(r.leaves.length).toBeGreaterThan(0);
      expect(r.leaves.every((l) => l.requiresGrad && (l.role === "input" || l.role === "param"))).toBe(true);
      expect(Object.keys(r.feeds).sort()).toEqual(r.graph.inputs.map((i) => i.name!).sort());
      expect(r.outputs.every((t) => t.role === "op")).toBe(true);
      const report = checkGradients(r.loss, [], r.feeds);
      expect(Number.isFinite(report.value)).toBe(true);
      const values = r.outputs.length > 0 ? evaluate(r.outputs, r.feeds) : [];
      const largest = Math.max(0, ...values.flatMap((v) => Array.from(v, Math.abs)));
      expect(largest).toBeLessThanOrEqual(30 + 1); // (+1: a linear layer's bias)
    }
  });
});
