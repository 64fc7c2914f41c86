/**
 * The speed-up of Adjoint's training step on more threads over 1, interleaved: for each workload, every
 * variant's kernel lives side by side and they are timed in rounds (the order rotating every round), so
 * a burst of load from elsewhere on the shared machine hits all of them; each round gives one ratio
 * t(1 thread)/t(variant) per variant. (The harness, pnpm bench, times systems one after the other, which
 * on a shared 2-core machine mixes the load of different moments into its ratios.)
 *
 *   npx tsx benchmarks/src/thread-speedup.ts [--only W3,W4] [--rounds 15] [--threads 2] [--slices 2] [--products-only]
 *
 * --slices 1,2,4 compares slices per thread (compile's slicesPerThread) in the same run. --products-only
 * adds, per slices value, a variant that splits the products only (threadMinElements Infinity: the
 * elementwise loops and reductions stay on the main thread, as before they could be split), so the gain of
 * splitting loops is measured in the same run as the rest.
 */
import { cpus, loadavg } from "node:os";
import { compile, type Kernel } from "adjoint";
import { median } from "./stats";
import { workloadLoss } from "./systems/adjoint";
import { buildWorkloads, type Workload } from "./workloads";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const rounds = Number(arg("--rounds", "15"));
const threads = Number(arg("--threads", "2"));
const slices = arg("--slices", "2").split(",").map(Number);
const productsOnly = process.argv.includes("--products-only");
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

/** The workload's training step compiled as trainStep does (loss and updates), with these options. */
async function stepKernel(
  w: Workload,
  threads: number,
  slicesPerThread?: number,
  threadMinElements?: number,
): Promise<Kernel> {
  const { loss, optimizer } = workloadLoss(w);
  const u = optimizer.minimize(loss);
  const kernel = compile(
    { loss: u.loss! },
    { updates: u.updates, threads, slicesPerThread, threadMinElements, cache: false },
  );
  await kernel.whenReady();
  kernel.inputs.x.set(w.x);
  if (w.labels) kernel.inputs.y.set(w.labels);
  if (w.target) kernel.inputs.t.set(w.target);
  return kernel;
}

console.log(`${cpus()[0]?.model} ×${cpus().length}, node ${process.version}; load ${load()}`);
for (const w of buildWorkloads(arg("--only", "W2,W3,W4").split(","))) {
  const variants = slices.flatMap((s) => {
    const name = `${threads} threads, ${s} slice${s > 1 ? "s" : ""}/thread`;
    const all = { name, slicesPerThread: s, minElements: undefined as number | undefined };
    return productsOnly ? [{ ...all, name: `${name}, products only`, minElements: Infinity }, all] : [all];
  });
  const names = ["1 thread", ...variants.map((v) => v.name)];
  const kernels = [
    await stepKernel(w, 1),
    ...(await Promise.all(variants.map((v) => stepKernel(w, threads, v.slicesPerThread, v.minElements)))),
  ];
  // About 60 ms of steps per sample (after a warm-up).
  for (const k of kernels) for (let i = 0; i < 20; i++) k.run();
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) kernels[0].run();
  const steps = Math.max(3, Math.round(60 / ((performance.now() - t0) / 20)));
  for (const k of kernels) for (let i = 0; i < steps; i++) k.run();
  const ms: number[][] = kernels.map(() => []);
  const ratios: number[][] = kernels.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const t = kernels.map(() => 0);
    for (let j = 0; j < kernels.length; j++) {
      const i = (j + round) % kernels.length;
      const s = performance.now();
      for (let n = 0; n < steps; n++) kernels[i].run();
      t[i] = (performance.now() - s) / steps;
      ms[i].push(t[i]);
    }
    for (let i = 0; i < kernels.length; i++) ratios[i].push(t[0] / t[i]);
  }
  const fmt = (x: number) => (x < 10 ? x.toFixed(3) : x.toFixed(1));
  console.log(`${w.id} (${rounds} rounds of ${steps} steps; load at the end ${load()}):`);
  for (let i = 0; i < kernels.length; i++) {
    const sorted = [...ratios[i]].sort((a, b) => a - b);
    console.log(
      `  ${names[i].padEnd(40)} ${fmt(median(ms[i])).padStart(7)} ms/step` +
        (i === 0
          ? ""
          : `  speed-up ${median(ratios[i]).toFixed(2)}× [${sorted[0].toFixed(2)}–${sorted[rounds - 1].toFixed(2)}]`),
    );
  }
  for (const k of kernels) await k.dispose();
}
process.exit(0);
