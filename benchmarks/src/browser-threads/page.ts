/**
 * The page of the threads benchmark: times one workload at one thread count, Adjoint's step in its
 * dedicated worker, tfjs-wasm's in a frame per thread count (its pool is sized once per page, tfjs-frame.ts).
 */
import type { StepTiming } from "../browser/timing";
import type { WorkloadId } from "../workloads";

export interface ThreadTiming {
  timing: StepTiming;
  engine: string;
  isolated: boolean;
}

type Bench = (id: WorkloadId, threads: number, budgetMs: number) => Promise<ThreadTiming>;

declare global {
  interface Window {
    adjointThreadsBench: Bench;
    tfjsThreadsBench: Bench;
  }
}

function ask(worker: Worker, id: WorkloadId, threads: number, budgetMs: number): Promise<ThreadTiming> {
  return new Promise((ok, fail) => {
    worker.onmessage = (e: MessageEvent<ThreadTiming & { error?: string }>) =>
      e.data.error ? fail(new Error(e.data.error)) : ok(e.data);
    worker.onerror = (e) => fail(new Error(`the benchmark worker failed: ${e.message}`));
    worker.postMessage({ id, threads, budgetMs });
  });
}

const adjointWorker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
const tfjsFrames = new Map<number, Promise<Window>>();

/** The frame running tfjs-wasm at `threads` (tfjs-frame.ts), loaded once. */
function tfjsFrame(threads: number): Promise<Window> {
  let f = tfjsFrames.get(threads);
  if (!f) {
    f = new Promise((ok, fail) => {
      const frame = document.createElement("iframe");
      frame.src = `./tfjs.html?threads=${threads}`;
      frame.onload = () => {
        const win = frame.contentWindow as (Window & { tfjsBench?: unknown }) | null;
        const wait = (tries: number) => {
          if (win && typeof win.tfjsBench === "function") ok(win);
          else if (tries > 600) fail(new Error(`the tfjs frame (${threads} threads) did not start`));
          else setTimeout(() => wait(tries + 1), 50);
        };
        wait(0);
      };
      document.body.append(frame);
    });
    tfjsFrames.set(threads, f);
  }
  return f;
}

window.adjointThreadsBench = (id, threads, budgetMs) => ask(adjointWorker, id, threads, budgetMs);
window.tfjsThreadsBench = async (id, threads, budgetMs) =>
  (await tfjsFrame(threads)).tfjsBench(id, budgetMs) as Promise<ThreadTiming>;
