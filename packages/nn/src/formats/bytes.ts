/** Byte-level helpers shared by the model formats: float32 data in little-endian order and JSON headers. */

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The tensor's bytes in little-endian order: a view of its own memory on little-endian hosts (no copy). */
export function littleEndianBytes(value: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  const bytes = new Uint8Array(value.byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < value.length; i++) view.setFloat32(4 * i, value[i], true);
  return bytes;
}

/**
 * A fresh Float32Array from little-endian bytes. On little-endian hosts the bytes are copied as they are,
 * which keeps every bit (NaN payloads included); the copy also detaches the result from the file buffer and
 * avoids its possibly unaligned offset.
 */
export function float32FromLittleEndian(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}

/** JSON as UTF-8, padded with spaces so that `before` + its length is a multiple of 8 (aligned data). */
export function paddedJson(value: unknown, before: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(value));
  const padded = new Uint8Array(json.length + ((8 - ((before + json.length) % 8)) % 8)).fill(0x20);
  padded.set(json);
  return padded;
}

/** A JSON object header from UTF-8 bytes; anything else is a one-line error naming `what`. */
export function parseJsonHeader(what: string, bytes: Uint8Array): Record<string, any> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new Error(`${what} has a corrupt header: ${(error as Error).message.split("\n")[0]}`);
  }
  if (!isPlainObject(header)) throw new Error(`${what} has a corrupt header: not a JSON object`);
  return header;
}

/** The file must end exactly where its header says the data ends. */
export function checkTotalSize(what: string, actual: number, expected: number): void {
  if (actual < expected) {
    throw new Error(`${what} is truncated: expected ${expected} bytes, found ${actual}`);
  }
  if (actual > expected) {
    throw new Error(
      `${what} has ${actual - expected} unexpected bytes after the data (expected ${expected} bytes)`,
    );
  }
}

/** The chunks end to end in one array (for callers that want a single buffer rather than parts). */
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((size, chunk) => size + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

export function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

export function latin1(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

export function isPlainObject(value: unknown): value is Record<string, any> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isByteCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
