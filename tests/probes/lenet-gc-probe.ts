// Run as its own process by tests/compiler/cnn-zero-allocation.test.ts (as tests/probes/adam-gc-probe.ts),
// so that the only code in this isolate is Adjoint's: the test runner's own traffic (IPC buffers) would
// otherwise trigger GCs of its own.
// Prints one JSON line: { gcEvents, gcKinds, heapGrowth, initial (the first step's loss), first, last, steps }.
import { lenetAdamStep } from "./lenet-adam-step";
import { measureSteps } from "./measure-steps";

const steps = Number(process.argv[2] ?? 10_000);

// A small batch keeps 10,000 steps short; what the step allocates does not depend on it.
const step = lenetAdamStep(Number(process.argv[3] ?? 4));

const kernel = step.kernel;
const loss = step.outputs.loss;
kernel.run();
const initial = loss[0];
const measured = await measureSteps(
  () => kernel.run(),
  () => loss[0],
  4000,
  steps,
);
console.log(JSON.stringify({ ...measured, initial, steps }));
