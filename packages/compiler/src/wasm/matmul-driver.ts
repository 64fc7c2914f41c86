import { advance, countedLoop } from "./emit-helpers";
import { FunctionBuilder, I32, ModuleBuilder } from "./encoder";
import { ldA, ldB, ldC, type MatmulPlan } from "./matmul-plan";
import { type BiasAxis, EPILOGUE, emitMicrokernel, LOAD_C, type MicrokernelShape } from "./microkernel";
import { emitPackA, emitPackB } from "./packing";

export const KERNEL_EXPORT = "matmul";

/**
 * Emits the module: helper functions (packers, one micro-kernel per edge shape) and the exported driver
 *
 *   for batch:                         (wasm loop, pointers advance by the batch strides)
 *     for jc in N blocks:
 *       for pc in K blocks:            (flags: overwrite C first, then add)
 *         for ic in M blocks:          pack Ã ← op(A)[ic:, pc:]      (transposed or pre-broadcast A)
 *           for jr in B̃ panels:        first M block: pack B̃ panel ← op(B)[pc:, jr:] (packBPerPanel)
 *             for ir in row tiles:     tile_RxC(Ã, B̃ panel, C, bias, kc, flags)
 *
 * Without packBPerPanel the whole B̃ block is packed before the M blocks.
 *
 * Full blocks run in loops with constant trip counts; each remainder block is emitted once after its loop.
 * Bias and activation run in the kernel's epilogue on the last K block, once the whole sum is in C.
 * Micro-kernels are separate functions, so V8's tier-up replaces them with optimized code after a few calls
 * even while the driver's first invocation is still running in baseline code.
 */
