/**
 * compile's `profile` option: the step times each of its groups (codegen/profile.ts) and kernel.profile()
 * reports the mean ms per step, group by group, in step order; a profiled step computes the same bits as
 * an unprofiled one, passes the static allocation check (its clock's allocation is bounded in
 * tests/nn/zero-alloc.test.ts), and works over threads too.
 */
import { checkNoAllocation, compile, optim } from "adjoint";
import { describe, expect, it } from "vitest";
import { mlp } from "./models";

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function build(threads: number, profile: boolean) {
  const m = mlp([96, 128, 10], 32);
  const u = optim.adam({ lr: 0.01 }).minimize(m.loss);
  return { m, k: compile({ loss: u.loss! }, { updates: u.updates, threads, profile, cache: false }) };
}

describe("kernel.profile()", () => {
  it("times every group of the step, the same bits as without, the static check passes, 1 and 2 threads", async () => {
    for (const threads of [1, 2]) {
      const plain = build(threads, false);
      const timed = build(threads, true);
      await Promise.all([plain.k.whenReady(), timed.k.whenReady()]);
      expect(timed.k.source).toMatch(/wasm\.tick\(0\);/);
      expect(timed.k.source).toMatch(/wasm\.tick\(-1\);\s*return -1;/);
      expect(plain.k.source).not.toMatch(/wasm\.tick/);
      expect(checkNoAllocation(timed.k.source).violations).toEqual([]);
      const steps = 20;
      const start = performance.now();
      for (let s = 0; s < steps; s++) {
        plain.k.run(plain.m.feeds);
        timed.k.run(timed.m.feeds);
      }
      const elapsed = performance.now() - start;
      expect(timed.k.outputs.loss[0]).toBe(plain.k.outputs.loss[0]);
      plain.m.params.forEach((p, i) => {
        expect(bits(timed.m.params[i].value), p.name).toEqual(bits(p.value));
      });

      const times = timed.k.profile();
      // One entry per group, in step order, then the updates copied at the end.
      expect(times.map((t) => t.group)).toEqual([
        ...Array.from({ length: timed.k.groups }, (_, g) => g),
        "updates",
      ]);
      for (const t of times.slice(0, -1)) expect(t.header).toMatch(new RegExp(`^group ${t.group}: `));
      expect(times.every((t) => t.ms >= 0)).toBe(true);
      // The matmul groups take time; all of it is within the steps' wall time.
      expect(times.filter((t) => t.header.includes("matmul")).some((t) => t.ms > 0)).toBe(true);
      const perStep = times.reduce((sum, t) => sum + t.ms, 0);
      expect(perStep * steps).toBeLessThanOrEqual(elapsed);
      // A reset starts the count again.
      timed.k.profile({ reset: true });
      expect(timed.k.profile().every((t) => t.ms === 0)).toBe(true);
      await Promise.all([plain.k.dispose(), timed.k.dispose()]);
    }
  });

  it("says how to get it when the kernel was compiled without it", () => {
    const { k } = build(1, false);
    expect(() => k.profile()).toThrow(/compiled without \{ profile: true \}/);
  });
});
