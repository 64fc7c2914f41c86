/**
 * The blocking plan of a generated matmul: tile shape, cache blocks, edge sizes, scratch layout and the
 * memory extent. Everything here is a compile-time constant of the generated module.
 */
import { type FusedEpilogue, fusedSpans } from "./fused-epilogue";

export interface MatmulBatch {
  count: number;
  /**
   * Byte strides between consecutive batch elements; 0 broadcasts that operand. cStride 0 sums the products
   * of all elements into one C (overwriting it first unless `accumulate`; the epilogue runs once, at the end).
   */
  aStride: number;
  bStride: number;
  cStride: number;
}

export interface MatmulSpec {
  /** C[m,n] = op(A)[m,k] · op(B)[k,n]. */
  m: number;
  n: number;
  k: number;
  /** A is stored as [k,m] row-major when true, else [m,k]. */
  transA: boolean;
  /** B is stored as [n,k] row-major when true, else [k,n]. */
  transB: boolean;
  /** Byte offsets into the memory, multiples of 4. */
  aOffset: number;
  bOffset: number;
  cOffset: number;
  /** Byte offset of the scratch region for packed panels; its size is packBytes(spec). */
  packOffset: number;
  /** C += A·B instead of C = A·B. */
  accumulate: boolean;
  /** Epilogue C[i,j] += bias[j] (bias is n float32 at this byte offset), applied after the whole sum. */
  biasOffset?: number;
  /**
   * The bias is one per row instead, C[i,j] += bias[i] (m float32; the same for every batch element): a
   * convolution's product [O, K]·[K, pixels] has its output channels as rows.
   */
  biasPerRow?: boolean;
  /** Epilogue after the bias. */
  activation?: "none" | "relu";
  batch?: MatmulBatch;
  /** Use f32x4.relaxed_madd; only when relaxedSimdAvailable(). */
  fma: boolean;
  /**
   * Row strides (in floats) of the stored operands, when they are slices of wider matrices: A stored
   * transposed as [k, lda] (default m), B stored as [k, ldb] (default n; unused when transB), C as [m, ldc]
   * (default n). A kernel over a block of rows or columns of a larger product (one thread's share) reads
   * and writes the larger matrices in place through them.
   */
  lda?: number;
  ldb?: number;
  ldc?: number;
  /**
   * Run the dot-product kernel (matmul-dot.ts) instead of register tiles. Decided once per product
   * (dotKernelFits), so that the slices of a product split over threads run the kernel of the whole.
   */
  dot?: boolean;
  /**
   * An elementwise loop over C run by the kernel on each tile (fused-epilogue.ts) in place of a bias or
   * relu: C is then written only with the partial sums of earlier K blocks, the loop's outputs instead.
   */
  fused?: FusedEpilogue;
}

/**
 * The dot kernel's outputs per tile: 9 accumulators + 3 A + 3 B vectors fill V8's 15 xmm registers.
 * Against 2×4 and 4×2 (benchmarks/src/matmul-dot.ts, Zen 4): LeNet's conv1 dW (6×25) 1.96× the tile
 * kernel's speed vs 1.79× and 1.55×, conv2 dW (16×150) 1.14× vs 1.17× and 1.23×.
 */
export const DOT_TILE = { rows: 3, cols: 3 };
/**
 * The dot kernel serves products of at most this many outputs with k of at least DOT_MIN_K (4 k per
 * step). Measured against the register tiles, interleaved (benchmarks/src/matmul-dot.ts, Zen 4): 6×25
 * over 64 images 1.93×, 16×150 over 64 images 1.13×, 32×32 (k 1024) 1.04×; from 64×64 (0.97×) and
 * 64×120 (0.92×) up, the tiles win.
 */
export const DOT_MAX_OUTPUTS = 2560;
export const DOT_MIN_K = 16;

/** A and B bytes of a batch block of the dot kernel: Zen 3 has 512 KB of L2 per core, half is the budget. */
const DOT_BLOCK_BYTES = 256 * 1024;

function dotBatchBlock(spec: MatmulSpec, m: number, batch: MatmulBatch): number {
  if (batch.cStride !== 0) return 1;
  const perElement = (m + spec.n) * spec.k * 4;
  return Math.max(1, Math.min(batch.count, Math.floor(DOT_BLOCK_BYTES / perElement)));
}

