/**
 * One timing loop for both sides of the browser benchmark, so that Node and Chromium are measured the same
 * way: warm up, then samples of `stepsPerSample` steps each (sized so a sample lasts ≥ 20 ms), the median
 * of the per-step times.
 */
import { adjointSystem } from "../systems/adjoint";
import { isSkip, type System } from "../systems/types";
import { buildWorkload, WORKLOAD_SPECS, type WorkloadId } from "../workloads";

export interface StepTiming {
  id: WorkloadId;
  medianMs: number;
  minMs: number;
  maxMs: number;
  samples: number;
  stepsPerSample: number;
  /** The loss of the first step (both sides start from the same data and weights: a cross-check). */
  firstLoss: number;
}

/** `system`: adjoint by default; the threads benchmark passes createAdjointSystem(threads). */
export async function timeWorkload(
  id: WorkloadId,
  budgetMs = 1500,
  system: System = adjointSystem,
): Promise<StepTiming> {
  const spec = WORKLOAD_SPECS.find((s) => s.id === id);
  if (!spec) throw new Error(`no workload ${id}`);
  const runner = await system.setup(buildWorkload(spec));
  if (isSkip(runner)) throw new Error(`${system.name} skipped ${id}: ${runner.reason}`);
  runner.step();
  const firstLoss = Number(await runner.loss());
  const warm = performance.now();
  let n = 0;
  while (performance.now() - warm < 300 || n < 5) {
    runner.step();
    n++;
  }
  const perStep = (performance.now() - warm) / n;
  const stepsPerSample = Math.max(1, Math.ceil(20 / perStep));
  const times: number[] = [];
  const start = performance.now();
  while (performance.now() - start < budgetMs || times.length < 15) {
    const t0 = performance.now();
    for (let i = 0; i < stepsPerSample; i++) runner.step();
    times.push((performance.now() - t0) / stepsPerSample);
  }
  times.sort((a, b) => a - b);
  await runner.dispose();
  return {
    id,
    medianMs: times[Math.floor(times.length / 2)],
    minMs: times[0],
    maxMs: times[times.length - 1],
    samples: times.length,
    stepsPerSample,
    firstLoss,
  };
}
