/**
 * The W2 and W3 training steps in Chromium and in Node, in one run: `pnpm bench:browser`.
 *
 * Both sides run the benchmark's adjoint system (trainStep on the workload's seeded data) through the
 * same timing loop (timing.ts); the page is bundled by Vite as the playground is and served from
 * 127.0.0.1 to Debian's Chromium. The two sides alternate for several rounds (the machine is shared and
 * noisy) and each side keeps its best round's median. Writes benchmarks/results/browser.{md,json}.
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { wasmStatus } from "adjoint";
import type { WorkloadId } from "../workloads";
import { chromiumVersion, median, processorName, withBenchPage, writeReport } from "./bench-page";
import { type StepTiming, timeWorkload } from "./timing";

const HERE = dirname(fileURLToPath(import.meta.url));
const IDS: WorkloadId[] = ["W2", "W3"];
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const BUDGET_MS = 800;

async function main(): Promise<void> {
  const ready = () => typeof window.adjointBench === "function";
  await withBenchPage("bench", HERE, { ready }, async (page) => {
    const best: Record<"node" | "chromium", Record<string, StepTiming>> = { node: {}, chromium: {} };
    let chromiumEngine = "";
    const keep = (side: "node" | "chromium", t: StepTiming) => {
      const prev = best[side][t.id];
      if (!prev || t.medianMs < prev.medianMs) best[side][t.id] = t;
    };
    const roundRatios: Record<string, number[]> = Object.fromEntries(IDS.map((id) => [id, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const id of IDS) {
        // Alternate which side goes first, so that neither always follows the other's heap and caches.
        const nodeFirst = round % 2 === 0;
        let node: StepTiming | null = nodeFirst ? await timeWorkload(id, BUDGET_MS) : null;
        const r = await page.evaluate(([i, b]) => window.adjointBench([i], b), [id, BUDGET_MS] as const);
        chromiumEngine = r.engine;
        const browser = r.results[0];
        node ??= await timeWorkload(id, BUDGET_MS);
        keep("node", node);
        keep("chromium", browser);
        roundRatios[id].push(browser.medianMs / node.medianMs);
      }
      console.log(
        `round ${round + 1}/${ROUNDS}: ${IDS.map((id) => `${id} chromium/node ${roundRatios[id][round].toFixed(2)}`).join("; ")}`,
      );
    }
    const version = chromiumVersion();
    const rows = IDS.map((id) => ({
      id,
      nodeMs: best.node[id].medianMs,
      chromiumMs: best.chromium[id].medianMs,
      ratio: best.chromium[id].medianMs / best.node[id].medianMs,
      minRatio: best.chromium[id].minMs / best.node[id].minMs,
      roundRatios: roundRatios[id],
      medianRoundRatio: median(roundRatios[id]),
      nodeRange: [best.node[id].minMs, best.node[id].maxMs],
      chromiumRange: [best.chromium[id].minMs, best.chromium[id].maxMs],
      nodeFirstLoss: best.node[id].firstLoss,
      chromiumFirstLoss: best.chromium[id].firstLoss,
    }));
    const about = {
      date: new Date().toISOString(),
      processor: processorName(),
      node: `${process.version} (${wasmStatus()})`,
      chromium: `${version ?? "chromium"} (${chromiumEngine}), headless, page main thread`,
      rounds: ROUNDS,
    };
    const md = [
      "# Adjoint training steps: Chromium vs Node",
      "",
      `${about.date} · ${about.processor} · Node ${about.node} · ${about.chromium}`,
      "",
      `The benchmark's adjoint system (trainStep on the workload's seeded data) timed by the same loop on both sides (benchmarks/src/browser/timing.ts); the sides alternate for ${ROUNDS} rounds (each timing ${BUDGET_MS} ms of steps after a warm-up; the side that goes first alternates too). The machine is shared and noisy, so the ratio to read is the median over rounds of the ratio measured back to back in the same round; the best medians and the fastest samples are shown too.`,
      "",
      "| workload | Node ms/step, median (min–max) | Chromium ms/step, median (min–max) | Chromium / Node, median of the rounds' ratios (range) | ratio of the best medians | ratio of the fastest samples | first step's loss (Node, Chromium) |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...rows.map(
        (r) =>
          `| ${r.id} | ${r.nodeMs.toFixed(3)} (${r.nodeRange.map((v) => v.toFixed(3)).join("–")}) | ${r.chromiumMs.toFixed(3)} (${r.chromiumRange.map((v) => v.toFixed(3)).join("–")}) | **${r.medianRoundRatio.toFixed(2)}×** (${Math.min(...r.roundRatios).toFixed(2)}–${Math.max(...r.roundRatios).toFixed(2)}) | ${r.ratio.toFixed(2)}× | ${r.minRatio.toFixed(2)}× | ${r.nodeFirstLoss.toPrecision(7)}, ${r.chromiumFirstLoss.toPrecision(7)} |`,
      ),
      "",
    ].join("\n");
    writeReport("browser", about, rows, md);
  });
}

await main();