/** Whether the dot kernel can run the product: A stored [m, k], B stored [n, k], no epilogue, k ≥ DOT_MIN_K. */
function dotKernelRuns(spec: MatmulSpec): boolean {
  return (
    spec.transB &&
    !spec.transA &&
    spec.lda === undefined &&
    spec.biasOffset === undefined &&
    (spec.activation ?? "none") === "none" &&
    spec.fused === undefined &&
    spec.k >= DOT_MIN_K
  );
}

/**
 * Whether C = A·Bᵀ is one for the dot kernel: one it can run (both operands along k, no epilogue), with a
 * small output and a long k (a convolution's weight gradient).
 */
export function dotKernelFits(spec: MatmulSpec): boolean {
  return dotKernelRuns(spec) && spec.m * spec.n <= DOT_MAX_OUTPUTS;
}

/** Float distance between consecutive k of op(A) when A is stored transposed. */
export const ldA = (spec: MatmulSpec): number => spec.lda ?? spec.m;
/** Float distance between consecutive k of op(B) when B is stored as [k, n]. */
export const ldB = (spec: MatmulSpec): number => spec.ldb ?? spec.n;
/** Float distance between rows of C. */
export const ldC = (spec: MatmulSpec): number => spec.ldc ?? spec.n;

/** Blocking and register-tile parameters of the generated kernel. */
export interface MatmulTuning {
  /** Register tile rows×cols; cols is a multiple of 4. 3×12 uses 9 accumulators, 4×8 and 2×16 use 8. */
  tileRows: number;
  tileCols: number;
  /** K block: one packed B micro-panel (kBlock × tileCols floats, 16-32 KB by default) stays in L1. */
  kBlock: number;
  /** M block (multiple of tileRows): the A rows a B micro-panel is reused against (kept in L2). */
  mBlock: number;
  /** N block (multiple of tileCols): bounds the packed B scratch for very wide outputs. */
  nBlock: number;
  /**
   * Pack A with every element pre-broadcast to a v128, so the kernel reads A splats with plain v128.load
   * instead of load32_splat (4× the packed-A bytes).
   */
  broadcastA: boolean;
  /**
   * Pack each B̃ panel (kc × tileCols) during the first M block, right before its tiles run, instead of the
   * whole kc × nc block up front: the panel is then read from L1 while it is hot rather than written out to
   * L3 and read back, which costs ~10% when m is small (W4's 128-row products use each B element 128 times).
   */
  packBPerPanel: boolean;
  /**
   * Pack A also when it is stored row-major [m, k], so the kernel streams one contiguous Ã instead of
   * tileRows rows 4·k bytes apart (with k = 1024 those rows all fall in the same cache sets). Default: only
   * when n ≥ PACK_ROW_MAJOR_A_MIN_N (planMatmul).
   */
  packRowMajorA: boolean;
}

/**
 * Default blocking, measured at 512³ on Zen 3 (32 KB L1d, 512 KB L2), best of interleaved samples:
 *  - FMA: a 4×8 tile reading A splats with load32_splat is FMA-bound (~46-47 GFLOP/s); 2×16 and
 *    pre-broadcast A were within noise. kBlock 512 beat 256 and 384 by ~2% (fewer passes over C).
 *  - mul+add is bound by FP-side ops. A 2×16 tile over pre-broadcast A (plain v128 loads) ran 34.5 in
 *    cache vs 32.2 for 2×16 with load32_splat and 31.3 for 4×8. mBlock 32 keeps the 4× larger packed A
 *    block (32 × 512 × 16 B = 256 KB) in L2.
 *  - Re-measured on W4's shapes (benchmarks/src/matmul-shapes.ts): with FMA, 3×12 and 2×16 stayed within
 *    noise of 4×8 at every shape on Zen 3 and Zen 4; 5×8, 6×8 and 2×20 spill (17-21 GFLOP/s). Packing B panel
 *    by panel and packing row-major A gained 1-3% on the 128-row products and are bit-identical to the old
 *    order.
 *  - On an Intel Xeon (AVX-512, 2026-12-06), 3×12 beat 4×8 at every shape: 512³ 83-87% of the FMA ceiling
 *    against 75-78%, W4's products by 2-9%. Its loop is 9 madds + 6 loads + 6 integer ops (pointer bumps,
 *    zero-extending moves, V8's stack check, the loop branch); on Intel the integer ops share ports 0 and 1
 *    with the FMAs, so the tile with more madds per iteration wins (Zen's integer ALUs are apart). It is the
 *    largest tile whose accumulators, B vectors and A splats fit V8's 15 registers (9 + 3 + 3). The tile
 *    shape does not change any result: every C element sums its k terms in the same order (tests pin it).
 */
