/**
 * The worker's program, as source text: hand-written here, with no user text in it. It is the same in
 * Node (worker_threads, started with `eval`) and in browsers (a Web Worker from a Blob URL); only the
 * few lines that receive the start data differ. The generated code it runs (`jobsSource`) is printed by
 * codegen from an ESTree, like the step itself.
 */
import {
  CONTROL_WORDS,
  DONE,
  FAULT,
  GC_EVENTS,
  INJECT,
  JOB,
  MESSAGE,
  MESSAGE_UNITS,
  NEXT,
  READY,
  REPORT_JOB,
  SEQ,
  STOP,
  WORKER_SLICES,
} from "./control-block";

const SPINS = 4000;

/** function adjointWorker(start, onExit, observeGc): instantiates the kernels, then serves jobs until STOP. */
const WORKER_MAIN = `function adjointWorker(d, onExit, observeGc) {
  const I = new Int32Array(d.memory.buffer, d.controlOffset, ${CONTROL_WORDS});
  const t = d.thread;
  let stopping = false;
  const report = (e) => {
    // The first failure wins the message area (length word -1 while it writes), and only then raises the
    // fault word: the main thread never reads a message that is not written yet.
    if (Atomics.compareExchange(I, ${MESSAGE}, 0, -1) === 0) {
      const text = (e instanceof Error ? e.name + ": " + e.message : String(e)).slice(0, ${MESSAGE_UNITS});
      for (let i = 0; i < text.length; i += 2) {
        const low = text.charCodeAt(i);
        const high = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
        Atomics.store(I, ${MESSAGE + 1} + (i >> 1), low | (high << 16));
      }
      Atomics.store(I, ${MESSAGE}, text.length);
      Atomics.store(I, ${FAULT}, t + 1);
    }
    Atomics.notify(I, ${DONE});
    Atomics.notify(I, ${READY});
  };
  let jobs;
  try {
    const wasm = {};
    for (const [name, module] of d.modules) {
      // Each kernel module exports its one function (matmul, run...).
      const exports = new WebAssembly.Instance(module, { env: { memory: d.memory } }).exports;
      wasm[name] = exports[Object.keys(exports)[0]];
    }
    jobs = new Function("F", "wasm", d.jobsSource)(new Float32Array(d.memory.buffer), wasm);
  } catch (e) {
    report(e);
    return;
  }
  if (onExit) onExit(() => { if (!stopping) report("the worker exited"); });
  // GC events are counted by an observer whose callbacks run only when this worker is back in its event
  // loop, i.e. outside the steps: a REPORT job (pool.workerGcEvents()) returns there, writes the count
  // in GC_EVENTS + t, and serves again.
  const gcEvents = observeGc ? observeGc() : () => -1;
  let seen = Atomics.load(I, ${SEQ});
  Atomics.add(I, ${READY}, 1);
  Atomics.notify(I, ${READY});
  let garbage = null;
  const finished = () => {
    Atomics.add(I, ${DONE}, 1);
    Atomics.notify(I, ${DONE});
  };
  const serve = () => {
    for (;;) {
      for (let spin = 0; spin < ${SPINS} && Atomics.load(I, ${SEQ}) === seen; spin++) {}
      // A loop, not an if: a wait may return without a new job (it must never run one twice).
      while (Atomics.load(I, ${SEQ}) === seen) Atomics.wait(I, ${SEQ}, seen);
      seen = Atomics.load(I, ${SEQ});
      if (Atomics.load(I, ${STOP}) !== 0) {
        stopping = true;
        return;
      }
      const inject = Atomics.load(I, ${INJECT});
      if (inject === -(t + 1)) {
        Atomics.store(I, ${INJECT}, 0);
        for (let i = 0; i < 2000; i++) garbage = new Array(4096).fill(i);
      }
      // Claim slices of this job until none is left (the main thread claims them too).
      const tag = seen & 0xffff;
      for (;;) {
        const w = Atomics.load(I, ${NEXT});
        if (w >>> 16 !== tag || (w & 0xffff) === 0) break;
        if (Atomics.compareExchange(I, ${NEXT}, w, w - 1) !== w) continue;
        // Read after the claim: the job cannot change while one of its slices is unfinished.
        const job = Atomics.load(I, ${JOB});
        if (job === ${REPORT_JOB}) {
          // Two turns of the event loop: the GC entries are queued as tasks, the observer's callback after
          // them. One claim per worker: it serves again only after this.
          setTimeout(() => setTimeout(() => {
            Atomics.store(I, ${GC_EVENTS} + t, gcEvents());
            finished();
            serve();
          }, 1), 1);
          return;
        }
        try {
          if (Atomics.load(I, ${INJECT}) === t + 1) {
            Atomics.store(I, ${INJECT}, 0);
            throw new Error("a fault injected by a test");
          }
          jobs(job, (w & 0xffff) - 1);
        } catch (e) {
          report(e);
        }
        Atomics.add(I, ${WORKER_SLICES}, 1);
        finished();
      }
    }
  };
  serve();
}`;

/** For `new Worker(source, { eval: true, workerData })` in Node. */
export const NODE_WORKER_SOURCE = `"use strict";
const { workerData } = require("node:worker_threads");
const { PerformanceObserver } = require("node:perf_hooks");
const observeGc = () => {
  let count = 0;
  new PerformanceObserver((list) => { count += list.getEntries().length; }).observe({ entryTypes: ["gc"] });
  return () => count;
};
(${WORKER_MAIN})(workerData, (f) => process.on("exit", f), observeGc);
`;

/** For a Web Worker: the start data arrives as the first message. */
export const WEB_WORKER_SOURCE = `"use strict";
self.onmessage = (event) => {
  self.onmessage = null;
  (${WORKER_MAIN})(event.data, null, null);
};
`;
