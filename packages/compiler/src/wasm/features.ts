import { wasmApi } from "./js-api";

/*
 * Node 20's V8 (11.3) ships relaxed SIMD behind a flag. V8 reads wasm feature flags when it compiles, so the
 * flag must be set before the first wasm module of the process is compiled: do it when this module loads.
 * Newer Node versions enable relaxed SIMD by default and ignore the flag. node:v8 is reached through
 * process.getBuiltinModule (Node >= 20.16) rather than a static import, so that this module (and the package's
 * main entry) loads in browsers and bundles for them: there `process` is absent and this does nothing, and
 * feature detection below reports what the browser's engine supports.
 */
type V8Module = { setFlagsFromString(flags: string): void };
type NodeProcess = { getBuiltinModule?: (id: string) => unknown };
try {
  const nodeProcess = (globalThis as { process?: NodeProcess }).process;
  const v8 = nodeProcess?.getBuiltinModule?.("node:v8") as V8Module | undefined;
  v8?.setFlagsFromString("--experimental-wasm-relaxed-simd");
} catch {
  // Feature detection below reports what actually works.
}

/** (module (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 <op>)) */
function validatesTernaryV128(opcode: number[]): boolean {
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b], // type: (v128 v128 v128) -> v128
    ...[0x03, 0x02, 0x01, 0x00], // function 0 has type 0
    ...[0x0a, 0x0a + opcode.length, 0x01, 0x08 + opcode.length, 0x00], // code: one body, no locals
    ...[0x20, 0x00, 0x20, 0x01, 0x20, 0x02, ...opcode, 0x0b],
  ];
  try {
    return wasmApi.validate(new Uint8Array(bytes));
  } catch {
    return false;
  }
}

let simd: boolean | undefined;
let relaxedSimd: boolean | undefined;

/** Fixed-width SIMD (v128.bitselect is a ternary op, so the same probe shape works). */
export function simdAvailable(): boolean {
  simd ??= validatesTernaryV128([0xfd, 0x52]);
  return simd;
}

/** Relaxed SIMD's f32x4.relaxed_madd (0xfd 0x105, LEB128-encoded as 0x85 0x02). */
export function relaxedSimdAvailable(): boolean {
  relaxedSimd ??= simdAvailable() && validatesTernaryV128([0xfd, 0x85, 0x02]);
  return relaxedSimd;
}
