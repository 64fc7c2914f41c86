/**
 * The Adjoint checkpoint format (".ckpt"), bytes in and bytes out:
 *   bytes 0..8    magic "ADJCKPT1"
 *   bytes 8..12   u32 little-endian: byte length H of the JSON header
 *   bytes 12..12+H JSON { version: 1, meta, tensors: [{ name, shape, offset, length, crc32 }] }, padded with
 *                 spaces so the data starts at a multiple of 8
 *   then          raw little-endian float32 data; each tensor's `offset` and `length` are in bytes, relative
 *                 to the start of the data, and `crc32` (IEEE, as in zlib) covers those bytes.
 * Decoding validates everything before returning. `source` (a path, a URL) only names the bytes in errors.
 */
import {
  asciiBytes,
  checkTotalSize,
  concatBytes,
  float32FromLittleEndian,
  isPlainObject,
  latin1,
  littleEndianBytes,
  paddedJson,
  parseJsonHeader,
} from "./bytes";
import { crc32 } from "./crc32";
import {
  type Checkpoint,
  checkHeaderEntry,
  checkTensorsToSave,
  checkUniqueNames,
  dataEnd,
  type HeaderEntry,
  type TensorRecord,
} from "./tensors";

const MAGIC = "ADJCKPT1";
const PREFIX_BYTES = 12; // magic + u32 header length
const FORMAT_VERSION = 1;

function describe(source: string | undefined): string {
  return source === undefined ? "checkpoint" : `checkpoint ${source}`;
}

/**
 * The checkpoint as consecutive parts (prefix, header, then each tensor's data, viewing the tensors' own
 * memory on little-endian hosts): a file writer can write them one after another without a copy.
 */
export function encodeCheckpointParts(
  checkpoint: { tensors: TensorRecord[]; meta?: Record<string, unknown> },
  source?: string,
): Uint8Array[] {
  const what = describe(source);
  const { tensors, meta = {} } = checkpoint;
  checkTensorsToSave(what, tensors);
  try {
    JSON.stringify(meta);
  } catch (error) {
    throw new Error(`${what}: meta cannot be saved as JSON: ${(error as Error).message}`);
  }
  const data = tensors.map((t) => littleEndianBytes(t.value));
  const entries: HeaderEntry[] = [];
  let offset = 0;
  tensors.forEach((t, i) => {
    entries.push({
      name: t.name,
      shape: [...t.shape],
      offset,
      length: data[i].length,
      crc32: crc32(data[i]),
    });
    offset += data[i].length;
  });
  const header = paddedJson({ version: FORMAT_VERSION, meta, tensors: entries }, PREFIX_BYTES);
  const prefix = new Uint8Array(PREFIX_BYTES);
  prefix.set(asciiBytes(MAGIC), 0);
  new DataView(prefix.buffer).setUint32(8, header.length, true);
  return [prefix, header, ...data];
}

/**
 * The tensors (and optional JSON-serializable meta) as the bytes of a checkpoint file.
 * Works anywhere (no file system): store the bytes in IndexedDB, send them, or write them with `saveCheckpoint`'s format.
 * @example
 * ```ts
 * const tensors = net.namedState().map(([name, t]) => ({ name, shape: [...t.shape], value: t.value }));
 * const bytes = encodeCheckpoint({ tensors, meta: { note: "epoch 3" } });
 * loadTensorsInto(decodeCheckpoint(bytes), tensors);   // back into the weights, checked first
 * ```
 */
export function encodeCheckpoint(
  checkpoint: { tensors: TensorRecord[]; meta?: Record<string, unknown> },
  source?: string,
): Uint8Array {
  return concatBytes(encodeCheckpointParts(checkpoint, source));
}

/** Reads and fully validates checkpoint bytes; throws a one-line Error naming the source and the problem. */
export function decodeCheckpoint(bytes: Uint8Array, source?: string): Checkpoint {
  const what = describe(source);
  if (bytes.length < PREFIX_BYTES) {
    throw new Error(`${what} is truncated: expected at least ${PREFIX_BYTES} bytes, found ${bytes.length}`);
  }
  const magic = latin1(bytes.subarray(0, 8));
  if (magic !== MAGIC) {
    throw new Error(
      `${what} is not an Adjoint checkpoint: starts with ${JSON.stringify(magic)}, expected "${MAGIC}"`,
    );
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  const dataStart = PREFIX_BYTES + headerLength;
  if (bytes.length < dataStart) {
    throw new Error(`${what} is truncated: header needs ${dataStart} bytes, found ${bytes.length}`);
  }
  const header = parseJsonHeader(what, bytes.subarray(PREFIX_BYTES, dataStart));
  if (header.version !== FORMAT_VERSION) {
    throw new Error(
      `${what} has format version ${JSON.stringify(header.version)}, this build reads ${FORMAT_VERSION}`,
    );
  }
  const meta = header.meta ?? {};
  if (!isPlainObject(meta)) throw new Error(`${what} has a corrupt header: "meta" is not an object`);
  if (!Array.isArray(header.tensors)) {
    throw new Error(`${what} has a corrupt header: "tensors" is not a list`);
  }
  const entries = header.tensors.map((entry: unknown, i: number) => checkHeaderEntry(what, entry, i));
  checkUniqueNames(
    what,
    entries.map((e) => e.name),
  );
  checkTotalSize(what, bytes.length, dataStart + dataEnd(entries));
  const tensors = entries.map((e) => {
    const raw = bytes.subarray(dataStart + e.offset, dataStart + e.offset + e.length);
    if (e.crc32 === undefined) {
      throw new Error(`${what} has a corrupt header: tensor "${e.name}" has no crc32`);
    }
    const actual = crc32(raw);
    if (actual !== e.crc32) {
      throw new Error(
        `${what}: tensor "${e.name}" is corrupt (CRC32 ${hex(actual)}, header says ${hex(e.crc32)})`,
      );
    }
    return { name: e.name, shape: e.shape, value: float32FromLittleEndian(raw) };
  });
  return { meta, tensors };
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
