/**
 * Where workers come from: Node's worker_threads or the browser's Web Workers, behind one small
 * interface, so that the compiler imports no Node built-in (worker_threads is obtained through
 * process.getBuiltinModule, Node 20.16+, only when a kernel asks for threads).
 */
import type { WasmMemory } from "../wasm/js-api";
import { NODE_WORKER_SOURCE, WEB_WORKER_SOURCE } from "./worker-source";

/** What a worker receives once, at the start (structured-cloned: the memory and modules are shared). */
export interface WorkerStart {
  memory: WasmMemory;
  controlOffset: number;
  thread: number;
  jobsSource: string;
  modules: Array<[string, object]>;
}

export interface WorkerHandle {
  terminate(): Promise<void>;
}

export interface WorkerHost {
  /** Whether this thread may block in Atomics.wait (not a browser's main thread). */
  readonly canBlock: boolean;
  /** Starts a worker; `onExit(reason)` is called if it exits or throws outside a job. */
  start(data: WorkerStart, onExit: (reason: string) => void): WorkerHandle;
}

type Listener = (value: unknown) => void;
interface NodeWorker {
  unref(): void;
  on(event: string, listener: Listener): void;
  terminate(): Promise<number>;
}
interface WorkerThreads {
  Worker: new (source: string, options: { eval: boolean; workerData: unknown }) => NodeWorker;
}
interface WebWorker {
  onerror: ((event: { message?: string }) => void) | null;
  postMessage(data: unknown): void;
  terminate(): void;
}

const g = globalThis as unknown as {
  process?: { getBuiltinModule?: (name: string) => unknown; versions?: { node?: string } };
  Worker?: new (url: string) => WebWorker;
  Blob?: new (parts: string[], options: { type: string }) => object;
  URL?: { createObjectURL(blob: object): string; revokeObjectURL(url: string): void };
  SharedArrayBuffer?: unknown;
  crossOriginIsolated?: boolean;
};

function nodeHost(threads: WorkerThreads): WorkerHost {
  return {
    canBlock: true,
    start(data, onExit) {
      const worker = new threads.Worker(NODE_WORKER_SOURCE, { eval: true, workerData: data });
      // An idle worker must never keep the process alive.
      worker.unref();
      worker.on("error", (e) => onExit(`threw (${e instanceof Error ? e.message : String(e)})`));
      worker.on("exit", (code) => onExit(`exited (code ${String(code)})`));
      return { terminate: () => worker.terminate().then(() => undefined) };
    },
  };
}

function webHost(): WorkerHost {
  return {
    canBlock: canBlockHere(),
    start(data, onExit) {
      const url = g.URL!.createObjectURL(new g.Blob!([WEB_WORKER_SOURCE], { type: "text/javascript" }));
      const worker = new g.Worker!(url);
      worker.onerror = (e) => onExit(`threw (${e.message ?? "error"})`);
      worker.postMessage(data);
      return {
        terminate: async () => {
          worker.terminate();
          g.URL!.revokeObjectURL(url);
          // A Web Worker ended from outside fires no event (Node's fire "exit"): say it here, so that a
          // worker terminated while its kernel lives makes the next run() throw, as in Node.
          onExit("exited (terminated)");
        },
      };
    },
  };
}

/** A browser's main thread refuses Atomics.wait; workers and Node allow it. */
function canBlockHere(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

let cached: WorkerHost | string | undefined;

/** The host of this environment, or the reason why threads cannot run here. */
export function defaultWorkerHost(): WorkerHost | string {
  cached ??= findHost();
  return cached;
}

function findHost(): WorkerHost | string {
  if (typeof g.SharedArrayBuffer !== "function") {
    return "SharedArrayBuffer is missing (a browser page needs cross-origin isolation: COOP/COEP headers)";
  }
  if (g.crossOriginIsolated === false) {
    return "the page is not cross-origin isolated (serve it with COOP/COEP headers)";
  }
  if (g.process?.versions?.node) {
    const threads = g.process.getBuiltinModule?.("node:worker_threads") as WorkerThreads | undefined;
    if (!threads) return `Node ${g.process.versions.node} lacks process.getBuiltinModule (needs 20.16+)`;
    return nodeHost(threads);
  }
  if (typeof g.Worker === "function" && g.Blob && g.URL) return webHost();
  return "this environment has no Web Workers";
}
