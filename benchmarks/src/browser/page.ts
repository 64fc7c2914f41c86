/** The browser side of the benchmark: the same timing loop as Node's, on the page's main thread. */
import { wasmStatus } from "adjoint";
import type { WorkloadId } from "../workloads";
import { type StepTiming, timeWorkload } from "./timing";

declare global {
  interface Window {
    adjointBench: (
      ids: WorkloadId[],
      budgetMs?: number,
    ) => Promise<{ engine: string; results: StepTiming[] }>;
  }
}

window.adjointBench = async (ids, budgetMs) => {
  const results: StepTiming[] = [];
  for (const id of ids) results.push(await timeWorkload(id, budgetMs));
  return { engine: wasmStatus(), results };
};
