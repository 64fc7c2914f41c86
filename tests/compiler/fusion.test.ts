/**
 * Fusion is visible (k.groups, k.programText, k.source) and tested: a matmul with its bias and activation
 * is one loop nest, an MLP training step has far fewer loop nests than ops, and a small kernel's source
 * is pinned by an inline snapshot.
 */
import { compile, evaluate, Graph, optim } from "adjoint";
import { describe, expect, it } from "vitest";
import { mlp, sgd } from "./models";

/** Compute nodes (those in some group) of a kernel's program text, by group index. */
function groupsOf(programText: string): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const line of programText.split("\n")) {
    const m = /^(%\d+) = (\S+).*# group (\d+) /.exec(line);
    if (!m) continue;
    const g = Number(m[3]);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(m[2].replace(/\[.*$/, ""));
  }
  return groups;
}

function opCount(programText: string): number {
  return [...groupsOf(programText).values()].reduce((n, ops) => n + ops.length, 0);
}

describe("fusion", () => {
  it("tanh(x·w + b) is exactly one loop nest: the matmul with its bias-add and activation as an epilogue", () => {
    const g = new Graph();
    const x = g.input("x", [8, 4]);
    const w = g.param("w", [4, 3], {
      init: (v) => {
        for (let i = 0; i < v.length; i++) v[i] = Math.sin(i + 1);
      },
    });
    const b = g.param("b", [3], { init: (v) => v.set([0.1, -0.2, 0.3]) });
    const y = x.matmul(w).add(b).tanh();
    const k = compile({ y });
    expect(k.groups).toBe(1);
    expect([...groupsOf(k.programText).entries()]).toEqual([[0, ["matmul", "add", "tanh"]]]);
    expect(k.source).toContain("Math.tanh");

    const xs = Float32Array.from({ length: 32 }, (_, i) => Math.cos(i));
    k.run({ x: xs });
    const ref = evaluate(y, { x: xs });
    for (let i = 0; i < ref.length; i++) expect(k.outputs.y[i]).toBeCloseTo(ref[i], 5);

    // Without fusion: one loop nest per op.
    expect(compile({ y }, { passes: { fusion: false } }).groups).toBe(3);
  });

  it("a chain of elementwise ops with broadcast operands is one loop nest", () => {
    const g = new Graph();
    const x = g.input("x", [4, 5]);
    const r = g.input("r", [4, 1]);
    const s = g.input("s", [5]);
    const y = x.mul(r).add(s).tanh().mul(x);
    const k = compile({ y });
    expect(k.groups).toBe(1);
    expect(opCount(k.programText)).toBe(4);
    expect(compile({ y }, { passes: { fusion: false } }).groups).toBe(4);

    // An operand of another shape computed first ([5]: its own loop) is read by the [4,5] loop.
    const sq = s.square();
    const z = x.mul(r).add(s).tanh().mul(x).sub(sq);
    const kz = compile({ z });
    expect(kz.groups).toBe(2);
    expect([...groupsOf(kz.programText).values()]).toEqual([
      ["square"],
      ["mul", "add", "tanh", "mul", "sub"],
    ]);
  });

  it("a reduction absorbs the elementwise ops that only feed it: sum(relu(2x+1)) is one loop", () => {
    const g = new Graph();
    const x = g.input("x", [2, 3]);
    const y = x.mul(2).add(1).relu().sum();
    const k = compile({ y });
    expect(k.groups).toBe(1);
    expect([...groupsOf(k.programText).values()]).toEqual([["mul", "add", "relu", "sum"]]);
  });

  it("an MLP training step (forward, backward, SGD) has far fewer loop nests than ops", () => {
    const m = mlp([16, 32, 4], 8);
    const updates = sgd(m, 0.05);
    const fused = compile({ loss: m.loss }, { updates });
    const unfused = compile({ loss: m.loss }, { updates, passes: { fusion: false } });
    const ops = opCount(fused.programText);
    console.log(
      `MLP training step: ${ops} ops in ${fused.groups} loop nests (${unfused.groups} without fusion)`,
    );
    // Without fusion every op is its own loop nest; with it, at most half as many.
    expect(opCount(unfused.programText)).toBe(ops);
    expect(unfused.groups).toBe(ops);
    expect(fused.groups).toBeLessThanOrEqual(ops / 2);
    // Both weight updates are epilogues of the matmuls computing their gradients.
    const groups = [...groupsOf(fused.programText).values()];
    expect(groups.filter((ops) => ops[0] === "matmul" && ops.at(-1) === "sub")).toHaveLength(2);

    // Fused or not, the same step: run both from the same parameters and compare.
    const before = m.params.map((p) => Float32Array.from(p.value));
    fused.run(m.feeds);
    const lossFused = fused.outputs.loss[0];
    const afterFused = m.params.map((p) => Float32Array.from(p.value));
    m.params.forEach((p, i) => {
      p.value.set(before[i]);
    });
    unfused.run(m.feeds);
    expect(unfused.outputs.loss[0]).toBeCloseTo(lossFused, 5);
    m.params.forEach((p, i) => {
      for (let j = 0; j < p.size; j++) expect(p.value[j]).toBeCloseTo(afterFused[i][j], 5);
    });
    expect(afterFused.some((v, i) => v.some((x, j) => x !== before[i][j]))).toBe(true);
  });

  it("Adam's update of a weight runs in the epilogue of the matmul computing its gradient, in one pass", () => {
    const m = mlp([16, 32, 4], 8);
    const u = optim.adam({ lr: 0.01 }).minimize(m.loss);
    const k = compile({ loss: u.loss! }, { updates: u.updates });
    const groups = [...groupsOf(k.programText).values()];
    // m, v (stored flushed of subnormals) and the weight itself (a sub) come out of the one loop over the
    // gradient: the bias corrections (scalars of the step count) run at the start, so nothing splits the
    // update in two.
    const weightUpdates = groups.filter((ops) => ops[0] === "matmul" && ops.includes("sub"));
    expect(weightUpdates).toHaveLength(2);
    for (const ops of weightUpdates) {
      expect(ops.filter((op) => op === "sqrt")).toHaveLength(1);
      expect(ops.filter((op) => op === "flushSubnormal")).toHaveLength(2);
    }
    // Nor a pass of its own for p − (lr / (1 − β1^t))·u (how the step ran before).
    expect(groups).not.toContainEqual(["mul", "sub"]);
  });

  it("relu's backward mask step(y) is computed in the backward's loop, never stored by the forward", () => {
    const m = mlp([16, 32, 24, 4], 8);
    const k = compile({ loss: m.loss }, { updates: sgd(m, 0.05) });
    const lines = k.programText.split("\n");
    const groupOfNode = new Map<string, number>();
    for (const line of lines) {
      const g = /^(%\d+) = .*# group (\d+) /.exec(line);
      if (g) groupOfNode.set(g[1], Number(g[2]));
    }
    const masks = lines.flatMap((line) => {
      const s = /^(%\d+) = step\S* (%\d+) /.exec(line);
      return s ? [{ mask: s[1], of: s[2] }] : [];
    });
    expect(masks).toHaveLength(2);
    for (const { mask, of } of masks) {
      // Read from the relu output (stored anyway), in a later loop than the one computing it ...
      expect(lines.find((l) => l.startsWith(`${of} = `))).toMatch(/= relu /);
      expect(groupOfNode.get(mask)).toBeGreaterThan(groupOfNode.get(of)!);
      // ... and the mask itself is never stored (the program text marks stored members "stored").
      const line = lines.find((l) => l.startsWith(`${mask} = `))!;
      expect(line).not.toMatch(/ stored\s*$/);
      expect(lines.find((l) => l.startsWith(`${of} = `))).toMatch(/ stored\s*$/);
    }
    // The same step as the reference interpreter.
    const before = m.params.map((p) => Float32Array.from(p.value));
    const ref = evaluate(m.loss, m.feeds);
    k.run(m.feeds);
    expect(k.outputs.loss[0]).toBeCloseTo(ref[0], 5);
    m.params.forEach((p, i) => {
      p.value.set(before[i]);
    });
  });

  it("the source of a small fused kernel: y = sum(relu(2x + 1)) for x [2,3]", () => {
    const g = new Graph();
    const x = g.input("x", [2, 3]);
    const y = x.mul(2).add(1).relu().sum();
    const k = compile({ y });
    expect(k.source).toMatchInlineSnapshot(`
      "// adjoint kernel: 1 loop nests over 7 nodes; F is the graph's memory as float32
      // outputs: y []; updates: 0; scratch at F[48]
      return function step() {
        {
          // group 0: reduce, 4 ops -> stores %6
          // %2 = mul %0, %1 : f32[2,3]
          // %4 = add %2, %3 : f32[2,3]
          // %5 = relu %4 : f32[2,3]
          // %6 = sum[axes=[0,1] keepdims=false] %5 : f32[]
          let acc = 0;
          {
            for (let r0 = 0; r0 < 6; r0++) {
              const t2 = F[16 + r0] * 2;
              const t4 = t2 + 1;
              const t5 = t4 > 0 ? t4 : 0;
              const v = t5;
              acc += v;
            }
          }
          F[32] = acc;
        }
        return -1;
      };
      "
    `);
    k.run({ x: [1, -2, 3, -4, 5, 0.25] });
    expect(k.outputs.y[0]).toBe(3 + 7 + 11 + 1.5);
  });
});
