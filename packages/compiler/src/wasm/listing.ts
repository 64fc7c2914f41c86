import { buildDotModule } from "./matmul-dot";
import { buildMatmulModule, KERNEL_EXPORT } from "./matmul-driver";
import { type Blocks, ldA, ldB, ldC, type MatmulSpec, type MatmulTuning, planMatmul } from "./matmul-plan";

/**
 * A readable description of the kernel generated for `spec`: the blocking plan (loop nest, block sizes,
 * strides, offsets, scratch layout, FMA or mul+add) followed by the WAT-like text of every function, which
 * is recorded instruction by instruction as the bytes are encoded.
 */
export function listMatmul(spec: MatmulSpec, tuning?: Partial<MatmulTuning>): string {
  const plan = planMatmul(spec, tuning);
  const { tileRows, tileCols } = plan.tuning;
  const { n, k } = spec;
  const m = plan.m;
  const batch = plan.batch;
  const describe = (name: string, b: Blocks) =>
    `${name}: ${b.full} × ${b.size}${b.remainder > 0 ? ` + ${b.remainder}` : ""}`;
  const aLayout = spec.transA
    ? `[k=${k}, m=${m}] (op(A) row stride 4 B, k stride ${ldA(spec) * 4} B)`
    : `[m=${m}, k=${k}]`;
  const bLayout = spec.transB
    ? `[n=${n}, k=${k}] (op(B) column stride ${k * 4} B)`
    : `[k=${k}, n=${n}]` + (ldB(spec) !== n ? ` (row stride ${ldB(spec) * 4} B)` : "");
  const epilogue = [
    spec.biasOffset === undefined
      ? undefined
      : `bias @${spec.biasOffset} (one per ${spec.biasPerRow ? "row" : "column"})`,
    spec.activation === "relu" ? "relu" : undefined,
    spec.fused
      ? `fused elementwise loop of ${spec.fused.elementwise.members.length} ops on each tile, storing @` +
        `${spec.fused.elementwise.stores.map((s) => s.offset).join(", @")} instead of C`
      : undefined,
  ].filter((part) => part !== undefined);
  const kernelLines = plan.dot
    ? [
        `;; dot kernel, tiles of ${plan.tile.rows}×${plan.tile.cols} outputs: one v128 accumulator per output over 4 k at a time, ` +
          (spec.fma ? "f32x4.relaxed_madd (fused on FMA hardware)" : "f32x4.mul + f32x4.add") +
          "; A and B read in place, no scratch",
        `;; memory: needs ${plan.memoryEnd} B (${Math.ceil(plan.memoryEnd / 65536)} × 64 KiB pages)`,
        ";;",
        `;; for ir (tile of ${plan.tile.rows} rows) / for jr (tile of ${plan.tile.cols} columns): for batch / for k by 4: multiply-add`,
        ";;   then each output's 4 lanes summed, (l0 + l1) + (l2 + l3)",
        "",
        buildDotModule(plan, KERNEL_EXPORT).listing(),
      ]
    : [
        `;; register tile ${tileRows}×${tileCols}: ${(tileRows * tileCols) / 4} v128 accumulators, ` +
          (spec.fma ? "f32x4.relaxed_madd (fused on FMA hardware)" : "f32x4.mul + f32x4.add"),
        `;; blocks ${describe("N", plan.nBlocks)}, ${describe("K", plan.kBlocks)}, ${describe("M", plan.mBlocks)}`,
        `;; scratch @${spec.packOffset}, ${plan.packBytes} B: packed B̃ @${plan.packedBOffset}` +
          (plan.packA ? `, packed Ã @${plan.packedAOffset}` : " (A read in place)") +
          (plan.tuning.broadcastA ? " (A pre-broadcast: one v128 per element)" : "") +
          (plan.hoistPackB ? ", B̃ packed once for the whole batch" : ""),
        `;; memory: needs ${plan.memoryEnd} B (${Math.ceil(plan.memoryEnd / 65536)} × 64 KiB pages)`,
        ";;",
        ";; for batch / for jc (N block) / for pc (K block): pack B̃",
        ";;   for ic (M block)" + (plan.packA ? ": pack Ã" : ""),
        `;;     for jr (panel of ${tileCols} columns) / for ir (tile of ${tileRows} rows): tile kernel over kc`,
        "",
        buildMatmulModule(plan).listing(),
      ];
  const lines = [
    `;; matmul C[${m}×${n}] ${spec.accumulate ? "+=" : "="} op(A)·op(B), k=${k}` +
      (plan.m !== spec.m ? ` (batch of ${spec.batch?.count} × ${spec.m} rows folded: B is broadcast)` : ""),
    `;;   A @${spec.aOffset} ${aLayout}`,
    `;;   B @${spec.bOffset} ${bLayout}`,
    `;;   C @${spec.cOffset} [${m}, ${n}] row stride ${ldC(spec) * 4} B`,
    `;;   epilogue: ${epilogue.length > 0 ? epilogue.join(", then ") : "none"} (after the last K block)`,
    `;;   batch: ${batch.count}` +
      (batch.count > 1 ? ` (strides A ${batch.aStride}, B ${batch.bStride}, C ${batch.cStride} B)` : ""),
    ...kernelLines,
  ];
  return lines.join("\n");
}
