// threads in a process of their own: zero GC events on the main thread and in the worker over 10,000 steps
// with two threads,
// and a process whose kernel still has workers exits by itself.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const probe = (name: string) => fileURLToPath(new URL(`../probes/${name}`, import.meta.url));

describe("threads in a process of their own", () => {
  it("10,000 steps of the Adam MLP on 2 threads cause zero GC events on the main thread and in the worker", () => {
    // --no-memory-reducer: see tests/nn/zero-alloc.test.ts.
    const out = execFileSync(
      process.execPath,
      ["--no-memory-reducer", "--import", "tsx", probe("adam-gc-probe.ts"), "10000", "2"],
      { encoding: "utf8", timeout: 280_000 },
    );
    const r = JSON.parse(out.trim().split("\n").pop()!);
    expect(r.threads).toBe(2);
    expect(r.steps).toBe(10_000);
    expect(r.gcKinds).toEqual([]);
    expect(r.gcEvents).toBe(0);
    // Counted by the worker itself (tests/threads/threads.test.ts shows the count sees a worker's garbage).
    expect(r.workerGcEvents).toBe(0);
    // The least growth of four windows of 2,500 steps (measure-steps.ts): 240 bytes measured, where a
    // one-element array a step grows every window by about 140 kB (with no GC event yet).
    expect(r.heapGrowth).toBeLessThan(8 * 1024);
    expect(r.last).toBeLessThan(r.first);
  }, 300_000);

  it("a process whose kernel still has its workers (never disposed) exits on its own", () => {
    const t0 = Date.now();
    const out = execFileSync(process.execPath, ["--import", "tsx", probe("exit-with-workers.ts")], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(out).toMatch(/trained [\d.]+ on 2 threads/);
    expect(Date.now() - t0).toBeLessThan(60_000);
  });
});
