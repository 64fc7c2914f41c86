/**
 * An elementwise epilogue run by the matmul micro-kernel on each register tile, instead of a separate pass
 * over the stored product: the loop the elementwise kernel would run over C (an optimizer's update of the
 * weight whose gradient the product is, a relu's mask...) reads the product from the tile's accumulators
 * and its other operands at the tile's elements, and stores its outputs there; C itself is not written on
 * the last K block. In W3 the Adam update of the first layer's weights read its 400 KB gradient back from
 * memory after the product had written it; fused, the gradient never leaves the registers.
 *
 * Every operand and store has the product's layout (element e at offset + 4e, e = i·ldc + j over the whole
 * product): a tile's element sits at a fixed distance from its C address, so each is read at the tile's C
 * pointer plus that distance. The lanes of a right-edge vector past the tile are neither read nor stored.
 * The arithmetic is the elementwise kernel's (lane-code.ts): the same float32 ops in the same order, so
 * fused and unfused give the same bits.
 */
import { loadLanes, range, storeLanes } from "./emit-helpers";
import type { ElementwiseSpec } from "./elementwise";
import { type FunctionBuilder, I32 } from "./encoder";
import { laneCode } from "./lane-code";

export interface FusedEpilogue {
  /** The flat elementwise loop over the whole product (no rows), as the separate kernel would run it. */
  elementwise: ElementwiseSpec;
  /** The operand that is the product itself: read from the accumulators. */
  product: number;
  /** Byte offset of element 0 of the whole product, the origin of the operands' distances. */
  productOffset: number;
}

/** The [start, end) bytes the epilogue reads or writes, for the kernel's memory extent and overlap checks. */
export function fusedSpans(fused: FusedEpilogue): Array<[string, number, number]> {
  const { elementwise: ew } = fused;
  const bytes = ew.count * 4;
  return [
    ...ew.operands.flatMap(
      (o, i): Array<[string, number, number]> =>
        i === fused.product
          ? []
          : [[`epilogue operand ${i}`, o.offset, o.offset + (o.broadcast ? 4 : bytes)]],
    ),
    ...ew.stores.map((s, i): [string, number, number] => [`epilogue store ${i}`, s.offset, s.offset + bytes]),
  ];
}

export interface TileGeometry {
  rows: number;
  cols: number;
  /** Byte distance between C rows. */
  cRowStride: number;
}

/**
 * Emits the epilogue of one tile: `acc[r][v]` are the accumulators (row r, vector v of four columns),
 * `c` the i32 local holding the tile's first C address, `scratch` a free v128 local.
 */
export function emitFusedEpilogue(
  fn: FunctionBuilder,
  fused: FusedEpilogue,
  tile: TileGeometry,
  acc: number[][],
  c: number,
  scratch: number,
): void {
  const ew = fused.elementwise;
  const code = laneCode(fn, ew.operands, ew.members);
  code.emitConstants();
  for (const [i, local] of code.broadcast) fn.i32Const(0).v128Load32Splat(ew.operands[i]!.offset).set(local);
  // The tile's element 0 in each operand and store: c + (their offset − the product's). i32.add wraps, so a
  // negative distance is an add too, and the sum is the element's (non-negative) address.
  const origin = (offset: number, name: string) => {
    const local = fn.local(name, I32);
    fn.get(c)
      .i32Const(offset - fused.productOffset)
      .i32Add()
      .set(local);
    return local;
  };
  const operandAt = new Map(
    [...code.loaded.keys()]
      .filter((i) => i !== fused.product)
      .map((i) => [i, origin(ew.operands[i]!.offset, `epilogue_x${i}`)]),
  );
  const storeAt = ew.stores.map((s, i) => origin(s.offset, `epilogue_store${i}`));
  const vectors = Math.ceil(tile.cols / 4);
  for (let r = 0; r < tile.rows; r++) {
    for (const v of range(vectors)) {
      const offset = r * tile.cRowStride + v * 16;
      const lanes = Math.min(4, tile.cols - v * 4);
      for (const [i, local] of code.loaded) {
        if (i === fused.product) fn.get(acc[r]![v]!);
        else loadLanes(fn, operandAt.get(i)!, offset, lanes, scratch);
        fn.set(local);
      }
      code.emitMembers();
      ew.stores.forEach((s, i) => {
        storeLanes(fn, storeAt[i]!, offset, lanes, code.memberLocal[s.member]!);
      });
    }
  }
}
