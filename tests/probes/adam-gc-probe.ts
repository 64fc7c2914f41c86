// Run as its own process by tests/nn/zero-alloc.test.ts, so that the only code in this isolate is
// Adjoint's: the test runner's own traffic (IPC buffers) would otherwise trigger GCs of its own.
// Arguments: steps (10,000), threads (1), profile (0; 1: the step times its groups). Prints one JSON line: { gcEvents, gcKinds, heapGrowth, first,
// last, steps, threads, groups, workerGcEvents } (workerGcEvents: those of the workers over the measured steps,
// null with one thread).
import { measureSteps } from "./measure-steps";
import { mnistAdamStep } from "./mnist-adam-step";

const steps = Number(process.argv[2] ?? 10_000);
const threads = Number(process.argv[3] ?? 1);
const profile = process.argv[4] === "1";

const step = mnistAdamStep(threads, profile);

const kernel = step.kernel;
// With threads, measure the steps that run on the workers (until they start, this thread runs their share).
const compiled = (
  kernel as unknown as {
    compiled: {
      whenReady(): Promise<void>;
      threads: number;
      groups: number;
      pool?: { workerGcEvents(): Promise<number | null> };
    };
  }
).compiled;
await compiled.whenReady();
const loss = step.outputs.loss;
// 5,000 warm-up steps (see measure-steps.ts); with threads, the pool's fork and join become hot first.
for (let i = 0; i < 5000; i++) kernel.run();
// The workers count their GC events (read outside the steps): the measured window is between two reads.
const workerGcBefore = (await compiled.pool?.workerGcEvents()) ?? null;
const measured = await measureSteps(
  () => kernel.run(),
  () => loss[0],
  0,
  steps,
);
const workerGcAfter = (await compiled.pool?.workerGcEvents()) ?? null;
const workerGcEvents =
  workerGcBefore === null || workerGcAfter === null ? null : workerGcAfter - workerGcBefore;
await kernel.dispose();
console.log(
  JSON.stringify({ ...measured, steps, threads: compiled.threads, groups: compiled.groups, workerGcEvents }),
);
