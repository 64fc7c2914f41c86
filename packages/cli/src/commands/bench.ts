/**
 * `adjoint bench`: the benchmark harness (benchmarks/src/main.ts), loaded only when asked for, since it
 * pulls in every system it compares against.
 */

import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CliError, oneLine } from "../errors";
import type { BenchCliOptions } from "../options";

const HARNESS = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../benchmarks/src/main.ts");

interface BenchModule {
  runBench(options: {
    quick?: boolean;
    only?: string[];
    systems?: string[];
    outDir?: string | null;
    log?: (line: string) => void;
  }): Promise<unknown>;
}

export async function runBenchCommand(opts: BenchCliOptions, out: (line: string) => void): Promise<void> {
  let harness: BenchModule;
  try {
    harness = (await import(pathToFileURL(HARNESS).href)) as BenchModule;
  } catch (error) {
    throw new CliError(`cannot load the benchmark harness ${HARNESS}: ${oneLine(error)}`);
  }
  if (typeof harness.runBench !== "function") throw new CliError(`${HARNESS} does not export runBench`);
  await harness.runBench({
    quick: opts.quick,
    ...(opts.only ? { only: opts.only } : {}),
    ...(opts.systems ? { systems: opts.systems } : {}),
    ...(opts.out ? { outDir: opts.out } : {}),
    log: out,
  });
}
