/**
 * The Adjoint benchmark harness: every system trains every workload in one run, timed with tinybench.
 *
 *   pnpm bench                 full run, writes benchmarks/results/latest.{md,json}
 *   pnpm bench --quick         a few steps per case (CI: checks that everything runs), writes nothing
 *   pnpm bench --only W3,W4    some workloads only (also --systems jax-js,tfjs-wasm; --out DIR; --no-write)
 *   pnpm bench --rounds 5      time every training case 5 times per workload, systems in alternating order
 *                              (medians over rounds: what the threads table wants on a noisy machine)
 *
 * This file is the command line; the run is in run.ts, one case in cases.ts, the timing loop in timing.ts,
 * memory and GC in memory.ts, the agreement checks in correctness.ts, and what is compared in registry.ts
 * and workloads.ts. Timing: 2 noisy shared cores, so only ratios within one run mean anything. Every figure
 * is a median over samples, with the min–max range; tiny steps are batched several to a sample so the timer
 * can see them.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runBench } from "./run";
import type { BenchOptions } from "./types";

export { agree3 } from "./correctness";
export { fmtGflops, fmtMs } from "./format";
export { DEFAULT_OUT_DIR, runBench } from "./run";
export type * from "./types";

export function parseArgs(argv: string[]): BenchOptions {
  const opts: BenchOptions = {};
  const list = (v: string | undefined) =>
    (v ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--quick":
        opts.quick = true;
        break;
      case "--only":
        opts.only = [...(opts.only ?? []), ...list(value())];
        break;
      case "--systems":
        opts.systems = [...(opts.systems ?? []), ...list(value())];
        break;
      case "--out":
        opts.outDir = resolve(value());
        break;
      case "--no-write":
        opts.outDir = null;
        break;
      case "--rounds":
        opts.rounds = Number(value());
        if (!(Number.isInteger(opts.rounds) && opts.rounds >= 1))
          throw new Error(`--rounds takes a whole number ≥ 1, got ${inline ?? argv[i]}`);
        break;
      case "--time":
        opts.timeMs = Number(value());
        break;
      default:
        throw new Error(
          `unknown argument ${argv[i]} (known: --quick --only W3,W4 --systems a,b --out DIR --no-write --time MS --rounds N)`,
        );
    }
  }
  return opts;
}

function isEntryScript(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  const self = fileURLToPath(import.meta.url);
  const a = resolve(arg);
  return a === self || a === self.replace(/\.ts$/, "");
}

if (isEntryScript()) {
  runBench(parseArgs(process.argv.slice(2))).then(
    (r) => process.exit(r.problems.length ? 1 : 0),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
