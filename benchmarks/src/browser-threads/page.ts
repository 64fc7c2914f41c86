/** The page of the threads benchmark: times one workload at one thread count in its dedicated worker. */
import type { StepTiming } from "../browser/timing";
import type { WorkloadId } from "../workloads";

export interface ThreadTiming {
  timing: StepTiming;
  engine: string;
  isolated: boolean;
}

declare global {
  interface Window {
    adjointThreadsBench: (id: WorkloadId, threads: number, budgetMs: number) => Promise<ThreadTiming>;
  }
}

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });

window.adjointThreadsBench = (id, threads, budgetMs) =>
  new Promise((ok, fail) => {
    worker.onmessage = (e: MessageEvent<ThreadTiming & { error?: string }>) =>
      e.data.error ? fail(new Error(e.data.error)) : ok(e.data);
    worker.onerror = (e) => fail(new Error(`the benchmark worker failed: ${e.message}`));
    worker.postMessage({ id, threads, budgetMs });
  });
