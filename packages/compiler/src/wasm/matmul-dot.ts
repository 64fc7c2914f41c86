import { advance, countedLoop, loadLanes, range, storeLanes } from "./emit-helpers";
import { FunctionBuilder, I32, ModuleBuilder, V128 } from "./encoder";
import { DOT_TILE, ldC, type MatmulPlan } from "./matmul-plan";

/**
 * The dot-product kernel of a product C = A·Bᵀ whose operands both run along k (A stored [m, k], B stored
 * [n, k]) and whose output is small against k: a convolution's weight gradient, Σ over the images of
 * dY_b[O, P]·X_b[K, P]ᵀ (6×25 outputs over 64×784 products in LeNet-5). The register-tile kernel would pack
 * (transpose) B for every image and waste most lanes of its register tiles on such outputs; this one reads both
 * operands in place, four k at a time:
 *
 *   for each DOT_TILE of C (rows × cols outputs, one v128 accumulator each, lanes = k mod 4):
 *     for batch:  for k in steps of 4:  acc[i][j] += A[i, k:k+4] · B[j, k:k+4]
 *                 (the k mod 4 tail with zero-filled loads; per element when C has a batch stride)
 *     C[i, j] (+)= (lane0 + lane1) + (lane2 + lane3)
 *
 * Each output's sum runs in a fixed order whatever the tile it falls in, so a split over threads by rows or
 * columns of C gives the same bits. (The order differs from the register-tile kernel's, which sums k
 * sequentially: the dot kernel is chosen per shape, at compile time.)
 */

/** Tile flags: start from the partial sums in the scratch (else from zero); finish into C (else save them). */
const RESUME = 1;
const FINISH = 2;

/**
 * Emits the module: one tile function per edge shape and the exported driver
 *
 *   for batch blocks:   (elements whose A and B rows fit L2 together; one element when C is per element)
 *     for row tiles / for column tiles:  dot_RxC(A, B, C, partial sums, elements, flags)
 */
export function buildDotModule(plan: MatmulPlan, exportName: string): ModuleBuilder {
  const { spec, m, batch } = plan;
  const { n, k } = spec;
  const module = new ModuleBuilder(Math.max(1, Math.ceil(plan.memoryEnd / 65536)));
  const tiles = new Map<string, number>();
  const tile = (rows: number, cols: number) => {
    const key = `${rows}x${cols}`;
    if (!tiles.has(key)) tiles.set(key, module.add(emitDotTile(plan, rows, cols)));
    return { index: tiles.get(key)!, name: `dot_${key}` };
  };

  const fn = new FunctionBuilder(exportName, []);
  const local = (name: string) => fn.local(name, I32);
  const [blocksLeft, rowsLeft, colsLeft, flags] = ["blocks_left", "rows_left", "cols_left", "flags"].map(
    local,
  );
  const [aBlock, bBlock, cBlock, aRow, cRow, sRow, bCol, cCol, sCol] = [
    "a_block",
    "b_block",
    "c_block",
    "a_row",
    "c_row",
    "s_row",
    "b_col",
    "c_col",
    "s_col",
  ].map(local);
  const { rows: R, cols: C } = DOT_TILE;
  const block = plan.dotBlock;
  const perElement = batch.cStride !== 0;

  const rowTiles = (rows: number, elements: number) => {
    fn.get(bBlock).set(bCol);
    fn.get(cRow).set(cCol);
    fn.get(sRow).set(sCol);
    const call = (cols: number) => {
      const target = tile(rows, cols);
      fn.get(aRow)
        .get(bCol)
        .get(cCol)
        .get(sCol)
        .i32Const(elements)
        .get(flags)
        .call(target.index, target.name);
    };
    countedLoop(fn, colsLeft, Math.floor(n / C), () => {
      call(C);
      advance(fn, bCol, C * k * 4);
      advance(fn, cCol, C * 4);
      advance(fn, sCol, C * rows * 16);
    });
    if (n % C > 0) call(n % C);
  };
  const sweep = (elements: number) => {
    fn.get(aBlock).set(aRow);
    fn.get(cBlock).set(cRow);
    fn.i32Const(plan.spec.packOffset).set(sRow);
    countedLoop(fn, rowsLeft, Math.floor(m / R), () => {
      rowTiles(R, elements);
      advance(fn, aRow, R * k * 4);
      advance(fn, cRow, R * ldC(spec) * 4);
      advance(fn, sRow, R * n * 16);
    });
    if (m % R > 0) rowTiles(m % R, elements);
    advance(fn, aBlock, elements * batch.aStride);
    advance(fn, bBlock, elements * batch.bStride);
    if (perElement) advance(fn, cBlock, batch.cStride);
  };

  fn.i32Const(spec.aOffset).set(aBlock);
  fn.i32Const(spec.bOffset).set(bBlock);
  fn.i32Const(spec.cOffset).set(cBlock);
  const full = Math.floor(batch.count / block);
  const remainder = batch.count % block;
  // The last block finishes into C; the ones before it save their partial sums for the next.
  fn.i32Const(perElement || (full === 1 && remainder === 0) ? FINISH : 0).set(flags);
  countedLoop(fn, blocksLeft, full, () => {
    if (!perElement && full > 1 && remainder === 0) {
      // flags = RESUME·(not the first) + FINISH·(blocks_left == 1)
      fn.get(flags).i32Const(RESUME).i32And();
      fn.get(blocksLeft).i32Const(1).i32Eq().i32Const(FINISH).i32Mul().i32Add().set(flags);
    }
    sweep(block);
    if (!perElement) fn.i32Const(RESUME).set(flags);
  });
  if (remainder > 0) {
    fn.i32Const(full > 0 ? RESUME + FINISH : FINISH).set(flags);
    sweep(remainder);
  }
  module.add(fn, exportName);
  return module;
}