export function buildMatmulModule(plan: MatmulPlan): ModuleBuilder {
  const { spec, tuning, batch } = plan;
  const { n, k } = spec;
  const ldc = ldC(spec);
  const { tileRows, tileCols } = tuning;
  const module = new ModuleBuilder(Math.max(1, Math.ceil(plan.memoryEnd / 65536)));

  const helpers = new Map<string, { index: number; name: string }>();
  const helper = (emit: () => FunctionBuilder, key: string) => {
    let found = helpers.get(key);
    if (!found) {
      const fn = emit();
      found = { index: module.add(fn), name: fn.name };
      helpers.set(key, found);
    }
    return found;
  };
  const kernelShape = (rows: number, cols: number): MicrokernelShape => ({
    rows,
    cols,
    tileCols,
    aRowStride: plan.packA ? plan.packedAElementBytes : k * 4,
    aKStep: plan.packA ? tileRows * plan.packedAElementBytes : 4,
    aPreBroadcast: tuning.broadcastA,
    cRowStride: ldc * 4,
    fma: spec.fma,
    relu: spec.activation === "relu",
    fused: spec.fused,
  });
  const biasAxis: BiasAxis = spec.biasOffset === undefined ? "none" : spec.biasPerRow ? "rows" : "columns";
  const rowBias = biasAxis === "rows";
  const kernel = (rows: number, cols: number) =>
    helper(() => emitMicrokernel(kernelShape(rows, cols), biasAxis), `tile ${rows} ${cols}`);
  const packB = (kc: number, cols: number) => helper(() => emitPackB(plan, kc, cols), `packB ${kc} ${cols}`);
  const packA = (kc: number, rows: number) => helper(() => emitPackA(plan, kc, rows), `packA ${kc} ${rows}`);

  const fn = new FunctionBuilder(KERNEL_EXPORT, []);
  const local = (name: string) => fn.local(name, I32);
  const [batchLeft, aBatch, bBatch, cBatch, batchFlags] = [
    "batch_left",
    "a_batch",
    "b_batch",
    "c_batch",
    "batch_flags",
  ].map(local);
  const [nLeft, bJc, cJc, biasJc] = ["n_blocks_left", "b_jc", "c_jc", "bias_jc"].map(local);
  const [kLeft, bPc, aPc, flagsBase, flags] = ["k_blocks_left", "b_pc", "a_pc", "flags_base", "flags"].map(
    local,
  );
  const [mLeft, aIc, cIc] = ["m_blocks_left", "a_ic", "c_ic"].map(local);
  const [panelsLeft, bPanel, cPanel, biasPanel, bPanelSrc] = [
    "panels_left",
    "b_panel",
    "c_panel",
    "bias_panel",
    "b_panel_src",
  ].map(local);
  const [tilesLeft, aTile, cTile, biasTile] = ["tiles_left", "a_tile", "c_tile", "bias_tile"].map(local);
  // A bias per row follows the rows: it advances with the M blocks (bias_ic) and the row tiles (bias_tile)
  // and stays put across column panels; a bias per column does the opposite.
  const biasIc = local("bias_ic");
  const kStrideA = spec.transA ? ldA(spec) * 4 : 4;
  const mStrideA = spec.transA ? 4 : k * 4;
  const kStrideB = spec.transB ? 4 : ldB(spec) * 4;
  const nStrideB = spec.transB ? k * 4 : 4;

  const emitTiles = (kc: number, rows: number, cols: number) => {
    if (plan.packA) fn.i32Const(plan.packedAOffset).set(aTile);
    else fn.get(aIc).set(aTile);
    fn.get(cPanel).set(cTile);
    fn.get(biasPanel).set(biasTile);
    const callKernel = (tileHeight: number) => {
      const target = kernel(tileHeight, cols);
      fn.get(aTile)
        .get(bPanel)
        .get(cTile)
        .get(biasTile)
        .i32Const(kc)
        .get(flags)
        .call(target.index, target.name);
    };
    countedLoop(fn, tilesLeft, Math.floor(rows / tileRows), () => {
      callKernel(tileRows);
      advance(fn, aTile, plan.packA ? kc * tileRows * plan.packedAElementBytes : tileRows * mStrideA);
      advance(fn, cTile, tileRows * ldc * 4);
      if (rowBias) advance(fn, biasTile, tileRows * 4);
    });
    if (rows % tileRows > 0) callKernel(rows % tileRows);
  };

  /** packPanels: pack each panel (from b_panel_src, starting at b_pc) into place just before its tiles. */
  const emitPanels = (kc: number, rows: number, cols: number, packPanels: boolean) => {
    if (plan.packA) {
      const target = packA(kc, rows);
      fn.get(aIc).call(target.index, target.name);
    }
    fn.i32Const(plan.packedBOffset).set(bPanel);
    fn.get(cIc).set(cPanel);
    fn.get(rowBias ? biasIc : biasJc).set(biasPanel);
    if (packPanels) fn.get(bPc).set(bPanelSrc);
    const panel = (width: number) => {
      if (packPanels) {
        const target = packB(kc, width);
        fn.get(bPanelSrc).get(bPanel).call(target.index, target.name);
      }
      emitTiles(kc, rows, width);
    };
    countedLoop(fn, panelsLeft, Math.floor(cols / tileCols), () => {
      panel(tileCols);
      advance(fn, bPanel, kc * tileCols * 4);
      advance(fn, cPanel, tileCols * 4);
      if (!rowBias) advance(fn, biasPanel, tileCols * 4);
      if (packPanels) advance(fn, bPanelSrc, tileCols * nStrideB);
    });
    if (cols % tileCols > 0) panel(cols % tileCols);
  };

  const emitMBlocks = (kc: number, cols: number) => {
    const perPanel = !plan.hoistPackB && tuning.packBPerPanel;
    if (!plan.hoistPackB && !perPanel) {
      const target = packB(kc, cols);
      fn.get(bPc).i32Const(plan.packedBOffset).call(target.index, target.name);
    }
    fn.get(aPc).set(aIc);
    fn.get(cJc).set(cIc);
    if (rowBias) fn.i32Const(spec.biasOffset!).set(biasIc);
    const { size, full, remainder } = plan.mBlocks;
    const mBlock = (rows: number, packPanels: boolean) => {
      emitPanels(kc, rows, cols, packPanels);
      advance(fn, aIc, rows * mStrideA);
      advance(fn, cIc, rows * ldc * 4);
      if (rowBias) advance(fn, biasIc, rows * 4);
    };
    // The first M block packs the panels it uses (when perPanel); the later ones find them packed.
    if (perPanel) mBlock(size, true);
    countedLoop(fn, mLeft, perPanel ? full - 1 : full, () => mBlock(size, false));
    if (remainder > 0) emitPanels(kc, remainder, cols, false);
  };

  // With batch.cStride 0 every batch element adds into the same C (a sum over the batch, as gradients of a
  // broadcast operand need): only the first element may overwrite C and only the last runs the epilogue.
  const reducesOverBatch = batch.count > 1 && batch.cStride === 0;

  /**
   * flags = flags_base, plus EPILOGUE on the last K block (`lastK`: known, or "when k_blocks_left is 1") of
   * the last batch element that writes this C.
   */
  const setFlags = (lastK: boolean | "counter") => {
    fn.get(flagsBase);
    if (plan.epilogue && lastK !== false) {
      const conditions: Array<() => void> = [];
      if (lastK === "counter") conditions.push(() => fn.get(kLeft).i32Const(1).i32Eq());
      if (reducesOverBatch) conditions.push(() => fn.get(batchLeft).i32Const(1).i32Eq());
      if (conditions.length === 0) {
        fn.i32Const(EPILOGUE).i32Add();
      } else {
        conditions.forEach((push, i) => {
          push();
          if (i > 0) fn.i32And();
        });
        fn.i32Const(EPILOGUE).i32Mul().i32Add();
      }
    }
    fn.set(flags);
  };

  const emitKBlocks = (cols: number) => {
    fn.get(batchFlags).set(flagsBase);
    fn.get(bJc).set(bPc);
    fn.get(aBatch).set(aPc);
    const { size, full, remainder } = plan.kBlocks;
    countedLoop(fn, kLeft, full, () => {
      setFlags(remainder > 0 ? false : full === 1 ? true : "counter");
      emitMBlocks(size, cols);
      fn.i32Const(LOAD_C).set(flagsBase);
      advance(fn, bPc, size * kStrideB);
      advance(fn, aPc, size * kStrideA);
    });
    if (remainder > 0) {
      setFlags(true);
      emitMBlocks(remainder, cols);
    }
  };

  fn.i32Const(spec.aOffset).set(aBatch);
  fn.i32Const(spec.bOffset).set(bBatch);
  fn.i32Const(spec.cOffset).set(cBatch);
  if (plan.hoistPackB) {
    const target = packB(k, n);
    fn.get(bBatch).i32Const(plan.packedBOffset).call(target.index, target.name);
  }
  fn.i32Const(spec.accumulate ? LOAD_C : 0).set(batchFlags);
  countedLoop(fn, batchLeft, batch.count, () => {
    fn.get(bBatch).set(bJc);
    fn.get(cBatch).set(cJc);
    fn.i32Const(spec.biasOffset ?? 0).set(biasJc);
    const { size, full, remainder } = plan.nBlocks;
    countedLoop(fn, nLeft, full, () => {
      emitKBlocks(size);
      advance(fn, bJc, size * nStrideB);
      advance(fn, cJc, size * 4);
      if (!rowBias) advance(fn, biasJc, size * 4);
    });
    if (remainder > 0) emitKBlocks(remainder);
    advance(fn, aBatch, batch.aStride);
    advance(fn, bBatch, batch.bStride);
    advance(fn, cBatch, batch.cStride);
    if (reducesOverBatch) fn.i32Const(LOAD_C).set(batchFlags);
  });
  module.add(fn, KERNEL_EXPORT);
  return module;
}
