import "./features";
import { type WasmMemory, wasmApi } from "./js-api";
import { buildMatmulModule, KERNEL_EXPORT } from "./matmul-driver";
import { type MatmulSpec, type MatmulTuning, planMatmul } from "./matmul-plan";

export type { MatmulBatch, MatmulSpec, MatmulTuning } from "./matmul-plan";

/** Below this many flops (2·m·n·k per batch element, summed) a plain JS loop is as fast; see the measurement. */
export const WASM_MATMUL_MIN_FLOPS = 0;

/** Bytes of scratch the kernel needs at spec.packOffset for its packed panels. */
export function packBytes(spec: MatmulSpec, tuning?: Partial<MatmulTuning>): number {
  return planMatmul(spec, tuning).packBytes;
}

/** The module's bytes: imports env.memory (shared), exports `matmul: () => void`. */
export function generateMatmul(spec: MatmulSpec, tuning?: Partial<MatmulTuning>): Uint8Array {
  return buildMatmulModule(planMatmul(spec, tuning)).encode();
}

/** Compiles and instantiates synchronously; the returned function runs the whole (batched) product. */
export function instantiateMatmul(
  spec: MatmulSpec,
  memory: WasmMemory,
  tuning?: Partial<MatmulTuning>,
): () => void {
  const module = new wasmApi.Module(generateMatmul(spec, tuning));
  const instance = new wasmApi.Instance(module, { env: { memory } });
  return instance.exports[KERNEL_EXPORT] as () => void;
}
