import { copyFloats, countedLoop, range, setOffset, zeroFloats } from "./emit-helpers";
import { FunctionBuilder, I32, V128 } from "./encoder";
import { ldA, ldB, type MatmulPlan } from "./matmul-plan";

/*
 * Packing copies one cache block of an operand into the contiguous layout the micro-kernel streams:
 *   B̃: panels of tileCols columns, each kc rows of tileCols floats (right edge zero-padded), so a k step
 *      is one or a few aligned-in-sequence v128 loads whatever B's orientation;
 *   Ã: tiles of tileRows rows, each kc steps of tileRows floats (or v128 splats, see broadcastA), so the
 *      A values of one k step are adjacent; used when A is stored transposed or pre-broadcast.
 * Both take $src, pointing at the block's first element of op(B) / op(A); the B packer also takes $dst, so the
 * driver can pack one panel at a time right before the tiles that use it (see MatmulTuning.packBPerPanel).
 */

export function packBName(kc: number, cols: number): string {
  return `pack_b_k${kc}_n${cols}`;
}

export function packAName(kc: number, rows: number): string {
  return `pack_a_k${kc}_m${rows}`;
}

/** Packs op(B)[pc : pc+kc, jc : jc+cols] into consecutive panels at $dst. */
export function emitPackB(plan: MatmulPlan, kc: number, cols: number): FunctionBuilder {
  const { spec } = plan;
  const { tileCols } = plan.tuning;
  const fn = new FunctionBuilder(packBName(kc, cols), [
    ["src", I32],
    ["dst_start", I32],
  ]);
  const [src, dstStart] = [0, 1];
  const panelSrc = fn.local("panel_src", I32);
  const rowSrc = fn.local("row_src", I32);
  const dst = fn.local("dst", I32);
  const panels = fn.local("panels_left", I32);
  const steps = fn.local("k_left", I32);
  const transposed = range(4).map((q) => fn.local(`t${q}`, V128));
  const pairs = range(4).map((q) => fn.local(`pair${q}`, V128));
  const rowBytes = tileCols * 4;
  // Where op(B)[k, j] lives relative to op(B)[0, 0] of the block.
  const kStride = spec.transB ? 4 : ldB(spec) * 4;
  const jStride = spec.transB ? spec.k * 4 : 4;

  fn.get(dstStart).set(dst);
  fn.get(src).set(panelSrc);
  const fullPanels = Math.floor(cols / tileCols);
  const edgeCols = cols % tileCols;

  countedLoop(fn, panels, fullPanels, () => {
    fn.get(panelSrc).set(rowSrc);
    if (!spec.transB) {
      // Each k step of the panel is tileCols contiguous floats of a B row.
      countedLoop(fn, steps, kc, () => {
        copyFloats(fn, dst, 0, rowSrc, 0, tileCols);
        stepPointers(fn, rowSrc, kStride, dst, rowBytes);
      });
    } else {
      // B rows are op(B) columns: load 4 k-steps of 4 columns and transpose them in registers.
      countedLoop(fn, steps, Math.floor(kc / 4), () => {
        transposeGroups(fn, tileCols / 4, jStride, rowSrc, dst, rowBytes, transposed, pairs);
        stepPointers(fn, rowSrc, 4 * kStride, dst, 4 * rowBytes);
      });
      countedLoop(fn, steps, kc % 4, () => {
        for (let j = 0; j < tileCols; j++)
          fn.get(dst)
            .get(rowSrc)
            .f32Load(j * jStride)
            .f32Store(j * 4);
        stepPointers(fn, rowSrc, kStride, dst, rowBytes);
      });
    }
    setOffset(fn, panelSrc, panelSrc, tileCols * jStride);
  });

  if (edgeCols > 0) {
    // The last panel is zero-padded so the kernel can always compute full tiles; only edgeCols are stored.
    fn.get(panelSrc).set(rowSrc);
    countedLoop(fn, steps, kc, () => {
      zeroFloats(fn, dst, 0, tileCols);
      if (!spec.transB) copyFloats(fn, dst, 0, rowSrc, 0, edgeCols);
      else
        for (let j = 0; j < edgeCols; j++)
          fn.get(dst)
            .get(rowSrc)
            .f32Load(j * jStride)
            .f32Store(j * 4);
      stepPointers(fn, rowSrc, kStride, dst, rowBytes);
    });
  }
  return fn;
}

/**
 * Packs op(A)[ic : ic+rows, pc : pc+kc] into tiles at plan.packedAOffset: per k step, the tile's rows as
 * floats, or as v128 splats when plan.tuning.broadcastA.
 */
