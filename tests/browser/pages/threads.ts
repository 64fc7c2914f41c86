/**
 * The page of tests/browser/threads.test.ts: `adjointThreads("worker")` runs the thread cases in a
 * dedicated worker, `adjointThreads("main")` on this page's main thread.
 */
import { canBlockHere, faultCases, type ThreadCase, threadCases } from "./thread-cases";

declare global {
  interface Window {
    adjointThreads: (
      where: "worker" | "main",
    ) => Promise<{ cases: ThreadCase[]; isolated: boolean; canBlock: boolean }>;
    adjointThreadFaults: typeof faultCases;
  }
}

window.adjointThreadFaults = faultCases;

window.adjointThreads = async (where) => {
  if (where === "main")
    return { cases: await threadCases(), isolated: crossOriginIsolated, canBlock: canBlockHere() };
  const worker = new Worker(new URL("./threads-worker.ts", import.meta.url), { type: "module" });
  try {
    const reply = await new Promise<{
      cases: ThreadCase[];
      isolated: boolean;
      canBlock: boolean;
      error?: string;
    }>((ok, fail) => {
      worker.onmessage = (e) => ok(e.data);
      worker.onerror = (e) => fail(new Error(`the test worker failed: ${e.message}`));
      worker.postMessage("run");
    });
    if (reply.error) throw new Error(reply.error);
    return reply;
  } finally {
    worker.terminate();
  }
};
