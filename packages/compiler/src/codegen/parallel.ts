/**
 * Parallel jobs of the step: a group split into slices that the threads compute at the same time. The
 * step runs `par.fork(j); par.join()`; each thread (the main one too) claims slices of job j and runs
 * slice s through the generated `function jobs(j, s)`. A job has slicesPerThread slices per thread, so
 * that a thread that is late (descheduled on a busy machine) holds up a small part only. Slices are cut
 * along the output's rows or columns only, never through a sum, so each value is computed exactly as with
 * one thread, whichever thread computes it.
 */
import { bin, id, member, num } from "@adjoint/core";
import { ldA, ldB, ldC, type MatmulSpec, planMatmul } from "../wasm/matmul-plan";
import { block, call, exprStmt, ifStmt, note, ret, type Stmt } from "./ast";
import type { DimSlice } from "./loops";

/**
 * Products below this many multiply-adds stay on one thread. Not measured yet (the shared machine was
 * too loaded for a threshold to mean anything): a fork/join costs a few microseconds (two wake-ups, or
 * spins, and caches warmed twice), while 2^17 multiply-adds take ~5 µs on one core at 50 GFLOP/s, so a
 * split below that cannot pay off.
 */
export const THREAD_MIN_MACS = 1 << 17;

export interface ParallelBuild {
  threads: number;
  /** Products below this many multiply-adds stay on one thread. */
  minMacs: number;
  /** Slices a job is cut into: slicesPerThread × threads (where the product has enough tiles). */
  slices: number;
  /** Per job, the statements of each slice. */
  jobs: Stmt[][][];
  /**
   * Per worker (thread t at index t − 1), the compiled wasm modules its slices call, by name: every
   * worker holds every slice's module, since any thread may claim any slice.
   */
  modules: Array<Array<[string, object]>>;
}

/**
 * Slices per thread in a job. With 1 (one slice per thread), a worker descheduled by another process on
 * the shared 2-core machine kept the main thread waiting for half the product: interleaved runs of
 * benchmarks/src/thread-speedup.ts at load ~3 gave W3 0.89× and W4 0.97× on 2 threads; with 2 (threads
 * claim slices as they come free), 1.23× and 1.53× at the same load, a few minutes later.
 */
export const SLICES_PER_THREAD = 2;

export function parallelBuild(
  threads: number,
  minMacs = THREAD_MIN_MACS,
  slicesPerThread = SLICES_PER_THREAD,
): ParallelBuild {
  return {
    threads,
    minMacs,
    slices: threads * slicesPerThread,
    jobs: [],
    modules: Array.from({ length: threads - 1 }, () => []),
  };
}

/** Registers a job of `slices` and returns what the step runs: fork, then join (which runs slices too). */
export function forkJoin(build: ParallelBuild, slices: Stmt[][]): Stmt[] {
  const job = build.jobs.length;
  build.jobs.push(slices.map((s) => [block(s)]));
  const fork = note(
    exprStmt(call(member(id("par"), "fork"), [num(job)])),
    `parallel job ${job}: ${slices.length} slices, claimed by the main thread and the workers`,
  );
  return [fork, exprStmt(call(member(id("par"), "join")))];
}

/** The threads' program: `return function jobs(j, s) { ... }` over the same F and wasm names as the step. */
export function jobsProgram(build: ParallelBuild): Stmt {
  const cases: Stmt[] = build.jobs.map((slices, j) =>
    ifStmt(bin("===", id("j"), num(j)), [
      ...slices.map((body, i) => ifStmt(bin("===", id("s"), num(i)), [...body, ret(num(0))])),
      ret(num(0)),
    ]),
  );
  const fn = {
    type: "FunctionExpression",
    id: id("jobs"),
    params: [id("j"), id("s")],
    body: { type: "BlockStatement", body: [...cases, ret(num(0))] },
    generator: false,
    async: false,
  };
  return note(
    { type: "Program", sourceType: "script", body: [{ type: "ReturnStatement", argument: fn }] } as Stmt,
    `adjoint parallel jobs: ${build.jobs.length} jobs of up to ${build.slices} slices over ${build.threads} threads; F is the graph's memory`,
  );
}

/** [lo, hi) of part p when `units` are shared out as evenly as possible over `parts`. */
export function share(units: number, parts: number, p: number): [number, number] {
  const base = Math.floor(units / parts);
  const extra = units % parts;
  const lo = p * base + Math.min(p, extra);
  return [lo, lo + base + (p < extra ? 1 : 0)];
}

export interface MatmulSlice {
  spec: MatmulSpec;
  /** The slice of the output (of shape [m, n] or [batch, m, n]) this part computes. */
  slice: DimSlice;
}

/**
 * Cuts a product into one kernel per thread, by rows of C or by columns, in whole register tiles. Each
 * part reads and writes the full matrices in place through leading dimensions. Rows repeat the packing
 * of B in every part (k·n each), columns the packing of A when A is packed (m·k): the cheaper is chosen.
 */
export function splitMatmul(spec: MatmulSpec, threads: number, outRank: number): MatmulSlice[] | null {
  const plan = planMatmul(spec);
  const { tileRows, tileCols } = plan.tuning;
  const { m, n, k } = spec;
  const rowUnits = Math.ceil(m / tileRows);
  const colUnits = Math.ceil(n / tileCols);
  const colCost = plan.packA ? m * k : 0;
  const byColumns =
    colUnits >= threads && (colCost < k * n || rowUnits < threads)
      ? true
      : rowUnits >= threads
        ? false
        : null;
  const units = byColumns === null ? Math.max(rowUnits, colUnits) : byColumns ? colUnits : rowUnits;
  const columns = byColumns ?? colUnits >= rowUnits;
  const parts = Math.min(threads, units);
  if (parts < 2) return null;
  const slices: MatmulSlice[] = [];
  for (let p = 0; p < parts; p++) {
    const [u0, u1] = share(units, parts, p);
    if (columns) {
      const j0 = u0 * tileCols;
      const j1 = Math.min(n, u1 * tileCols);
      slices.push({
        spec: {
          ...spec,
          n: j1 - j0,
          bOffset: spec.bOffset + j0 * (spec.transB ? k : 1) * 4,
          cOffset: spec.cOffset + j0 * 4,
          ldb: spec.transB ? undefined : ldB(spec),
          ldc: ldC(spec),
        },
        slice: { dim: outRank - 1, lo: j0, hi: j1 },
      });
    } else {
      const i0 = u0 * tileRows;
      const i1 = Math.min(m, u1 * tileRows);
      slices.push({
        spec: {
          ...spec,
          m: i1 - i0,
          aOffset: spec.aOffset + i0 * (spec.transA ? 1 : k) * 4,
          cOffset: spec.cOffset + i0 * ldC(spec) * 4,
          lda: spec.transA ? ldA(spec) : undefined,
          ldc: ldC(spec),
        },
        slice: { dim: outRank - 2, lo: i0, hi: i1 },
      });
    }
  }
  return slices;
}
