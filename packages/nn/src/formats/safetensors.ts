/**
 * Safetensors (F32 only), bytes in and bytes out, for exchange with other tools: u64 little-endian header
 * length, JSON header { name: { dtype: "F32", shape, data_offsets: [begin, end] }, "__metadata__"?:
 * { string: string } }, then the data. `source` (a path, a URL) only names the bytes in errors.
 */
import {
  checkTotalSize,
  concatBytes,
  float32FromLittleEndian,
  isByteCount,
  isPlainObject,
  littleEndianBytes,
  paddedJson,
  parseJsonHeader,
} from "./bytes";
import {
  checkHeaderEntry,
  checkTensorsToSave,
  dataEnd,
  type HeaderEntry,
  type TensorRecord,
} from "./tensors";

/** The tensors of a safetensors file and its string metadata. */
export interface Safetensors {
  metadata: Record<string, string>;
  tensors: TensorRecord[];
}

function describe(source: string | undefined): string {
  return source === undefined ? "safetensors" : `safetensors ${source}`;
}

/** The file as consecutive parts (prefix, header, each tensor's data), written one after another. */
export function encodeSafetensorsParts(
  tensors: TensorRecord[],
  metadata?: Record<string, string>,
  source?: string,
): Uint8Array[] {
  const what = describe(source);
  checkTensorsToSave(what, tensors);
  if (tensors.some((t) => t.name === "__metadata__")) {
    throw new Error(`${what}: "__metadata__" is reserved and cannot name a tensor`);
  }
  const data = tensors.map((t) => littleEndianBytes(t.value));
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") {
        throw new Error(`${what}: metadata "${key}" must be a string (the format allows only strings)`);
      }
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  tensors.forEach((t, i) => {
    header[t.name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + data[i].length] };
    offset += data[i].length;
  });
  const json = paddedJson(header, 8);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
  return [prefix, json, ...data];
}

/** The tensors (and optional string metadata) as the bytes of a safetensors file. */
export function encodeSafetensors(
  tensors: TensorRecord[],
  metadata?: Record<string, string>,
  source?: string,
): Uint8Array {
  return concatBytes(encodeSafetensorsParts(tensors, metadata, source));
}

/** Reads and validates safetensors bytes (F32 tensors only), returning the tensors in the order of their data. */
export function decodeSafetensors(bytes: Uint8Array, source?: string): Safetensors {
  const what = describe(source);
  if (bytes.length < 8)
    throw new Error(`${what} is truncated: expected at least 8 bytes, found ${bytes.length}`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    throw new Error(
      `${what} is truncated or not safetensors: header length ${headerLength} exceeds the ${bytes.length}-byte file`,
    );
  }
  const dataStart = 8 + Number(headerLength);
  const header = parseJsonHeader(what, bytes.subarray(8, dataStart));
  const metadata = header.__metadata__ ?? {};
  if (!isPlainObject(metadata))
    throw new Error(`${what} has a corrupt header: "__metadata__" is not an object`);
  const entries: HeaderEntry[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (!isPlainObject(entry))
      throw new Error(`${what} has a corrupt header: tensor "${name}" is not an object`);
    if (entry.dtype !== "F32") {
      throw new Error(
        `${what}: tensor "${name}" has dtype ${JSON.stringify(entry.dtype)}, only "F32" is supported`,
      );
    }
    const offsets = entry.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isByteCount) ||
      offsets[1] < offsets[0]
    ) {
      throw new Error(
        `${what} has a corrupt header: tensor "${name}" has bad data_offsets ${JSON.stringify(offsets)}`,
      );
    }
    entries.push(
      checkHeaderEntry(
        what,
        { name, shape: entry.shape, offset: offsets[0], length: offsets[1] - offsets[0] },
        entries.length,
      ),
    );
  }
  // JSON objects do not keep the order of integer-like keys ("0", "1"): return tensors in data (= save) order.
  // Empty tensors share their offset with the next one: they sort first, as they were written.
  entries.sort((a, b) => a.offset - b.offset || a.length - b.length);
  checkTotalSize(what, bytes.length, dataStart + dataEnd(entries));
  const tensors = entries.map((e) => ({
    name: e.name,
    shape: e.shape,
    value: float32FromLittleEndian(bytes.subarray(dataStart + e.offset, dataStart + e.offset + e.length)),
  }));
  return { metadata: metadata as Record<string, string>, tensors };
}
