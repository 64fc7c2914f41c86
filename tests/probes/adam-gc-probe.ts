// Run as its own process by tests/nn/zero-alloc.test.ts, so that the only code in this isolate is
// Adjoint's: the test runner's own traffic (IPC buffers) would otherwise trigger GCs of its own.
// Prints one JSON line: { gcEvents, gcKinds, heapGrowth, first, last, steps }.
import { PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { crossEntropy, Graph, init, optim, type Tensor, trainStep } from "adjoint";

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;
const steps = Number(process.argv[2] ?? 10_000);

const g = new Graph({ seed: 3 });
const x = g.input("x", [64, 784]);
const y = g.input("y", [64]);
let h: Tensor = x;
const sizes = [784, 128, 10];
for (let l = 0; l < 2; l++) {
  const W = g.param(`W${l}`, [sizes[l + 1], sizes[l]], { init: init.glorotUniform() });
  const b = g.param(`b${l}`, [sizes[l + 1]]);
  h = h.matmul(W.transpose()).add(b);
  if (l === 0) h = h.relu();
}
const step = trainStep(crossEntropy(h, y), optim.adam({ lr: 1e-3 }));
for (let i = 0; i < step.inputs.x.length; i++) step.inputs.x[i] = ((i * 7919) % 255) / 255;
for (let i = 0; i < 64; i++) step.inputs.y[i] = i % 10;

const kernel = step.kernel;
const loss = step.outputs.loss;
for (let i = 0; i < 200; i++) kernel.run();
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
console.log(JSON.stringify({ gcEvents: kinds.length, gcKinds: kinds, heapGrowth, first, last, steps }));