export function emitPackA(plan: MatmulPlan, kc: number, rows: number): FunctionBuilder {
  const { spec } = plan;
  const { tileRows, broadcastA } = plan.tuning;
  const fn = new FunctionBuilder(packAName(kc, rows), [["src", I32]]);
  const src = 0;
  const tileSrc = fn.local("tile_src", I32);
  const rowSrc = fn.local("row_src", I32);
  const dst = fn.local("dst", I32);
  const tiles = fn.local("tiles_left", I32);
  const steps = fn.local("k_left", I32);
  // Where op(A)[i, k] lives relative to op(A)[0, 0] of the block.
  const kStride = spec.transA ? ldA(spec) * 4 : 4;
  const rowStride = spec.transA ? 4 : spec.k * 4;
  const elementBytes = plan.packedAElementBytes;

  const transposed = range(4).map((q) => fn.local(`t${q}`, V128));
  const pairs = range(4).map((q) => fn.local(`pair${q}`, V128));
  const stepBytes = tileRows * elementBytes;

  fn.i32Const(plan.packedAOffset).set(dst);
  fn.get(src).set(tileSrc);
  const copyTile = (tileHeight: number) => {
    fn.get(tileSrc).set(rowSrc);
    // Row-major A in groups of 4 rows: load 4 k-steps of each row and transpose them in registers.
    const vectorSteps = !broadcastA && rowStride !== 4 && tileHeight % 4 === 0 ? Math.floor(kc / 4) : 0;
    countedLoop(fn, steps, vectorSteps, () => {
      transposeGroups(fn, tileHeight / 4, rowStride, rowSrc, dst, stepBytes, transposed, pairs);
      stepPointers(fn, rowSrc, 4 * kStride, dst, 4 * stepBytes);
    });
    countedLoop(fn, steps, kc - 4 * vectorSteps, () => {
      if (broadcastA) {
        for (let r = 0; r < tileHeight; r++) {
          fn.get(dst)
            .get(rowSrc)
            .v128Load32Splat(r * rowStride)
            .v128Store(r * 16);
        }
      } else if (rowStride === 4) {
        copyFloats(fn, dst, 0, rowSrc, 0, tileHeight); // the tile's k column is contiguous in [k, m]
      } else {
        for (let r = 0; r < tileHeight; r++)
          fn.get(dst)
            .get(rowSrc)
            .f32Load(r * rowStride)
            .f32Store(r * 4);
      }
      stepPointers(fn, rowSrc, kStride, dst, stepBytes);
    });
  };
  countedLoop(fn, tiles, Math.floor(rows / tileRows), () => {
    copyTile(tileRows);
    setOffset(fn, tileSrc, tileSrc, tileRows * rowStride);
  });
  if (rows % tileRows > 0) copyTile(rows % tileRows);
  return fn;
}

function stepPointers(
  fn: FunctionBuilder,
  source: number,
  sourceBytes: number,
  dest: number,
  destBytes: number,
) {
  setOffset(fn, source, source, sourceBytes);
  setOffset(fn, dest, dest, destBytes);
}

/**
 * Four k steps of `groups` × 4 source lines (line i at src + i·lineStride, its k steps contiguous), stored as
 * 4 packed steps of stepBytes at dst: step q holds element q of every line, 4 lines per v128.
 */
function transposeGroups(
  fn: FunctionBuilder,
  groups: number,
  lineStride: number,
  src: number,
  dst: number,
  stepBytes: number,
  transposed: number[],
  pairs: number[],
) {
  for (let group = 0; group < groups; group++) {
    const lineOffsets = range(4).map((i) => (group * 4 + i) * lineStride);
    transpose4x4(fn, src, lineOffsets, transposed, pairs);
    for (let q = 0; q < 4; q++)
      fn.get(dst)
        .get(transposed[q]!)
        .v128Store(q * stepBytes + group * 16);
  }
}

/**
 * Loads four v128 rows (row i at pointer + rowOffsets[i], 4 consecutive floats each) and leaves their
 * transpose in `out`: out[q] = [row0[q], row1[q], row2[q], row3[q]]. `pairs` are 4 more v128 scratch locals.
 * The shuffles are the unpcklps/unpckhps/movlhps/movhlps patterns V8 recognises.
 */
function transpose4x4(
  fn: FunctionBuilder,
  pointer: number,
  rowOffsets: number[],
  out: number[],
  pairs: number[],
) {
  const [p0, p1, p2, p3] = pairs as [number, number, number, number];
  const rowLoads = rowOffsets.map((offset, i) => {
    fn.get(pointer).v128Load(offset).set(out[i]!);
    return out[i]!;
  });
  const [r0, r1, r2, r3] = rowLoads as [number, number, number, number];
  const shuffle = (x: number, y: number, lanes: [number, number, number, number], into: number) =>
    fn.get(x).get(y).f32x4Shuffle(lanes).set(into);
  // p0 = [r0_0 r1_0 r0_1 r1_1], p1 = [r0_2 r1_2 r0_3 r1_3], p2/p3 the same for rows 2, 3.
  shuffle(r0, r1, [0, 4, 1, 5], p0);
  shuffle(r0, r1, [2, 6, 3, 7], p1);
  shuffle(r2, r3, [0, 4, 1, 5], p2);
  shuffle(r2, r3, [2, 6, 3, 7], p3);
  // Column 0 is the low halves of p0 and p2, column 1 their high halves; p1 and p3 give columns 2 and 3.
  shuffle(p0, p2, [0, 1, 4, 5], out[0]!);
  shuffle(p0, p2, [2, 3, 6, 7], out[1]!);
  shuffle(p1, p3, [0, 1, 4, 5], out[2]!);
  shuffle(p1, p3, [2, 3, 6, 7], out[3]!);
}
