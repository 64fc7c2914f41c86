/**
 * A fused elementwise loop as a WebAssembly SIMD kernel: four elements per iteration, in float32 with
 * IEEE rounding after every op (as PyTorch computes, and as the unfused JS loops store), where the JS
 * loop computes the members in float64 and rounds once, at the store. The loop reads each contiguous
 * operand at the element's index, broadcast operands (a scalar in memory, a constant) once before it.
 * The elements left over after the groups of four run one at a time through the same vector code on
 * lane 0, so an element's value never depends on where a slice of the loop starts or ends: any split
 * over threads gives the same bits as one call over everything.
 *
 * The kernel is `run(lo, hi)`: elements [lo, hi) of a loop of `count`. With `rows`, the loop is rows of
 * `inner` elements and `run(lo, hi)` computes rows [lo, hi): an operand may then be read at an offset of
 * its own per row (a batch norm's mean per channel, broadcast along the row, or a bias along it), found
 * from the row's indices over the outer dims; the leftover elements of each row run on lane 0 as above.
 */
import { FunctionBuilder, I32, ModuleBuilder } from "./encoder";
import { type LaneExpr, laneCode } from "./lane-code";

export type { LaneExpr, LaneMask } from "./lane-code";

export const ELEMENTWISE_EXPORT = "run";

export interface ElementwiseSpec {
  /** Elements in the whole loop (a call computes [lo, hi) of them, or of the rows). */
  count: number;
  /**
   * Byte offsets of the operands read from memory; broadcast: one float read for every element (of the
   * row, with rows). rowStrides (with rows): bytes per index of each outer dim, added to the offset.
   */
  operands: Array<{ offset: number; broadcast: boolean; rowStrides?: number[] }>;
  /** The loop as rows: outer dims (row-major) of rows of `inner` elements each. */
  rows?: { outer: number[]; inner: number };
  /** The members in evaluation order; member i may read members before it. */
  members: LaneExpr[];
  /** Members stored, contiguous from a byte offset each. */
  stores: Array<{ member: number; offset: number }>;
}

