/**
 * The graph-level passes, in order. Each is a pure Program -> Program function; each can be switched
 * off (compile's `passes` option) and timed (`timing`), as tinygrad lets every stage be inspected.
 */
import type { Program } from "../program";
import { batchSum } from "./batch-sum";
import { cse } from "./cse";
import { dce } from "./dce";
import { poolGrad } from "./pool-grad";
import { padWindows } from "./padded-windows";
import { simplify } from "./simplify";
import { sinkReshape } from "./sink-reshape";

export const PASSES = { simplify, cse, dce, batchSum, poolGrad, sinkReshape, padWindows } as const;
export type PassName = keyof typeof PASSES;

/** Switches for the passes and for fusion (each on unless set to false). */
export interface PassOptions {
  simplify?: boolean;
  cse?: boolean;
  dce?: boolean;
  fusion?: boolean;
  /** Σ over the batch of a batched matmul as one matmul (see batch-sum.ts). */
  batchSum?: boolean;
  /** A max pool's gradient (mask, product, col2im) as one loop (see pool-grad.ts). */
  poolGrad?: boolean;
  /** Elementwise ops after a matmul's reshape moved before it, as its epilogue (see sink-reshape.ts). */
  sinkReshape?: boolean;
  /** A padded conv's im2col read from the unpadded input, no padded copy (see padded-windows.ts). */
  padWindows?: boolean;
}

/**
 * Runs the program passes in order (simplify, CSE, DCE, ...), each unless switched off; records per-pass
 * times in `timings`.
 */
export function runPasses(p: Program, options: PassOptions, timings?: Record<string, number>): Program {
  for (const name of [
    "simplify",
    "cse",
    "dce",
    "simplify",
    "dce",
    "batchSum",
    "poolGrad",
    "sinkReshape",
    "padWindows",
    "simplify",
    "dce",
  ] as const) {
    if (options[name] === false) continue;
    const t0 = performance.now();
    p = PASSES[name](p);
    if (timings) timings[name] = (timings[name] ?? 0) + performance.now() - t0;
  }
  return p;
}

export { batchSum, cse, dce, padWindows, poolGrad, simplify, sinkReshape };