export function defaultTuning(fma: boolean): MatmulTuning {
  return fma
    ? {
        tileRows: 3,
        tileCols: 12,
        kBlock: 512,
        // Multiples of 2, 3 and 4 rows, 8, 12 and 16 columns: a tile override alone stays valid. 132 rows
        // keep W4's 128-row products in one M block (2-3% faster than 120: no 8-row block re-reading B).
        mBlock: 132,
        nBlock: 4080,
        broadcastA: false,
        packBPerPanel: true,
        packRowMajorA: false, // planMatmul turns it on for wide outputs
      }
    : {
        tileRows: 2,
        tileCols: 16,
        kBlock: 512,
        mBlock: 32,
        nBlock: 4096,
        broadcastA: true,
        packBPerPanel: true,
        packRowMajorA: false, // planMatmul turns it on for wide outputs
      };
}

/** A dimension cut into equal full blocks and one smaller remainder (either may be absent). */
export interface Blocks {
  size: number;
  full: number;
  remainder: number;
}

export interface MatmulPlan {
  spec: MatmulSpec;
  /** m after folding a broadcast-B batch into one tall matmul (see foldBroadcastBatch). */
  m: number;
  batch: MatmulBatch;
  tuning: MatmulTuning;
  mBlocks: Blocks;
  nBlocks: Blocks;
  kBlocks: Blocks;
  /** Largest K block actually used (k when k < kBlock). */
  kcMax: number;
  /**
   * op(A) is packed when stored transposed (its rows are then columns 4·m bytes apart), pre-broadcast or
   * when tuning.packRowMajorA; otherwise the kernel reads it in place.
   */
  packA: boolean;
  /** Bytes per packed A element: 16 when pre-broadcast, else 4. */
  packedAElementBytes: number;
  packedAOffset: number;
  packedBOffset: number;
  packBytes: number;
  /** Pack B once before the batch loop: B is broadcast and fits one N block and one K block. */
  hoistPackB: boolean;
  epilogue: boolean;
  /** One past the highest byte the kernel touches; the module's minimum memory size. */
  memoryEnd: number;
  /** The dot-product kernel (spec.dot): no packing, tiles of DOT_TILE outputs. */
  dot: boolean;
  /**
   * Dot kernel: batch elements per block, whose A and B rows stay in L2 while every tile of C sweeps them
   * (the partial sums wait in the scratch between blocks); 1 when each element has a C of its own.
   */
  dotBlock: number;
  /** Outputs per register tile (rows × cols of C), for cutting the product into slices. */
  tile: { rows: number; cols: number };
}

const roundUp = (value: number, multiple: number) => Math.ceil(value / multiple) * multiple;

function blocks(extent: number, size: number): Blocks {
  return extent <= size
    ? { size: extent, full: 1, remainder: 0 }
    : { size, full: Math.floor(extent / size), remainder: extent % size };
}

/**
 * A batch whose B is broadcast and whose A and C batches are contiguous row-major slabs is one matmul with
 * count·m rows; that form packs B once and keeps tiles full.
 */
function foldBroadcastBatch(spec: MatmulSpec): { m: number; batch: MatmulBatch } {
  const batch = spec.batch ?? { count: 1, aStride: 0, bStride: 0, cStride: 0 };
  const { m, n, k } = spec;
  // (Not with a bias per row: the folded rows would index past the m biases.)
  if (batch.count > 1 && batch.bStride === 0 && !spec.transA && ldC(spec) === n && !spec.biasPerRow) {
    if (batch.aStride === m * k * 4 && batch.cStride === m * n * 4) {
      return { m: m * batch.count, batch: { count: 1, aStride: 0, bStride: 0, cStride: 0 } };
    }
  }
  return { m, batch };
}