export function buildElementwiseModule(spec: ElementwiseSpec): ModuleBuilder {
  const fn = new FunctionBuilder(ELEMENTWISE_EXPORT, [
    ["lo", I32],
    ["hi", I32],
  ]);
  const [lo, hi] = [0, 1];
  const p = fn.local("p", I32);
  const vectorEnd = fn.local("vector_end", I32);
  const end = fn.local("end", I32);
  const zero = fn.local("zero", I32);

  // Broadcast operands and constants, one v128 local each, filled before the loops; each contiguous
  // operand is loaded once per iteration, before the members, into a local of its own.
  const code = laneCode(fn, spec.operands, spec.members);
  const { broadcast, loaded, memberLocal } = code;
  code.emitConstants();

  /**
   * One iteration: four lanes, or lane 0 alone. `at(i)` pushes the byte address of operand i's element
   * (minus the returned immediate offset); `storeAt` the same for the stores.
   */
  const body = (lanes: 4 | 1, at: (operand: number) => number, storeAt: (offset: number) => number) => {
    for (const [i, local] of loaded) {
      const offset = at(i);
      if (lanes === 4) fn.v128Load(offset);
      else fn.v128Load32Zero(offset);
      fn.set(local);
    }
    code.emitMembers();
    for (const s of spec.stores) {
      const offset = storeAt(s.offset);
      fn.get(memberLocal[s.member]);
      if (lanes === 4) fn.v128Store(offset);
      else fn.v128Store32Lane(offset, 0);
    }
  };
  /** The vector loop from p to end (bytes), then the leftover elements on lane 0. */
  const loops = (at: (operand: number) => number, storeAt: (offset: number) => number) => {
    // vector_end = p + (end − p rounded down to 16 bytes).
    fn.get(p).get(end).get(p).i32Sub().i32Const(-16).i32And().i32Add().set(vectorEnd);
    fn.get(p).get(vectorEnd).i32LtU().if().loop();
    body(4, at, storeAt);
    fn.get(p).i32Const(16).i32Add().tee(p).get(vectorEnd).i32LtU().brIf(0);
    fn.end().end();
    fn.get(p).get(end).i32LtU().if().loop();
    body(1, at, storeAt);
    fn.get(p).i32Const(4).i32Add().tee(p).get(end).i32LtU().brIf(0);
    fn.end().end();
  };

  if (!spec.rows) {
    for (const [i, local] of broadcast) fn.get(zero).v128Load32Splat(spec.operands[i].offset).set(local);
    // p = 4·lo; end = 4·hi: every operand and store at p + its offset.
    fn.get(lo).i32Const(2).i32Shl().set(p);
    fn.get(hi).i32Const(2).i32Shl().set(end);
    const flat = (offset: number) => {
      fn.get(p);
      return offset;
    };
    loops((i) => flat(spec.operands[i].offset), flat);
  } else {
    const { outer, inner } = spec.rows;
    const row = fn.local("row", I32);
    const rowStart = fn.local("row_start", I32);
    const index = fn.local("index", I32);
    const rowBase = new Map(spec.operands.map((_, i) => [i, fn.local(`row${i}`, I32)]));
    fn.get(lo).set(row);
    fn.get(row).get(hi).i32LtU().if().loop();
    // Each operand's address in this row: offset + Σ_d index_d · rowStrides[d], the indices unravelled
    // from the row number; p runs over the row's bytes from row_start = row · inner · 4.
    spec.operands.forEach((o, i) => {
      fn.i32Const(o.offset).set(rowBase.get(i)!);
    });
    fn.get(row).set(index);
    for (let d = outer.length - 1; d >= 0; d--) {
      const strides = spec.operands.map((o) => o.rowStrides?.[d] ?? 0);
      if (strides.some((x) => x !== 0)) {
        strides.forEach((stride, i) => {
          if (stride === 0) return;
          const base = rowBase.get(i)!;
          fn.get(base).get(index);
          if (d > 0) fn.i32Const(outer[d]).i32RemU();
          fn.i32Const(stride).i32Mul().i32Add().set(base);
        });
      }
      if (d > 0) fn.get(index).i32Const(outer[d]).i32DivU().set(index);
    }
    for (const [i, local] of broadcast) fn.get(rowBase.get(i)!).v128Load32Splat(0).set(local);
    fn.get(row)
      .i32Const(inner * 4)
      .i32Mul()
      .set(rowStart);
    fn.i32Const(0).set(p);
    fn.i32Const(inner * 4).set(end);
    loops(
      (i) => {
        fn.get(rowBase.get(i)!).get(p).i32Add();
        return 0;
      },
      (offset) => {
        fn.get(rowStart).get(p).i32Add();
        return offset;
      },
    );
    fn.get(row).i32Const(1).i32Add().tee(row).get(hi).i32LtU().brIf(0);
    fn.end().end();
  }

  const last = Math.max(
    ...spec.operands.map((o) => operandSpan(spec, o)[1]),
    ...spec.stores.map((s) => s.offset + spec.count * 4),
  );
  const module = new ModuleBuilder(Math.max(1, Math.ceil(last / 65536)));
  module.add(fn, ELEMENTWISE_EXPORT);
  return module;
}

/** The [start, end) bytes an operand is read from over the whole loop. */
export function operandSpan(spec: ElementwiseSpec, o: ElementwiseSpec["operands"][number]): [number, number] {
  if (!spec.rows) return [o.offset, o.offset + (o.broadcast ? 4 : spec.count * 4)];
  const reach = spec.rows.outer.reduce((sum, d, i) => sum + (d - 1) * (o.rowStrides?.[i] ?? 0), 0);
  return [o.offset, o.offset + reach + (o.broadcast ? 4 : spec.rows.inner * 4)];
}
