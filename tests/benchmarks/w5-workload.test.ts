/**
 * W5 (LeNet-5) is built identically for every system of the benchmark harness: from the workload's seeded
 * parameters, Adjoint's compiled step, tfjs (cpu and wasm backends), jax-js and ONNX Runtime compute the
 * same initial logits as Adjoint's float64 interpreter, and the first step's loss is the cross-entropy of
 * those logits. PyTorch joins when /usr/bin/python3 can import torch (CI has no Python).
 */
import { evaluate } from "adjoint";
import { describe, expect, it } from "vitest";
import { adjointSystem, buildNet } from "../../benchmarks/src/systems/adjoint";
import { jaxSystem } from "../../benchmarks/src/systems/jax-js";
import { onnxruntimeSystem } from "../../benchmarks/src/systems/onnxruntime";
import { tfjsCpuSystem } from "../../benchmarks/src/systems/tfjs-cpu";
import { tfjsWasmSystem } from "../../benchmarks/src/systems/tfjs-wasm";
import { isSkip, type System } from "../../benchmarks/src/systems/types";
import { buildWorkloads } from "../../benchmarks/src/workloads";
import { torchPeer } from "./torch-peer";

const [w5] = buildWorkloads(["W5"]);
const reference = Float32Array.from(evaluate(buildNet(w5).logits, { x: w5.x }));

/** Mean softmax cross-entropy of the reference logits, in float64. */
function referenceLoss(): number {
  let sum = 0;
  for (let i = 0; i < w5.batch; i++) {
    const row = reference.subarray(i * 10, i * 10 + 10);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    sum += lse - row[w5.labels![i]];
  }
  return sum / w5.batch;
}

const { pytorch, available: torchAvailable } = torchPeer([w5], "w5");

const forwardSystems: System[] = [adjointSystem, tfjsCpuSystem, tfjsWasmSystem, jaxSystem, onnxruntimeSystem];
const withTorch = torchAvailable ? [pytorch] : [];

describe("W5 (LeNet-5) starts from the same network in every system", () => {
  it("has LeNet-5's parameters and a batch of 64 images", () => {
    expect(w5.weights.map((a) => a.length)).toEqual([150, 2400, 48000, 10080, 840]);
    expect(w5.biases.map((a) => a.length)).toEqual([6, 16, 120, 84, 10]);
    expect(w5.x.length).toBe(64 * 784);
    expect(buildWorkloads(["W5"])[0].weights[2]).toEqual(w5.weights[2]); // seeded
  });

  it.each([...forwardSystems, ...withTorch].map((s) => [s.name, s] as const))(
    "%s: initial logits equal the float64 interpreter's",
    async (_name, sys) => {
      const r = await sys.setupInference!(w5);
      if (isSkip(r)) throw new Error(r.reason);
      try {
        await r.run();
        const out = await r.output();
        expect(out.length).toBe(reference.length);
        let maxDiff = 0;
        for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - reference[i]));
        expect(maxDiff).toBeLessThan(1e-5);
      } finally {
        await r.dispose();
      }
    },
    60_000,
  );

  it.each([adjointSystem, ...withTorch].map((s) => [s.name, s] as const))(
    "%s: the first step's loss is the cross-entropy of those logits",
    async (_name, sys) => {
      const r = await sys.setup(w5);
      if (isSkip(r)) throw new Error(r.reason);
      try {
        await r.step();
        expect(Math.abs((await r.loss()) - referenceLoss())).toBeLessThan(1e-5);
      } finally {
        await r.dispose();
      }
    },
    60_000,
  );

  it("tfjs-wasm says it has no conv gradients instead of failing inside a step", async () => {
    const r = await tfjsWasmSystem.setup(w5);
    expect(isSkip(r) && r.reason).toMatch(/no conv gradients/);
  });
});
