/**
 * Memory and GC per step: heap and external growth over many steps between forced collections, and the GC
 * events (seen by a PerformanceObserver) that fall in the stepping window.
 */
import { type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { MemoryStats, Settings } from "./types";

let forceGc: () => void = () => {};
/** [startTime, duration] of every GC seen (performance.now() timeline), so windows can be counted exactly. */
const gcEntries: [number, number][] = [];
let gcObserver: PerformanceObserver | null = null;

export function startGcAccounting(): void {
  try {
    setFlagsFromString("--expose-gc");
    // Bytecode of idle functions is dropped after a few GCs: noise in heap figures, so keep it.
    setFlagsFromString("--no-flush-bytecode");
    forceGc = runInNewContext("gc") as () => void;
  } catch {
    forceGc = () => {};
  }
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => recordGc(list.getEntries()));
  gcObserver.observe({ entryTypes: ["gc"] });
}

function recordGc(entries: readonly PerformanceEntry[]): void {
  for (const e of entries) gcEntries.push([e.startTime, e.duration]);
  if (gcEntries.length > 100_000) gcEntries.splice(0, gcEntries.length - 50_000);
}

async function flushGc(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  if (gcObserver) recordGc(gcObserver.takeRecords());
}

function gcInWindow(t0: number, t1: number): { count: number; ms: number } {
  let count = 0;
  let ms = 0;
  for (const [start, duration] of gcEntries) {
    if (start >= t0 && start <= t1) {
      count++;
      ms += duration;
    }
  }
  return { count, ms };
}

export function stopGcAccounting(): void {
  gcObserver?.disconnect();
  gcObserver = null;
}

/** Heap, external memory and GC per 1000 steps, over as many steps as fit the memory budget. */
export async function measureMemory(
  step: () => unknown,
  isAsync: boolean,
  perStepMs: number,
  s: Settings,
): Promise<MemoryStats> {
  const steps = Math.min(
    s.memMaxSteps,
    Math.max(s.memMinSteps, Math.ceil(s.memBudgetMs / Math.max(perStepMs, 1e-6))),
  );
  forceGc();
  await flushGc();
  forceGc();
  const m0 = process.memoryUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    if (isAsync) await step();
    else step();
  }
  const t1 = performance.now();
  await flushGc();
  forceGc();
  await flushGc();
  forceGc();
  const m1 = process.memoryUsage();
  await flushGc();
  const gc = gcInWindow(t0, t1);
  const per1k = 1000 / steps;
  return {
    steps,
    heapGrowthPer1kSteps: (m1.heapUsed - m0.heapUsed) * per1k,
    externalGrowthPer1kSteps: (m1.external - m0.external) * per1k,
    gcEventsPer1kSteps: gc.count * per1k,
    gcMsPer1kSteps: gc.ms * per1k,
  };
}
