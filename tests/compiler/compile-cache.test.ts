/**
 * Compile time is recorded (not asserted: speed lives in the benchmarks) for a large training graph, and
 * the kernel cache is tested: the same outputs and options give the same kernel object; cache: false, or
 * anything that changes what is computed, gives a new one.
 */
import { compile, evaluate, Graph } from "adjoint";
import { describe, expect, it } from "vitest";
import { mlp, momentum } from "./models";

describe("compile time", () => {
  it("the 784→1024→1024→10 training graph (ReLU, crossEntropy, grads, SGD with momentum buffers) compiles, and its step is right", () => {
    const m = mlp([784, 1024, 1024, 10], 64);
    const updates = momentum(m, 0.01, 0.9);
    // Twice: the first compile in a process also warms up the compiler's own code (JIT).
    const timed = (when: string) => {
      const t0 = performance.now();
      const kernel = compile({ loss: m.loss }, { updates, timing: true, cache: false });
      const ms = performance.now() - t0;
      const stages = Object.entries(kernel.timings ?? {})
        .map(([s, t]) => `${s} ${t.toFixed(1)}`)
        .join(", ");
      console.log(`784→1024→1024→10 training step, ${when} compile: ${ms.toFixed(1)} ms (${stages}); ${kernel.groups} loop nests`);
      return kernel;
    };
    timed("first (cold)");
    const k = timed("second (warm)");
    expect(Object.keys(k.timings ?? {})).toEqual(expect.arrayContaining(["simplify", "fuse", "plan", "codegen"]));

    // The kernel is real: its loss is the interpreter's, and the step moved the weights and buffers.
    const expected = evaluate(m.loss, m.feeds)[0];
    const W2 = m.params[4];
    const before = Float32Array.from(W2.value);
    k.run(m.feeds);
    expect(k.outputs.loss[0]).toBeCloseTo(expected, 4);
    expect(W2.value.some((v, i) => v !== before[i])).toBe(true);
    expect(m.graph.get("v_W2").value.some((v) => v !== 0)).toBe(true);
  });
});

describe("kernel cache", () => {
  const build = () => {
    const m = mlp([6, 5, 3], 4);
    return { m, outputs: { loss: m.loss, dW0: m.outputs.dW0 } };
  };

  it("compiling the same outputs twice returns the cached kernel (the same object)", () => {
    const { outputs } = build();
    const a = compile(outputs);
    const b = compile(outputs);
    expect(b).toBe(a);
    // A fresh object with the same names and tensors is the same request.
    expect(compile({ ...outputs })).toBe(a);
    // A single tensor is cached too.
    expect(compile(outputs.loss)).toBe(compile(outputs.loss));
  });

  it("cache: false compiles a new kernel, and does not replace the cached one", () => {
    const { m, outputs } = build();
    const a = compile(outputs);
    const fresh = compile(outputs, { cache: false });
    expect(fresh).not.toBe(a);
    expect(compile(outputs, { cache: false })).not.toBe(fresh);
    expect(compile(outputs)).toBe(a);
    // Both compute the same thing.
    a.run(m.feeds);
    fresh.run(m.feeds);
    expect(Array.from(fresh.outputs.dW0)).toEqual(Array.from(a.outputs.dW0));
  });

  it("different options, output names, outputs or updates give different kernels", () => {
    const { m, outputs } = build();
    const a = compile(outputs);
    const variants = [
      compile(outputs, { checkFinite: true }),
      compile(outputs, { passes: { fusion: false } }),
      compile(outputs, { reuse: false }),
      compile({ loss: outputs.loss, gradW0: outputs.dW0 }),
      compile({ loss: outputs.loss }),
      compile(outputs, { updates: [] }) === a ? null : "updates: [] differs from none",
    ];
    for (const v of variants.slice(0, 5)) expect(v).not.toBe(a);
    expect(new Set(variants.slice(0, 5)).size).toBe(5);
    // No updates and an empty list of updates are the same request.
    expect(variants[5]).toBeNull();
    // Each variant is itself cached.
    expect(compile(outputs, { checkFinite: true })).toBe(variants[0]);
    expect(compile({ loss: outputs.loss, gradW0: outputs.dW0 })).toBe(variants[3]);
    expect(m.graph.nodes.length).toBeGreaterThan(0);
  });

  it("the cache is per graph: the same structure in another graph is another kernel", () => {
    const g1 = new Graph();
    const g2 = new Graph();
    const y1 = g1.input("x", [3]).exp();
    const y2 = g2.input("x", [3]).exp();
    const k1 = compile({ y: y1 });
    const k2 = compile({ y: y2 });
    expect(k2).not.toBe(k1);
    expect(k1.graph).toBe(g1);
    expect(k2.graph).toBe(g2);
    k1.run({ x: [0, 1, 2] });
    k2.run({ x: [1, 1, 1] });
    expect(k1.outputs.y[0]).toBe(1);
    expect(k2.outputs.y[0]).toBeCloseTo(Math.E, 6);
  });

  it("a cached kernel is still right after the graph grew", () => {
    const { m, outputs } = build();
    const a = compile(outputs);
    m.graph.input("extra", [2]).exp().sum();
    expect(compile(outputs)).toBe(a);
    a.run(m.feeds);
    expect(a.outputs.loss[0]).toBeCloseTo(evaluate(m.loss, m.feeds)[0], 5);
  });
});
