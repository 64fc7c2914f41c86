// The GC measurement both allocation probes make, in a process of their own: warm the step up, collect, then
// count GC events and heap growth over `steps` runs. The warm-up matters: Kernel.run (which inlines the step)
// is recompiled late by V8, and that code is heap too, though not a step's garbage (traced with --trace-opt:
// up to ~200 kB of code landed in the measured window after 200 or 1,000 warm-up steps on a busy machine).
import { PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

export interface StepMeasurement {
  gcEvents: number;
  gcKinds: number[];
  heapGrowth: number;
  /** The loss after the first measured run, and after the last. */
  first: number;
  last: number;
}

/** Runs `run` warmUp times, then `1 + steps` times while GC events are observed; `loss()` reads the loss. */
export async function measureSteps(
  run: () => void,
  loss: () => number,
  warmUp: number,
  steps: number,
): Promise<StepMeasurement> {
  for (let i = 0; i < warmUp; i++) run();
  collectGarbage();
  await new Promise((r) => setTimeout(r, 100));
  collectGarbage();

  const kinds: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) kinds.push((e as unknown as { detail: { kind: number } }).detail.kind);
  });
  observer.observe({ entryTypes: ["gc"] });
  run();
  const first = loss();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < steps; i++) run();
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  const last = loss();
  await new Promise((r) => setTimeout(r, 100));
  observer.disconnect();
  return { gcEvents: kinds.length, gcKinds: kinds, heapGrowth, first, last };
}
