/** The timing loop of the split-threshold sweeps (split-threshold.ts, loop-split-threshold.ts). */
import type { Kernel } from "adjoint";

/** µs per run over a batch of `runs` runs (long enough, ~2 ms, for the timer). */
export function timeRuns(kernel: Kernel, runs: number): number {
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) kernel.run();
  return ((performance.now() - t0) * 1000) / runs;
}