function validate(spec: MatmulSpec, tuning: MatmulTuning): void {
  const { m, n, k } = spec;
  if (spec.fused) {
    if (spec.biasOffset !== undefined || (spec.activation ?? "none") !== "none" || spec.accumulate) {
      throw new Error("matmul: a fused elementwise epilogue replaces bias, activation and accumulate");
    }
    if (spec.fused.elementwise.rows) throw new Error("matmul: a fused elementwise epilogue must be flat");
  }
  const positiveIntegers = { m, n, k, batchCount: spec.batch?.count ?? 1, ...tuning };
  const leading = { lda: [spec.lda, m], ldb: [spec.ldb, n], ldc: [spec.ldc, n] } as const;
  for (const [name, [value, least]] of Object.entries(leading)) {
    if (value !== undefined && !(Number.isInteger(value) && value >= least)) {
      throw new Error(`matmul: ${name} must be an integer of at least ${least}, got ${value}`);
    }
  }
  for (const [name, value] of Object.entries(positiveIntegers)) {
    if (typeof value === "number" && !(Number.isInteger(value) && value >= 1)) {
      throw new Error(`matmul: ${name} must be a positive integer`);
    }
  }
  const byteOffsets = {
    ...{ aOffset: spec.aOffset, bOffset: spec.bOffset, cOffset: spec.cOffset, packOffset: spec.packOffset },
    ...(spec.biasOffset === undefined ? {} : { biasOffset: spec.biasOffset }),
    ...(spec.batch === undefined ? {} : { aStride: spec.batch.aStride, bStride: spec.batch.bStride }),
    ...(spec.batch === undefined ? {} : { cStride: spec.batch.cStride }),
  };
  for (const [name, value] of Object.entries(byteOffsets)) {
    if (!Number.isInteger(value) || value < 0 || value % 4 !== 0) {
      throw new Error(`matmul: ${name} must be a non-negative multiple of 4 (bytes)`);
    }
  }
  if (tuning.tileCols % 4 !== 0) throw new Error("matmul: tileCols must be a multiple of 4");
  if (tuning.mBlock % tuning.tileRows !== 0 || tuning.nBlock % tuning.tileCols !== 0) {
    throw new Error("matmul: mBlock/nBlock must be multiples of the tile");
  }
}

/**
 * Throws if the pack scratch meets any operand's [start, end) byte span over the whole batch. Not part of
 * planMatmul: packBytes(spec) is asked before the scratch has been placed.
 */
export function checkScratchIsSeparate(plan: MatmulPlan): void {
  const { spec, packBytes } = plan;
  const spans = operandSpans(plan);
  const packEnd = spec.packOffset + packBytes;
  for (const [name, start, end] of spans) {
    if (spec.packOffset < end && start < packEnd) {
      throw new Error(
        `matmul: pack scratch [${spec.packOffset}, ${packEnd}) overlaps ${name} [${start}, ${end})`,
      );
    }
  }
}

/** The [start, end) byte span of every operand over the whole batch. */
export function operandSpans(plan: MatmulPlan): Array<[string, number, number]> {
  const { spec, m, batch } = plan;
  const last = batch.count - 1;
  const spans: Array<[string, number, number]> = [
    ["A", spec.aOffset, spec.aOffset + last * batch.aStride + extentA(spec, m)],
    ["B", spec.bOffset, spec.bOffset + last * batch.bStride + extentB(spec)],
    ["C", spec.cOffset, spec.cOffset + last * batch.cStride + extentC(spec, m)],
  ];
  if (spec.biasOffset !== undefined) spans.push(["bias", spec.biasOffset, spec.biasOffset + biasBytes(spec)]);
  if (spec.fused) spans.push(...fusedSpans(spec.fused));
  return spans;
}

/** Bytes of the bias vector: one float per column, or per row. */
function biasBytes(spec: MatmulSpec): number {
  return (spec.biasPerRow ? spec.m : spec.n) * 4;
}

