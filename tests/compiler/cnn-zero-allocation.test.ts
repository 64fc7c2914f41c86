// A CNN's training step (LeNet-5: conv, ReLU, max pool, conv, ReLU, max pool, 3 linear layers; Adam)
// allocates nothing: statically (checkNoAllocation over the generated step, which calls the wasm matmuls of
// all three conv products) and at run time (10,000 steps in a process of their own, zero GC events).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { checkNoAllocation } from "adjoint";
import { describe, expect, it } from "vitest";
import { lenetAdamStep } from "../probes/lenet-adam-step";

describe("the LeNet-5 Adam training step allocates nothing", () => {
  it("statically, at batch 64: no allocating construct, only Math.* and wasm.* calls", () => {
    const step = lenetAdamStep(64);
    const result = checkNoAllocation(step.source);
    expect(result.violations).toEqual([]);
    expect(result.ok).toBe(true);
    // Not vacuous: the conv products run in wasm, the windows are copied, the pools' gradients fused.
    expect(step.source).toMatch(/wasm\.mm\d+\(\)/);
    expect(step.source).toContain("slidingWindows");
    expect(step.source).toContain("foldWindows");
  });

  it("at run time: 10,000 steps cause zero GC events (in a process of their own)", () => {
    const probe = fileURLToPath(new URL("../probes/lenet-gc-probe.ts", import.meta.url));
    // --no-memory-reducer: see tests/nn/zero-alloc.test.ts (an allocation-free loop wakes V8's reducer).
    const out = execFileSync(
      process.execPath,
      ["--no-memory-reducer", "--import", "tsx", probe, "10000", "4"],
      { encoding: "utf8" },
    );
    const r = JSON.parse(out.trim().split("\n").pop()!);
    expect(r.steps).toBe(10_000);
    expect(r.gcKinds).toEqual([]);
    expect(r.gcEvents).toBe(0);
    // The least growth of four windows of 2,500 steps (measure-steps.ts): 240 bytes measured, where a
    // one-element array a step grows every window by about 140 kB (with no GC event yet).
    expect(r.heapGrowth).toBeLessThan(8 * 1024);
    // And it trained (on a fixed batch the loss falls; after the warm-up it is near 0, so from the start).
    expect(r.last).toBeLessThan(r.initial);
  }, 300_000);
});
