// The GC measurement both allocation probes make, in a process of their own: warm the step up, collect, then
// count GC events and heap growth over `steps` runs. The warm-up matters: Kernel.run (which inlines the step)
// is recompiled late by V8, and that code is heap too, though not a step's garbage (traced with --trace-opt:
// up to ~200 kB of code landed in the measured window after 200 or 1,000 warm-up steps on a busy machine).
import { PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

const WINDOWS = 4;

export interface StepMeasurement {
  gcEvents: number;
  gcKinds: number[];
  /**
   * The least heap growth of the windows (4 consecutive quarters of the steps). A step that allocates
   * grows the heap in every window (8 bytes a step: 20 kB per window of 2,500); code that V8 tiers up
   * late is heap too (20-120 kB seen, once, with zero GC events, on a quiet machine), but it lands in
   * one window, not in all of them.
   */
  heapGrowth: number;
  /** The heap growth of each window. */
  windowGrowth: number[];
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
  const windowGrowth: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const heapBefore = process.memoryUsage().heapUsed;
    const end = Math.round(((w + 1) * steps) / WINDOWS);
    for (let i = Math.round((w * steps) / WINDOWS); i < end; i++) run();
    windowGrowth.push(process.memoryUsage().heapUsed - heapBefore);
  }
  const last = loss();
  await new Promise((r) => setTimeout(r, 100));
  observer.disconnect();
  return {
    gcEvents: kinds.length,
    gcKinds: kinds,
    heapGrowth: Math.min(...windowGrowth),
    windowGrowth,
    first,
    last,
  };
}
