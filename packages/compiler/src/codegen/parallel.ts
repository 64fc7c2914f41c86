/**
 * Parallel jobs of the step: a group split into slices that the threads compute at the same time. The
 * step runs `par.fork(j); par.join()`; each thread (the main one too) claims slices of job j and runs
 * slice s through the generated `function jobs(j, s)`. A job has slicesPerThread slices per thread, so
 * that a thread that is late (descheduled on a busy machine) holds up a small part only. Slices are cut
 * along the output's rows or columns only, never through a sum, so each value is computed exactly as with
 * one thread, whichever thread computes it.
 */
import { bin, cond, type Expr, id, member, num } from "@adjoint/core";
import { ldA, ldB, ldC, type MatmulSpec, planMatmul } from "../wasm/matmul-plan";
import { block, call, constDecl, exprStmt, ifStmt, note, ret, type Stmt } from "./ast";
import type { DimSlice } from "./loops";

/**
 * Products below this many multiply-adds stay on one thread. From benchmarks/src/split-threshold.ts (one
 * product, threads 1 vs 2 interleaved, 16×32×32 … 128×512×512, the three orientations). In the least
 * loaded of three sweeps (load 1.6), in the orientation timed while the second core was free (A·Bᵀ),
 * every product from 2^17 (32×64×64, 128×32×32: 1.39–1.42×) up paid (1.25–1.93×) and every smaller one
 * lost (0.42–0.89×: a fork/join costs a few µs). In the other orientations of that sweep, and in whole
 * sweeps at load 3–5, no split paid at any size (0.8–1.0× at 2^22–2^25): the second core was taken.
 */
export const THREAD_MIN_MACS = 1 << 17;

/**
 * Loops (elementwise groups, reductions, window copies; loop-split.ts) over fewer elements than this stay
 * on one thread. From benchmarks/src/loop-split-threshold.ts (one loop, threads 1 vs 2 interleaved, 2^10 …
 * 2^20 elements; 2-core "AMD EPYC", /proc/cpuinfo family 26 model 2, 2.6 GHz). In two quiet sweeps (load
 * 1.2, then 0.9), the computing loops paid from 2^11–2^13 (bias + ReLU 1.5–1.7×, a sum over the batch
 * 1.2–2.0×, a max of 4 1.1–1.9×; a few single sizes above fell to 0.7–1.0×, between sizes that paid) and
 * lost or tied at 2^10 (0.6–1.0×: a fork/join costs about a µs); the strided copy (a transpose) paid from
 * 2^14 in the second sweep (1.22×, 2^15 1.26×) and from 2^16 in the first (0.85× at 2^15). 2^15 is where
 * every kind paid in at least one quiet sweep and the computing ones in both. In three sweeps at load 2–5
 * no loop split paid at any size (0.3–0.96× medians): the second core was taken.
 */
export const THREAD_MIN_ELEMENTS = 1 << 15;

/**
 * A parallel job: either the statements of each slice (a split product: one kernel per slice), or one
 * body that every slice runs, reading its share from `s` (a split loop: one copy of the loop, not one per
 * slice, keeps the jobs function small enough for V8 to optimize).
 */
export type Job = { kind: "each"; slices: Stmt[][] } | { kind: "shared"; slices: number; body: Stmt[] };

export interface ParallelBuild {
  threads: number;
  /** Products below this many multiply-adds stay on one thread. */
  minMacs: number;
  /** Elementwise loops and reductions over fewer elements than this stay on one thread (loop-split.ts). */
  minElements: number;
  /** Slices a job is cut into: slicesPerThread × threads (where the product has enough tiles). */
  slices: number;
  jobs: Job[];
  /**
   * Per worker (thread t at index t − 1), the compiled wasm modules its slices call, by name: every
   * worker holds every slice's module, since any thread may claim any slice.
   */
  modules: Array<Array<[string, object]>>;
}

/**
 * Slices per thread in a job. With 1, a worker descheduled by another process on the shared 2-core
 * machine keeps the main thread waiting for half the product; with 2, for a quarter at most. Measured
 * (benchmarks/src/thread-speedup.ts, 2 threads over 1): 1 slice at load 3.4 gave W3 0.89×, W4 0.97×, and
 * 2 slices at load 3.2 a few minutes later 1.23×, 1.53×; but 1 and 2 side by side in one run, at load 6–11,
 * did not separate (W3 0.95× / 0.71×, then 0.86× / 0.83×; W4 0.94× / 0.80×, then 1.11× / 1.13×; every
 * range 0.1–2.2×). 2 is kept for the bound on a late worker, not for a measured gain.
 */
export const SLICES_PER_THREAD = 2;

