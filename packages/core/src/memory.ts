/**
 * All the float32 storage one graph's kernels touch (parameters, optimizer state, inputs, outputs,
 * workspace) lives in one shared WebAssembly.Memory. Growing a shared memory keeps existing views valid
 * (a non-shared one would detach them), so `W.value` never goes stale, and generated WebAssembly kernels
 * work on the very same bytes with no copies.
 */
const PAGE = 65536;
/** 2 GiB of address space at most; pages are committed only as the memory grows. */
const MAX_PAGES = 32768;

/**
 * One graph's memory: a shared WebAssembly.Memory holding params, buffers and every compiled kernel's inputs,
 * outputs and arena; grows in place.
 */
export class GraphMemory {
  readonly memory: WebAssembly.Memory;
  private top = 64; // byte 0..63 left unused so that offset 0 never means "allocated"

  constructor(initialPages = 16) {
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
  }

  get bytesUsed(): number {
    return this.top;
  }

  /** Reserves `floats` float32s, aligned to 64 bytes (a cache line; also what SIMD loads like). */
  allocate(floats: number): number {
    const offset = align(this.top, 64);
    const end = offset + Math.max(floats, 1) * 4;
    this.ensure(end);
    this.top = end;
    return offset;
  }

  /** Grows the memory to at least `bytes` (views stay valid: the memory is shared). */
  ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const pages = Math.ceil((bytes - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) {
      throw new RangeError(
        `graph memory: ${bytes} bytes requested, more than the ${MAX_PAGES * PAGE} bytes allowed`,
      );
    }
    this.memory.grow(pages);
  }

  /** A Float32Array view of `length` floats at a byte offset. */
  f32(byteOffset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, byteOffset, length);
  }
}

export function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
