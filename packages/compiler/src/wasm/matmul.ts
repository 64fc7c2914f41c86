import { relaxedSimdAvailable } from "./features";
import { type WasmMemory, wasmApi } from "./js-api";
import { buildDotModule } from "./matmul-dot";
import { buildMatmulModule, KERNEL_EXPORT } from "./matmul-driver";
import { checkScratchIsSeparate, type MatmulSpec, type MatmulTuning, planMatmul } from "./matmul-plan";

export type { MatmulBatch, MatmulSpec, MatmulTuning } from "./matmul-plan";
export { dotKernelFits } from "./matmul-plan";

/**
 * Use the wasm kernel for products of at least this many flops (2·m·n·k, summed over the batch).
 *
 * Measured with benchmarks/src/matmul-wasm.ts (Node 20, Zen 3 VM), best per-call times, FMA kernel vs a
 * simple i-p-j JS loop over Float32Arrays, m×n×k: 1×1×1 0.018 vs 0.031 µs, 2×2×2 0.015 vs 0.060 µs, 4×4×4
 * 0.018 vs 0.215 µs, 8×16×16 0.125 vs 5.1 µs, 32×32×32 1.55 vs 77 µs, 64×128×784 335 µs vs 37 ms.
 * A JS→wasm call costs ~15 ns, so wasm won at every size measured and the threshold is 0. The one real cost
 * is the one-time generate + compile (~0.5-2 ms per distinct kernel once the generator is warm, more for the
 * first), which repeated calls amortize; for a product evaluated only once, JS is cheaper below ~1e5 flops.
 */
export const WASM_MATMUL_MIN_FLOPS = 0;

/** Bytes of scratch the kernel needs at spec.packOffset for its packed panels. */
export function packBytes(spec: MatmulSpec, tuning?: Partial<MatmulTuning>): number {
  return planMatmul(spec, tuning).packBytes;
}

/**
 * The module's bytes: imports env.memory (shared), exports `matmul: () => void`. C must not overlap A, B
 * or the bias (the kernel reads operands after writing parts of C).
 */
export function generateMatmul(spec: MatmulSpec, tuning?: Partial<MatmulTuning>): Uint8Array {
  const plan = planMatmul(spec, tuning);
  checkScratchIsSeparate(plan);
  return (plan.dot ? buildDotModule(plan, KERNEL_EXPORT) : buildMatmulModule(plan)).encode();
}

/** Compiles synchronously: a WebAssembly.Module, which workers can instantiate on the same memory. */
export function compileMatmul(spec: MatmulSpec, tuning?: Partial<MatmulTuning>): object {
  if (spec.fma && !relaxedSimdAvailable()) {
    throw new Error("matmul: fma needs relaxed SIMD (f32x4.relaxed_madd), which this engine lacks");
  }
  return new wasmApi.Module(generateMatmul(spec, tuning));
}

/** An instance of a compiled kernel on `memory`: the function that runs the whole (batched) product. */
export function instantiateCompiled(module: object, memory: WasmMemory): () => void {
  const instance = new wasmApi.Instance(module, { env: { memory } });
  return instance.exports[KERNEL_EXPORT] as () => void;
}

/** Compiles and instantiates synchronously; the returned function runs the whole (batched) product. */
export function instantiateMatmul(
  spec: MatmulSpec,
  memory: WasmMemory,
  tuning?: Partial<MatmulTuning>,
): () => void {
  return instantiateCompiled(compileMatmul(spec, tuning), memory);
}
