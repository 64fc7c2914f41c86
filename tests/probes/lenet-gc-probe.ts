// Run as its own process by tests/compiler/cnn-zero-allocation.test.ts (after tests/probes/adam-gc-probe.ts), so that the only code in this isolate is
// Adjoint's: the test runner's own traffic (IPC buffers) would otherwise trigger GCs of its own.
// Prints one JSON line: { gcEvents, gcKinds, heapGrowth, initial (the first step's loss), first, last, steps }.
import { PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { lenetAdamStep } from "./lenet-adam-step";

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;
const steps = Number(process.argv[2] ?? 10_000);

// A small batch keeps 10,000 steps short; what the step allocates does not depend on it.
const step = lenetAdamStep(Number(process.argv[3] ?? 4));

const kernel = step.kernel;
const loss = step.outputs.loss;
kernel.run();
const initial = loss[0];
// Warm up until the JIT has optimized every function of the step (see adam-gc-probe.ts: Kernel.run is
// recompiled late, and its code is heap too, but not a step's garbage).
for (let i = 0; i < 4000; i++) kernel.run();
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
console.log(
  JSON.stringify({ gcEvents: kinds.length, gcKinds: kinds, heapGrowth, initial, first, last, steps }),
);
