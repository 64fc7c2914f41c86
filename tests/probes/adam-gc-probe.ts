// Run as its own process by tests/nn/zero-alloc.test.ts, so that the only code in this isolate is
// Adjoint's: the test runner's own traffic (IPC buffers) would otherwise trigger GCs of its own.
// Arguments: steps (10,000), threads (1). Prints one JSON line: { gcEvents, gcKinds, heapGrowth, first,
// last, steps, threads }.
import { PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { mnistAdamStep } from "./mnist-adam-step";

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;
const steps = Number(process.argv[2] ?? 10_000);
const threads = Number(process.argv[3] ?? 1);

const step = mnistAdamStep(threads);

const kernel = step.kernel;
// With threads, measure the steps that run on the workers (until they start, this thread runs their share).
await (kernel as unknown as { compiled: { whenReady(): Promise<void> } }).compiled.whenReady();
const loss = step.outputs.loss;
// Warm up until the JIT has optimized every function of the step: its compiled code is heap too, but not
// a step's garbage. Kernel.run (which inlines the step) is recompiled late, a 30 ms job that landed in the
// measured window after 200 or 1,000 warm-up steps on a busy machine (traced with --trace-opt: up to
// ~200 kB of code with threads, ~70 kB without; no deopt, no GC). With threads, the pool's fork and join
// become hot first.
const warmUp = 5000;
for (let i = 0; i < warmUp; i++) kernel.run();
collectGarbage();
await new Promise((r) => setTimeout(r, 100));
collectGarbage();

const kinds: number[] = [];
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) kinds.push((e as unknown as { detail: { kind: number } }).detail.kind);
});
observer.observe({ entryTypes: ["gc"] });
kernel.run();
const first = loss[0];
const heapBefore = process.memoryUsage().heapUsed;
for (let i = 0; i < steps; i++) kernel.run();
const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
const last = loss[0];
await new Promise((r) => setTimeout(r, 100));
observer.disconnect();
const used = (kernel as unknown as { compiled: { threads: number } }).compiled.threads;
await kernel.dispose();
console.log(
  JSON.stringify({ gcEvents: kinds.length, gcKinds: kinds, heapGrowth, first, last, steps, threads: used }),
);
