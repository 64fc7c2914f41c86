/**
 * A product's elementwise epilogue run in its kernel on each register tile (compile's tileEpilogues,
 * wasm/fused-epilogue.ts) against the loop over the stored product, in one process, rounds interleaved:
 *
 *   npx tsx benchmarks/src/tile-epilogues.ts [W1..W5, default W3] [threads, default 1] [flush]
 *
 * "flush" sets every subnormal float of the kernel's memory to zero before each round: an optimizer state
 * stuck at a subnormal (a dead ReLU unit's Adam moment decays to 4·2⁻¹⁴⁹ and stays there) costs a
 * microcode assist per op on Intel, which would hide the difference measured here.
 */
import { compile } from "adjoint";
import { workloadLoss } from "./systems/adjoint";
import { buildWorkload, WORKLOAD_SPECS } from "./workloads";
const name = process.argv[2] ?? "W3";
const threads = Number(process.argv[3] ?? 1);
const flush = process.argv[4] === "flush";
const w = buildWorkload(WORKLOAD_SPECS.find((x: any) => x.id === name)!);
const variants = await Promise.all(
  [true, false].map(async (tileEpilogues) => {
    const { loss, optimizer } = workloadLoss(w);
    const u = (optimizer as any).minimize(loss);
    const k: any = compile({ loss: u.loss }, { updates: u.updates, threads, tileEpilogues, cache: false });
    await k.whenReady();
    const feeds: any = { x: w.x };
    if (w.labels) feeds.y = w.labels;
    if (w.target) feeds.t = w.target;
    return { tileEpilogues, k, feeds };
  }),
);
const F = (k: any) => new Float32Array(k.graph.memory.memory.buffer);
const flushAll = (k: any) => {
  const f = F(k);
  for (let i = 0; i < f.length; i++) {
    const x = f[i];
    if (x !== 0 && Math.abs(x) < 1.1754944e-38) f[i] = 0;
  }
};
for (const v of variants) for (let i = 0; i < 200; i++) v.k.run(v.feeds);
const times: number[][] = variants.map(() => []);
for (let round = 0; round < 30; round++) {
  variants.forEach((v, i) => {
    if (flush) flushAll(v.k);
    const n = name === "W4" ? 10 : 100;
    const t0 = performance.now();
    for (let s = 0; s < n; s++) v.k.run(v.feeds);
    times[i].push((performance.now() - t0) / n);
  });
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  name,
  `threads ${threads}`,
  flush ? "(subnormals zeroed each round)" : "",
  variants.map((v, i) => `tileEpilogues ${v.tileEpilogues}: ${med(times[i]).toFixed(3)} ms`).join("  "),
  "ratio",
  (med(times[1]) / med(times[0])).toFixed(3),
);
console.log("losses equal:", variants[0].k.outputs.loss[0] === variants[1].k.outputs.loss[0]);
