/**
 * Threads in Chromium: the W2, W3, W4 and W5 (LeNet-5) training steps with `threads` 1 and 2, in one run:
 * `pnpm bench:browser-threads` (ROUNDS=n, default 5).
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
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const BUDGET_MS = 800;
const ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

async function main(): Promise<void> {
  const loadBefore = loadavg()[0];
  const ready = () => typeof window.adjointThreadsBench === "function";
  await withBenchPage("threads", HERE, { headers: ISOLATION, ready }, async (page) => {
    let engine = "";
    const timings: Record<string, { one: StepTiming[]; two: StepTiming[]; ratios: number[] }> =
      Object.fromEntries(IDS.map((id) => [id, { one: [], two: [], ratios: [] }]));
    const time = async (id: WorkloadId, threads: number) => {
      const r = await page.evaluate(([i, t, b]) => window.adjointThreadsBench(i, t, b), [
        id,
        threads,
        BUDGET_MS,
      ] as const);
      if (!r.isolated) throw new Error("the benchmark page is not cross-origin isolated");
      engine = r.engine;
      return r.timing;
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const id of IDS) {
        const oneFirst = round % 2 === 0;
        const first = await time(id, oneFirst ? 1 : 2);
        const second = await time(id, oneFirst ? 2 : 1);
        const [one, two] = oneFirst ? [first, second] : [second, first];
        if (one.firstLoss !== two.firstLoss) {
          throw new Error(
            `${id}: the first step's loss differs: ${one.firstLoss} (1 thread), ${two.firstLoss} (2)`,
          );
        }
        timings[id].one.push(one);
        timings[id].two.push(two);
        timings[id].ratios.push(one.medianMs / two.medianMs);
      }
      console.log(
        `round ${round + 1}/${ROUNDS}: ${IDS.map((id) => `${id} ${timings[id].ratios[round].toFixed(2)}×`).join("; ")}`,
      );
    }
    const version = chromiumVersion();
    const rows = IDS.map((id) => {
      const t = timings[id];
      return {
        id,
        oneMs: median(t.one.map((s) => s.medianMs)),
        twoMs: median(t.two.map((s) => s.medianMs)),
        speedUp: median(t.ratios),
        ratios: t.ratios,
        firstLoss: t.one[0].firstLoss,
      };
    });
    const about = {
      date: new Date().toISOString(),
      processor: processorName(),
      load: `load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after`,
      chromium: `${version ?? "Chromium"} (${engine}), headless, cross-origin isolated page, steps in a dedicated worker`,
      rounds: ROUNDS,
    };
    const md = [
      "# Adjoint training steps in Chromium: 1 and 2 threads",
      "",
      `${about.date} · ${about.processor} · ${about.load} · ${about.chromium}`,
      "",
      `The benchmark's adjoint system (trainStep on the workload's seeded data, \`threads\` 1 and 2) timed by the browser benchmark's loop in a dedicated worker of a COOP/COEP page; 2 threads = that worker and one nested Web Worker on the step's shared memory. ${ROUNDS} rounds; in each, the two thread counts run back to back (${BUDGET_MS} ms of steps each after a warm-up; which goes first alternates). The speed-up is the median over rounds of the one-round ratio; the ms/step columns are medians over rounds.`,
      "",
      "| workload | 1 thread, ms/step | 2 threads, ms/step | speed-up of 2 threads, median (range over rounds) | first step's loss (same for both) |",
      "| --- | --- | --- | --- | --- |",
      ...rows.map(
        (r) =>
          `| ${r.id} | ${r.oneMs.toFixed(3)} | ${r.twoMs.toFixed(3)} | **${r.speedUp.toFixed(2)}×** (${Math.min(...r.ratios).toFixed(2)}–${Math.max(...r.ratios).toFixed(2)}) | ${r.firstLoss.toPrecision(7)} |`,
      ),
      "",
    ].join("\n");
    writeReport("browser-threads", about, rows, md);
  });
}

await main();