/** Bytes from an operand's first element to one past its last (m: the rows after folding). */
function extentA(spec: MatmulSpec, m: number): number {
  return (spec.transA ? (spec.k - 1) * ldA(spec) + m : m * spec.k) * 4;
}
function extentB(spec: MatmulSpec): number {
  return (spec.transB ? spec.n * spec.k : (spec.k - 1) * ldB(spec) + spec.n) * 4;
}
function extentC(spec: MatmulSpec, m: number): number {
  return ((m - 1) * ldC(spec) + spec.n) * 4;
}

/**
 * Row-major A is packed by default only for outputs at least this wide: a pass over A is paid per M and K
 * block and repaid over n / tileCols panels; at n = 128 (W3) it cost ~2%, at n = 1024 (W4) it gained 1-3%.
 */
export const PACK_ROW_MAJOR_A_MIN_N = 256;

export function planMatmul(spec: MatmulSpec, tuningOverrides: Partial<MatmulTuning> = {}): MatmulPlan {
  const tuning = {
    ...defaultTuning(spec.fma),
    packRowMajorA: spec.n >= PACK_ROW_MAJOR_A_MIN_N,
    ...tuningOverrides,
  };
  validate(spec, tuning);
  const { n, k } = spec;
  const dot = spec.dot === true;
  if (dot && !dotKernelRuns(spec))
    throw new Error("matmul: the dot kernel needs A [m, k] and B [n, k] stored, k ≥ 16 and no epilogue");
  const { m, batch } = dot
    ? { m: spec.m, batch: spec.batch ?? { count: 1, aStride: 0, bStride: 0, cStride: 0 } }
    : foldBroadcastBatch(spec);
  const mBlocks = blocks(m, tuning.mBlock);
  const nBlocks = blocks(n, tuning.nBlock);
  const kBlocks = blocks(k, tuning.kBlock);
  const kcMax = kBlocks.size;
  const packA = !dot && (spec.transA || tuning.broadcastA || tuning.packRowMajorA);
  const packedAElementBytes = tuning.broadcastA ? 16 : 4;
  const dotBlock = dot ? dotBatchBlock(spec, m, batch) : 1;
  // The dot kernel packs nothing: its scratch (at packOffset) keeps the partial sums between batch blocks.
  const dotScratch = dot && dotBlock < batch.count && batch.cStride === 0 ? m * n * 16 : 0;
  const packedBBytes = dot ? dotScratch : kcMax * roundUp(nBlocks.size, tuning.tileCols) * 4;
  const packedABytes = packA ? kcMax * roundUp(mBlocks.size, tuning.tileRows) * packedAElementBytes : 0;
  const packedBOffset = spec.packOffset;
  const packedAOffset = spec.packOffset + packedBBytes;
  const singleBlocks = nBlocks.full + kBlocks.full === 2 && nBlocks.remainder + kBlocks.remainder === 0;
  const hoistPackB = !dot && batch.count > 1 && batch.bStride === 0 && singleBlocks;
  const epilogue = spec.biasOffset !== undefined || spec.activation === "relu" || spec.fused !== undefined;

  const last = batch.count - 1;
  const memoryEnd = Math.max(
    spec.aOffset + last * batch.aStride + extentA(spec, m),
    spec.bOffset + last * batch.bStride + extentB(spec),
    spec.cOffset + last * batch.cStride + extentC(spec, m),
    spec.biasOffset === undefined ? 0 : spec.biasOffset + biasBytes(spec),
    packedAOffset + packedABytes,
    ...(spec.fused ? fusedSpans(spec.fused).map(([, , end]) => end) : []),
  );
  return {
    spec,
    m,
    batch,
    tuning,
    mBlocks,
    nBlocks,
    kBlocks,
    kcMax,
    packA,
    packedAElementBytes,
    packedAOffset,
    packedBOffset,
    packBytes: packedBBytes + packedABytes,
    hoistPackB,
    epilogue,
    memoryEnd,
    dot,
    dotBlock,
    tile: dot ? DOT_TILE : { rows: tuning.tileRows, cols: tuning.tileCols },
  };
}
