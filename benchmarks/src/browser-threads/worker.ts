/**
 * The timing side of the threads benchmark, in a dedicated worker (where the playground trains, and where
 * Atomics.wait may block): one message { id, threads, budgetMs } → one StepTiming.
 */
import { wasmStatus } from "adjoint";
import { timeWorkload } from "../browser/timing";
import { createAdjointSystem } from "../systems/adjoint";
import type { WorkloadId } from "../workloads";

interface Request {
  id: WorkloadId;
  threads: number;
  budgetMs: number;
}
const scope = self as unknown as {
  postMessage(m: unknown): void;
  onmessage: ((e: MessageEvent<Request>) => void) | null;
};
scope.onmessage = (e) => {
  const { id, threads, budgetMs } = e.data;
  timeWorkload(id, budgetMs, createAdjointSystem(threads)).then(
    (timing) => scope.postMessage({ timing, engine: wasmStatus(), isolated: crossOriginIsolated }),
    (error: unknown) => scope.postMessage({ error: error instanceof Error ? error.message : String(error) }),
  );
};
