// Run as its own process by tests/threads/process.test.ts: a kernel with worker threads that is never
// disposed must not keep the process alive. Prints "trained <loss>" and returns; the process must exit.
import { mnistAdamStep } from "./mnist-adam-step";

const step = mnistAdamStep(2);
const compiled = (step.kernel as unknown as { compiled: { whenReady(): Promise<void>; threads: number } })
  .compiled;
await compiled.whenReady();
for (let i = 0; i < 20; i++) step.run();
console.log(`trained ${step.outputs.loss[0]} on ${compiled.threads} threads`);