/**
 * (func $dot_RxC (param $a $b $c $s $elements $flags)): the rows × cols outputs at C $c, over `elements`
 * batch elements from A rows at $a and B rows at $b; their partial sums (one v128 per output) resume from
 * and are saved at $s between batch blocks.
 */
function emitDotTile(plan: MatmulPlan, rows: number, cols: number): FunctionBuilder {
  const { spec, batch } = plan;
  const k = spec.k;
  const fn = new FunctionBuilder(`dot_${rows}x${cols}`, [
    ["a", I32],
    ["b", I32],
    ["c", I32],
    ["s", I32],
    ["elements", I32],
    ["flags", I32],
  ]);
  const [a, b, c, s, elements, flags] = [0, 1, 2, 3, 4, 5];
  const acc = range(rows).map((i) => range(cols).map((j) => fn.local(`acc${i}_${j}`, V128)));
  const aVec = range(rows).map((i) => fn.local(`a${i}`, V128));
  const bVec = range(cols).map((j) => fn.local(`b${j}`, V128));
  const [ap, bp, aEnd] = ["ap", "bp", "a_end"].map((name) => fn.local(name, I32));
  const [low, high, scratch] = ["low", "high", "scratch"].map((name) => fn.local(name, V128));
  const rowBytes = k * 4;
  const quads = Math.floor(k / 4);
  const tail = k % 4;
  const slot = (i: number, j: number) => (i * cols + j) * 16;

  const multiplyAdd = () => {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        if (spec.fma) fn.get(aVec[i]!).get(bVec[j]!).get(acc[i]![j]!).f32x4RelaxedMadd();
        else fn.get(acc[i]![j]!).get(aVec[i]!).get(bVec[j]!).f32x4Mul().f32x4Add();
        fn.set(acc[i]![j]!);
      }
    }
  };
  /** C[i, 0..cols) (+)= the lane sums of acc[i][0..cols), as ((l0 + l1) + (l2 + l3)). */
  const finish = () => {
    for (let i = 0; i < rows; i++) {
      const vector = (j: number) => (j < cols ? fn.get(acc[i]![j]!) : fn.v128Zero());
      // [x0+x1, x2+x3, y0+y1, y2+y3] for the pairs of accumulators (0, 1) and (2, 3).
      const pairSums = (x: number, y: number, into: number) => {
        vector(x);
        vector(y);
        fn.f32x4Shuffle([0, 2, 4, 6]);
        vector(x);
        vector(y);
        fn.f32x4Shuffle([1, 3, 5, 7]);
        fn.f32x4Add().set(into);
      };
      pairSums(0, 1, low);
      pairSums(2, 3, high);
      fn.get(low).get(high).f32x4Shuffle([0, 2, 4, 6]);
      fn.get(low).get(high).f32x4Shuffle([1, 3, 5, 7]);
      fn.f32x4Add().set(scratch);
      const offset = i * ldC(spec) * 4;
      if (spec.accumulate) {
        fn.get(scratch);
        loadLanes(fn, c, offset, cols, low);
        fn.f32x4Add().set(scratch);
      }
      storeLanes(fn, c, offset, cols, scratch);
    }
  };

  fn.get(flags).i32Const(RESUME).i32And().if();
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) fn.get(s).v128Load(slot(i, j)).set(acc[i]![j]!);
  fn.else();
  for (const local of acc.flat()) fn.v128Zero().set(local);
  fn.end();
  fn.loop();
  fn.get(a).set(ap);
  fn.get(b).set(bp);
  // One step of 4 k per iteration: rows + cols loads, rows × cols multiply-adds.
  fn.get(a)
    .i32Const(quads * 16)
    .i32Add()
    .set(aEnd);
  fn.loop();
  for (let i = 0; i < rows; i++)
    fn.get(ap)
      .v128Load(i * rowBytes)
      .set(aVec[i]!);
  for (let j = 0; j < cols; j++)
    fn.get(bp)
      .v128Load(j * rowBytes)
      .set(bVec[j]!);
  multiplyAdd();
  advance(fn, bp, 16);
  fn.get(ap).i32Const(16).i32Add().tee(ap).get(aEnd).i32Ne().brIf(0);
  fn.end();
  if (tail > 0) {
    for (let i = 0; i < rows; i++) {
      loadLanes(fn, ap, i * rowBytes, tail, scratch);
      fn.set(aVec[i]!);
    }
    for (let j = 0; j < cols; j++) {
      loadLanes(fn, bp, j * rowBytes, tail, scratch);
      fn.set(bVec[j]!);
    }
    multiplyAdd();
  }
  advance(fn, a, batch.aStride);
  advance(fn, b, batch.bStride);
  fn.get(elements).i32Const(1).i32Sub().tee(elements).brIf(0);
  fn.end();
  fn.get(flags).i32Const(FINISH).i32And().if();
  finish();
  fn.else();
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) fn.get(s).get(acc[i]![j]!).v128Store(slot(i, j));
  fn.end();
  return fn;
}
