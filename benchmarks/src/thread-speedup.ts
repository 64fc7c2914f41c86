/**
 * The speed-up of Adjoint's training step on 2 threads over 1, interleaved: for each workload, both
 * kernels live side by side and are timed in alternating rounds (the order flipping every round), so a
 * burst of load from elsewhere on the shared machine hits both; each round gives one ratio t(1)/t(2).
 * The harness (pnpm bench) times systems one after the other, which on a shared 2-core machine mixes the
 * load of different moments into the ratio.
 *
 *   npx tsx benchmarks/src/thread-speedup.ts [--only W3,W4] [--rounds 15] [--threads 2]
 */
import { cpus, loadavg } from "node:os";
import { median } from "./stats";
import { createAdjointSystem } from "./systems/adjoint";
import { isSkip, type Runner } from "./systems/types";
import { buildWorkloads } from "./workloads";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const rounds = Number(arg("--rounds", "15"));
const threads = Number(arg("--threads", "2"));
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

console.log(`${cpus()[0]?.model} ×${cpus().length}, node ${process.version}; load ${load()}`);
for (const w of buildWorkloads(arg("--only", "W2,W3,W4").split(","))) {
  const runners: Runner[] = [];
  for (const n of [1, threads]) {
    const r = await createAdjointSystem(n).setup(w);
    if (isSkip(r)) throw new Error(`${w.id}: ${r.reason}`);
    runners.push(r);
  }
  // About 60 ms of steps per sample.
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) runners[0].step();
  const per = (performance.now() - t0) / 20;
  const steps = Math.max(3, Math.round(60 / per));
  for (const r of runners) for (let i = 0; i < steps; i++) r.step();
  const ms: number[][] = [[], []];
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const t: number[] = [0, 0];
    for (const i of round & 1 ? [1, 0] : [0, 1]) {
      const s = performance.now();
      for (let n = 0; n < steps; n++) runners[i].step();
      t[i] = (performance.now() - s) / steps;
      ms[i].push(t[i]);
    }
    ratios.push(t[0] / t[1]);
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  const fmt = (x: number) => (x < 10 ? x.toFixed(3) : x.toFixed(1));
  console.log(
    `${w.id}: ${fmt(median(ms[0]))} ms → ${fmt(median(ms[1]))} ms per step; speed-up ${median(ratios).toFixed(2)}× ` +
      `(median of ${rounds} rounds; min ${sorted[0].toFixed(2)}, max ${sorted[rounds - 1].toFixed(2)}; load ${load()})`,
  );
  for (const r of runners) await r.dispose?.();
}
process.exit(0);
