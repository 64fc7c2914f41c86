// Run as its own process by tests/threads/process.test.ts: a kernel with worker threads that is never
// disposed must not keep the process alive. Prints "trained <loss>" and returns; the process must exit.
import { mnistAdamStep } from "./mnist-adam-step";

const step = mnistAdamStep(2);
for (let i = 0; i < 20; i++) step.run();
const threads = (step.kernel as unknown as { compiled: { threads: number } }).compiled.threads;
console.log(`trained ${step.outputs.loss[0]} on ${threads} threads`);
