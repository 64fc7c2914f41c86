/**
 * Threads in Chromium: the W2, W3, W4 and W5 (LeNet-5) training steps with `threads` 1 and 2, in one run,
 * Adjoint's and tfjs-wasm's with its thread pool (W2–W4: tfjs-wasm cannot train W5, no conv gradient
 * kernels): `pnpm bench:browser-threads` (ROUNDS=n, default 5).
 *
 * The page is cross-origin isolated (served with COOP/COEP) and the steps run in a dedicated worker, as
 * the playground trains: threads 2 is that worker plus one nested Web Worker on the step's shared memory.
 * Both thread counts go through the browser benchmark's timing loop (benchmarks/src/browser/timing.ts),
 * one right after the other, in alternating order, for several rounds; the machine is shared and noisy,
 * so the figure to read is the median over rounds of the ratio measured back to back in one round.
 * Writes benchmarks/results/browser-threads.{md,json}.
 */
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumVersion, median, processorName, withBenchPage, writeReport } from "../browser/bench-page";
import type { StepTiming } from "../browser/timing";
import type { WorkloadId } from "../workloads";

const HERE = dirname(fileURLToPath(import.meta.url));
const IDS: WorkloadId[] = ["W2", "W3", "W4", "W5"];
/** tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel: it cannot train W5. */
const TFJS_IDS: WorkloadId[] = ["W2", "W3", "W4"];
type Bench = "adjointThreadsBench" | "tfjsThreadsBench";
const SYSTEMS: { name: string; bench: Bench; ids: WorkloadId[] }[] = [
  { name: "adjoint", bench: "adjointThreadsBench", ids: IDS },
  { name: "tfjs-wasm", bench: "tfjsThreadsBench", ids: TFJS_IDS },
];
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const BUDGET_MS = 800;
const ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

async function main(): Promise<void> {
  const loadBefore = loadavg()[0];
  const ready = () =>
    typeof window.adjointThreadsBench === "function" && typeof window.tfjsThreadsBench === "function";
  await withBenchPage("threads", HERE, { headers: ISOLATION, ready, extraPages: ["tfjs"] }, async (page) => {
    const engines: Record<string, string> = {};
    const key = (system: string, id: WorkloadId) => `${system} ${id}`;
    const timings: Record<string, { one: StepTiming[]; two: StepTiming[]; ratios: number[] }> = {};
    for (const sys of SYSTEMS)
      for (const id of sys.ids) timings[key(sys.name, id)] = { one: [], two: [], ratios: [] };
    const time = async (bench: Bench, system: string, id: WorkloadId, threads: number) => {
      const r = await page.evaluate(([b, i, t, budget]) => window[b](i, t, budget), [
        bench,
        id,
        threads,
        BUDGET_MS,
      ] as const);
      if (!r.isolated) throw new Error("the benchmark page is not cross-origin isolated");
      engines[system] = r.engine;
      return r.timing;
    };
    for (let round = 0; round < ROUNDS; round++) {
      const line: string[] = [];
      for (const sys of SYSTEMS) {
        for (const id of sys.ids) {
          const oneFirst = round % 2 === 0;
          const first = await time(sys.bench, sys.name, id, oneFirst ? 1 : 2);
          const second = await time(sys.bench, sys.name, id, oneFirst ? 2 : 1);
          const [one, two] = oneFirst ? [first, second] : [second, first];
          // Adjoint's two thread counts are bit-identical; tfjs's need only agree (XNNPACK splits differ).
          const same =
            sys.name === "adjoint"
              ? one.firstLoss === two.firstLoss
              : Math.abs(one.firstLoss - two.firstLoss) < 1e-5 * Math.abs(one.firstLoss);
          if (!same)
            throw new Error(
              `${sys.name} ${id}: the first step's loss differs: ${one.firstLoss} (1 thread), ${two.firstLoss} (2)`,
            );
          const t = timings[key(sys.name, id)];
          t.one.push(one);
          t.two.push(two);
          t.ratios.push(one.medianMs / two.medianMs);
          line.push(`${sys.name} ${id} ${t.ratios[round].toFixed(2)}×`);
        }
      }
      console.log(`round ${round + 1}/${ROUNDS}: ${line.join("; ")}`);
    }
    const version = chromiumVersion();
    const rows = SYSTEMS.flatMap((sys) =>
      sys.ids.map((id) => {
        const t = timings[key(sys.name, id)];
        return {
          system: sys.name,
          id,
          oneMs: median(t.one.map((s) => s.medianMs)),
          twoMs: median(t.two.map((s) => s.medianMs)),
          speedUp: median(t.ratios),
          ratios: t.ratios,
          firstLoss: t.one[0].firstLoss,
        };
      }),
    );
    const about = {
      date: new Date().toISOString(),
      processor: processorName(),
      load: `load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after`,
      chromium: `${version ?? "Chromium"}, headless, cross-origin isolated page; Adjoint's steps in a dedicated worker, tfjs's on its frames' main threads`,
      engines,
      rounds: ROUNDS,
    };
    const oneOf = (id: WorkloadId) => rows.find((r) => r.system === "adjoint" && r.id === id);
    const md = [
      "# Training steps in Chromium: 1 and 2 threads, Adjoint and tfjs-wasm",
      "",
      `${about.date} · ${about.processor} · ${about.load} · ${about.chromium}`,
      "",
      `Engines: ${Object.entries(engines)
        .map(([k, v]) => `${k}: ${v}`)
        .join("; ")}.`,
      "",
      `The benchmark's systems on the workloads' seeded data, timed by the browser benchmark's loop in dedicated workers of a COOP/COEP page. Adjoint: trainStep with \`threads\` 1 and 2 (2 = the worker and one nested Web Worker on the step's shared memory). tfjs-wasm: its threaded SIMD build with \`setThreadsCount\` 1 and 2 (XNNPACK's pthread pool), on the main thread of one frame per thread count, since tfjs sizes the pool once per page; tfjs 4.22 caps the pool at navigator.hardwareConcurrency / 2, so the 2-thread frame reports twice this machine's cores to it (tfjs-frame.ts); it cannot train W5 (no conv gradient kernels). ${ROUNDS} rounds; in each, a system's two thread counts run back to back (${BUDGET_MS} ms of steps each after a warm-up; which goes first alternates). The speed-up is the median over rounds of the one-round ratio; the ms/step columns are medians over rounds; the last column is tfjs-wasm's time over Adjoint's at the same thread count.`,
      "",
      "| system | workload | 1 thread, ms/step | 2 threads, ms/step | speed-up of 2 threads, median (range over rounds) | over Adjoint at 1 / 2 threads | first step's loss |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...rows.map((r) => {
        const a = oneOf(r.id);
        const vs =
          r.system === "adjoint" || !a
            ? "–"
            : `${(r.oneMs / a.oneMs).toFixed(1)}× / ${(r.twoMs / a.twoMs).toFixed(1)}×`;
        return `| ${r.system} | ${r.id} | ${r.oneMs.toFixed(3)} | ${r.twoMs.toFixed(3)} | **${r.speedUp.toFixed(2)}×** (${Math.min(...r.ratios).toFixed(2)}–${Math.max(...r.ratios).toFixed(2)}) | ${vs} | ${r.firstLoss.toPrecision(7)} |`;
      }),
      "",
    ].join("\n");
    writeReport("browser-threads", about, rows, md);
  });
}

await main();
