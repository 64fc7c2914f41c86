/**
 * The few members of the WebAssembly JS API these kernels use, typed structurally: the project's lib setting
 * (es2022 + node) carries no WebAssembly declarations. A real WebAssembly.Memory satisfies WasmMemory, so
 * callers holding DOM-typed or globally declared memories can pass them unchanged.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmJsApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

export const wasmApi = (globalThis as unknown as { WebAssembly: WasmJsApi }).WebAssembly;
