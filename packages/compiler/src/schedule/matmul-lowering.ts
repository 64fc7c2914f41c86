/**
 * How a matmul group is lowered to JS loops, decided before memory is planned: the register tile, when the
 * plain loops beat the tiled kernel, and the scratch the tiled kernel needs. The memory planner reserves
 * that scratch and the renderer (codegen/matmul-js.ts) uses it, both reading it here, so planning comes
 * before code generation.
 */

/**
 * Register tile of the JS matmul: MR rows of A by NR columns of B, and the unroll of its k loop. Measured
 * at 512³ (GFLOP/s, best of 6, the three orientations, four interleaved rounds of bundled builds on plain
 * node): 3×4 4.4-5.1, 4×3 4.0-5.2, 3×3 3.5-4.6; earlier, under tsx: 4×4 4.2, 2×4 3.6; unrolling k by 2 was
 * slower for every tile. 12 accumulators + 3 + 4 operands still spill a little; every larger tile spilled more.
 */
export const JS_MR = 3;
export const JS_NR = 4;
export const JS_KU = 1;
/** Floats reserved for the C tile at the start of the scratch. */
export const MATMUL_TILE_FLOATS = 16;

/** Whether a product is small enough for the plain loops (measured: below this, packing and tiles cost more). */
export function isSmallMatmul(m: number, n: number, k: number): boolean {
  return m < 4 || n < 4 || m * n * k <= 4096;
}

/** Scratch floats a JS matmul of these sizes needs: the C tile, a packed B panel, A in row panels. */
export function matmulScratchFloats(m: number, k: number): number {
  const kP = Math.ceil(k / JS_KU) * JS_KU;
  return MATMUL_TILE_FLOATS + JS_NR * kP + Math.ceil(m / JS_MR) * JS_MR * kP;
}