export function parallelBuild(
  threads: number,
  minMacs = THREAD_MIN_MACS,
  slicesPerThread = SLICES_PER_THREAD,
  minElements = THREAD_MIN_ELEMENTS,
): ParallelBuild {
  return {
    threads,
    minMacs,
    minElements,
    slices: threads * slicesPerThread,
    jobs: [],
    modules: Array.from({ length: threads - 1 }, () => []),
  };
}

/** Registers a job of `slices` and returns what the step runs: fork, then join (which runs slices too). */
export function forkJoin(build: ParallelBuild, slices: Stmt[][]): Stmt[] {
  build.jobs.push({ kind: "each", slices: slices.map((s) => [block(s)]) });
  return forkJoinStatements(build.jobs.length - 1, slices.length);
}

/**
 * Registers a job whose `parts` slices share `units` iterations of a loop as evenly as possible (share());
 * `body` gets the expressions of the slice's [lo, hi), computed from `s` when the slice runs.
 */
export function forkJoinShared(
  build: ParallelBuild,
  units: number,
  parts: number,
  body: (lo: Expr, hi: Expr) => Stmt[],
): Stmt[] {
  const base = Math.floor(units / parts);
  const extra = units % parts;
  const s = id("s");
  // lo = s·base + min(s, extra), hi = lo + base + (s < extra ? 1 : 0): share(units, parts, s) in the slice.
  const bounds = [
    constDecl(
      "lo",
      extra === 0
        ? bin("*", s, num(base))
        : bin("+", bin("*", s, num(base)), cond(bin("<", s, num(extra)), s, num(extra))),
    ),
    constDecl(
      "hi",
      extra === 0
        ? bin("+", id("lo"), num(base))
        : bin("+", id("lo"), cond(bin("<", s, num(extra)), num(base + 1), num(base))),
    ),
  ];
  build.jobs.push({ kind: "shared", slices: parts, body: [...bounds, ...body(id("lo"), id("hi"))] });
  return forkJoinStatements(build.jobs.length - 1, parts);
}

function forkJoinStatements(job: number, slices: number): Stmt[] {
  const fork = note(
    exprStmt(call(member(id("par"), "fork"), [num(job)])),
    `parallel job ${job}: ${slices} slices, claimed by the main thread and the workers`,
  );
  return [fork, exprStmt(call(member(id("par"), "join")))];
}

/** The number of slices of each job, for the thread pool. */
export function jobSlices(build: ParallelBuild): number[] {
  return build.jobs.map((job) => (job.kind === "each" ? job.slices.length : job.slices));
}

/** The threads' program: `return function jobs(j, s) { ... }` over the same F and wasm names as the step. */
export function jobsProgram(build: ParallelBuild): Stmt {
  const cases: Stmt[] = build.jobs.map((job, j) =>
    ifStmt(
      bin("===", id("j"), num(j)),
      job.kind === "each"
        ? [
            ...job.slices.map((body, i) => ifStmt(bin("===", id("s"), num(i)), [...body, ret(num(0))])),
            ret(num(0)),
          ]
        : [...job.body, ret(num(0))],
    ),
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
 * Cuts a product into one kernel per thread. A batch of independent products (a convolution's, one per
 * image) is cut by batch elements: each part is the same kernel over fewer elements, packs nothing twice
 * and writes a contiguous block of C, bias and activation included. Otherwise by rows of C or by columns,
 * in whole register tiles; each part reads and writes the full matrices in place through leading
 * dimensions. Rows repeat the packing of B in every part (k·n each), columns the packing of A when A is
 * packed (m·k): the cheaper is chosen. A bias follows the part's rows (one per row) or columns (one per
 * column), so the kernel's own epilogue runs in every part.
 */
export function splitMatmul(spec: MatmulSpec, threads: number, outRank: number): MatmulSlice[] | null {
  const batch = spec.batch;
  if (batch && batch.cStride !== 0 && batch.count >= threads && outRank === 3) {
    return Array.from({ length: threads }, (_, p) => {
      const [b0, b1] = share(batch.count, threads, p);
      return {
        spec: {
          ...spec,
          aOffset: spec.aOffset + b0 * batch.aStride,
          bOffset: spec.bOffset + b0 * batch.bStride,
          cOffset: spec.cOffset + b0 * batch.cStride,
          batch: { ...batch, count: b1 - b0 },
        },
        slice: { dim: 0, lo: b0, hi: b1 },
      };
    });
  }
  const plan = planMatmul(spec);
  const { rows: tileRows, cols: tileCols } = plan.tile;
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
          biasOffset:
            spec.biasOffset === undefined || spec.biasPerRow ? spec.biasOffset : spec.biasOffset + j0 * 4,
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
          biasOffset:
            spec.biasOffset !== undefined && spec.biasPerRow ? spec.biasOffset + i0 * 4 : spec.biasOffset,
          lda: spec.transA ? ldA(spec) : undefined,
          ldc: ldC(spec),
        },
        slice: { dim: outRank - 2, lo: i0, hi: i1 },
      });
    }
  }
  return slices;
}
