/**
 * Checkpoints: named float32 tensors saved to disk and read back bit for bit.
 *
 * Adjoint format (".ckpt"):
 *   bytes 0..8    magic "ADJCKPT1"
 *   bytes 8..12   u32 little-endian: byte length H of the JSON header
 *   bytes 12..12+H JSON { version: 1, meta, tensors: [{ name, shape, offset, length, crc32 }] }, padded with
 *                 spaces so the data starts at a multiple of 8
 *   then          raw little-endian float32 data; each tensor's `offset` and `length` are in bytes, relative
 *                 to the start of the data, and `crc32` (IEEE, as in zlib) covers those bytes.
 *
 * Safetensors is also written and read (F32 only) for exchange with other tools.
 *
 * Every save is atomic (temp file in the same folder, fsync, rename, fsync of the folder), so a crash or a
 * full disk during a save leaves the previous checkpoint whole. Every read validates everything before
 * returning, and loadCheckpointInto copies into live weights only once the whole file has been checked.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import * as zlib from "node:zlib";

export interface TensorRecord {
  name: string;
  shape: number[];
  value: Float32Array;
}

export interface Checkpoint {
  meta: Record<string, unknown>;
  tensors: TensorRecord[];
}

const MAGIC = "ADJCKPT1";
const PREFIX_BYTES = 12; // magic + u32 header length
const FORMAT_VERSION = 1;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

interface HeaderEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
  /** Absent in safetensors, which has no checksums. */
  crc32?: number;
}

// ---------------------------------------------------------------------------------------------- Adjoint format

/** Writes the tensors (and optional JSON-serializable meta) atomically to `path`, creating its folder. */
export function saveCheckpoint(
  path: string,
  checkpoint: { tensors: TensorRecord[]; meta?: Record<string, unknown> },
): void {
  const { tensors, meta = {} } = checkpoint;
  checkTensorsToSave(`checkpoint ${path}`, tensors);
  try {
    JSON.stringify(meta);
  } catch (error) {
    throw new Error(`checkpoint ${path}: meta cannot be saved as JSON: ${(error as Error).message}`);
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
  writeFileAtomic(path, [prefix, header, ...data]);
}

/** Reads and fully validates a checkpoint; throws a one-line Error naming the file and the problem. */
export function readCheckpoint(path: string): Checkpoint {
  const what = `checkpoint ${path}`;
  const bytes = readWholeFile(what, path);
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

  const dataLength = entries.reduce((end, e) => Math.max(end, e.offset + e.length), 0);
  const expectedSize = dataStart + dataLength;
  if (bytes.length < expectedSize) {
    throw new Error(`${what} is truncated: expected ${expectedSize} bytes, found ${bytes.length}`);
  }
  if (bytes.length > expectedSize) {
    throw new Error(
      `${what} has ${bytes.length - expectedSize} unexpected bytes after the data (expected ${expectedSize} bytes)`,
    );
  }
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

export interface LoadOptions {
  /**
   * true (default): the checkpoint and the targets must hold exactly the same names. false: names only on
   * one side are skipped and reported (e.g. to load a backbone into a model with a new head).
   */
  strict?: boolean;
}

export interface LoadReport {
  meta: Record<string, unknown>;
  loaded: string[];
  /** Target names absent from the checkpoint (left unchanged; only possible with strict: false). */
  missing: string[];
  /** Checkpoint names with no target (ignored; only possible with strict: false). */
  unexpected: string[];
}

/**
 * Copies the checkpoint's tensors into the targets' `value` arrays, matched by name. The file is read and
 * validated and every name and shape checked BEFORE the first copy, so on any error the targets are exactly
 * as they were: a model is never left half-loaded. Shapes must match even with strict: false.
 */
export function loadCheckpointInto(
  path: string,
  targets: TensorRecord[],
  options: LoadOptions = {},
): LoadReport {
  return assignTensors(`checkpoint ${path}`, readCheckpoint(path), targets, options);
}

// ------------------------------------------------------------------------------------------------ safetensors

/**
 * Writes the tensors in the safetensors format: u64 little-endian header length, JSON header
 * { name: { dtype: "F32", shape, data_offsets: [begin, end] }, "__metadata__"?: { string: string } }, then the
 * data. Atomic, like saveCheckpoint.
 */
export function saveSafetensors(
  path: string,
  tensors: TensorRecord[],
  metadata?: Record<string, string>,
): void {
  checkTensorsToSave(`safetensors ${path}`, tensors);
  if (tensors.some((t) => t.name === "__metadata__")) {
    throw new Error(`safetensors ${path}: "__metadata__" is reserved and cannot name a tensor`);
  }
  const data = tensors.map((t) => littleEndianBytes(t.value));
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") {
        throw new Error(
          `safetensors ${path}: metadata "${key}" must be a string (the format allows only strings)`,
        );
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
  writeFileAtomic(path, [prefix, json, ...data]);
}

/** Reads and validates a safetensors file (F32 tensors only), in the order of their data. */
export function readSafetensors(path: string): { metadata: Record<string, string>; tensors: TensorRecord[] } {
  const what = `safetensors ${path}`;
  const bytes = readWholeFile(what, path);
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
  const dataLength = entries.reduce((end, e) => Math.max(end, e.offset + e.length), 0);
  const expectedSize = dataStart + dataLength;
  if (bytes.length < expectedSize) {
    throw new Error(`${what} is truncated: expected ${expectedSize} bytes, found ${bytes.length}`);
  }
  if (bytes.length > expectedSize) {
    throw new Error(
      `${what} has ${bytes.length - expectedSize} unexpected bytes after the data (expected ${expectedSize} bytes)`,
    );
  }
  const tensors = entries.map((e) => ({
    name: e.name,
    shape: e.shape,
    value: float32FromLittleEndian(bytes.subarray(dataStart + e.offset, dataStart + e.offset + e.length)),
  }));
  return { metadata: metadata as Record<string, string>, tensors };
}

/** Like loadCheckpointInto, for a safetensors file. */
export function loadSafetensorsInto(
  path: string,
  targets: TensorRecord[],
  options: LoadOptions = {},
): LoadReport {
  const { metadata, tensors } = readSafetensors(path);
  return assignTensors(`safetensors ${path}`, { meta: metadata, tensors }, targets, options);
}

// ------------------------------------------------------------------------------------------ matching targets

function assignTensors(
  what: string,
  source: Checkpoint,
  targets: TensorRecord[],
  options: LoadOptions,
): LoadReport {
  const { strict = true } = options;
  const problems: string[] = [];
  const targetNames = targets.map((t) => t.name);
  const duplicates = targetNames.filter((name, i) => targetNames.indexOf(name) !== i);
  if (duplicates.length > 0) problems.push(`model has duplicate tensor names ${quoteList(duplicates)}`);
  for (const t of targets) {
    if (t.value.length !== shapeSize(t.shape)) {
      problems.push(
        `model tensor "${t.name}" has ${t.value.length} values but shape ${formatShape(t.shape)}`,
      );
    }
  }
  const byName = new Map(source.tensors.map((t) => [t.name, t]));
  const targetSet = new Set(targetNames);
  const missing = targetNames.filter((name) => !byName.has(name));
  const unexpected = source.tensors.map((t) => t.name).filter((name) => !targetSet.has(name));
  if (strict && missing.length > 0) problems.push(`missing tensors ${quoteList(missing)}`);
  if (strict && unexpected.length > 0) problems.push(`unexpected tensors ${quoteList(unexpected)}`);
  const pairs: Array<[TensorRecord, TensorRecord]> = [];
  for (const target of targets) {
    const saved = byName.get(target.name);
    if (!saved) continue;
    if (!sameShape(saved.shape, target.shape)) {
      problems.push(
        `tensor "${target.name}" has shape ${formatShape(saved.shape)}, model expects ${formatShape(target.shape)}`,
      );
    }
    pairs.push([saved, target]);
  }
  if (problems.length > 0) throw new Error(`${what}: ${problems.join("; ")}`);
  // Only now, with everything checked, are live arrays written.
  for (const [saved, target] of pairs) target.value.set(saved.value);
  return { meta: source.meta, loaded: pairs.map(([, t]) => t.name), missing, unexpected };
}

// ------------------------------------------------------------------------------------------ validation helpers

function checkTensorsToSave(what: string, tensors: TensorRecord[]): void {
  checkUniqueNames(
    what,
    tensors.map((t) => t.name),
  );
  for (const t of tensors) {
    if (typeof t.name !== "string" || t.name === "") throw new Error(`${what}: a tensor has an empty name`);
    if (!(t.value instanceof Float32Array))
      throw new Error(`${what}: tensor "${t.name}" is not a Float32Array`);
    if (!Array.isArray(t.shape) || !t.shape.every(isByteCount)) {
      throw new Error(`${what}: tensor "${t.name}" has an invalid shape ${JSON.stringify(t.shape)}`);
    }
    if (t.value.length !== shapeSize(t.shape)) {
      throw new Error(
        `${what}: tensor "${t.name}" has ${t.value.length} values but shape ${formatShape(t.shape)}`,
      );
    }
  }
}

function checkHeaderEntry(what: string, entry: unknown, index: number): HeaderEntry {
  const bad = (problem: string) => new Error(`${what} has a corrupt header: tensor ${index} ${problem}`);
  if (!isPlainObject(entry)) throw bad("is not an object");
  const { name, shape, offset, length } = entry;
  if (typeof name !== "string" || name === "") throw bad("has no name");
  if (!Array.isArray(shape) || !shape.every(isByteCount)) throw bad(`("${name}") has an invalid shape`);
  if (!isByteCount(offset) || !isByteCount(length)) throw bad(`("${name}") has an invalid offset or length`);
  if (length !== 4 * shapeSize(shape)) {
    throw bad(
      `("${name}") has ${length} bytes of data, shape ${formatShape(shape)} needs ${4 * shapeSize(shape)}`,
    );
  }
  const { crc32 } = entry;
  if (crc32 !== undefined && !(Number.isInteger(crc32) && crc32 >= 0 && crc32 <= 0xffffffff)) {
    throw bad(`("${name}") has an invalid crc32`);
  }
  return { name, shape: [...shape], offset, length, crc32 };
}

function checkUniqueNames(what: string, names: string[]): void {
  const duplicates = names.filter((name, i) => names.indexOf(name) !== i);
  if (duplicates.length > 0) throw new Error(`${what}: duplicate tensor names ${quoteList(duplicates)}`);
}

function parseJsonHeader(what: string, bytes: Uint8Array): Record<string, any> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new Error(`${what} has a corrupt header: ${(error as Error).message.split("\n")[0]}`);
  }
  if (!isPlainObject(header)) throw new Error(`${what} has a corrupt header: not a JSON object`);
  return header;
}

function readWholeFile(what: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new Error(`${what} does not exist`);
    throw new Error(`${what} cannot be read: ${(error as Error).message}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, any> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isByteCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function shapeSize(shape: readonly number[]): number {
  return shape.reduce((size, d) => size * d, 1);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

function quoteList(names: string[]): string {
  return names.map((name) => JSON.stringify(name)).join(", ");
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

// ------------------------------------------------------------------------------------------------- bytes

/** The tensor's bytes in little-endian order: a view of its own memory on little-endian hosts (no copy). */
function littleEndianBytes(value: Float32Array): Uint8Array {
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
function float32FromLittleEndian(bytes: Uint8Array): Float32Array {
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
function paddedJson(value: unknown, before: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(value));
  const padded = new Uint8Array(json.length + ((8 - ((before + json.length) % 8)) % 8)).fill(0x20);
  padded.set(json);
  return padded;
}

function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function latin1(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

let crcTable: Uint32Array | undefined;

/**
 * CRC-32 (IEEE 802.3, the zlib/PNG one). Node's native zlib.crc32 when this Node has it (20.15+), else a
 * table-driven fallback with the same results.
 */
export function crc32(bytes: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (typeof native === "function") return native(bytes) >>> 0;
  return crc32Portable(bytes);
}

/** The portable CRC-32 used when zlib.crc32 is missing (exported so tests can compare both). */
export function crc32Portable(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ------------------------------------------------------------------------------------------------ atomic write

/**
 * Writes the chunks to a temp file next to `path`, fsyncs it, renames it over `path`, then fsyncs the folder
 * so the rename itself survives a power loss. Until the rename, `path` keeps its previous content; on any
 * failure the temp file is removed and the error rethrown with the target named.
 */
function writeFileAtomic(path: string, chunks: Uint8Array[]): void {
  const folder = dirname(path);
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw new Error(`cannot create folder ${folder} for ${path}: ${(error as Error).message}`);
  }
  const temp = join(folder, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temp, "wx", 0o644);
    for (const chunk of chunks) writeFully(fd, chunk);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (error) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {}
    }
    try {
      unlinkSync(temp);
    } catch {}
    throw new Error(`saving ${path} failed, the file was not modified: ${(error as Error).message}`);
  }
  try {
    fsyncFolder(folder);
  } catch (error) {
    throw new Error(`saved ${path} but could not sync its folder to disk: ${(error as Error).message}`);
  }
}

function writeFully(fd: number, chunk: Uint8Array): void {
  let written = 0;
  while (written < chunk.length) written += writeSync(fd, chunk, written, chunk.length - written);
}

/** Best effort: Windows cannot open or fsync a folder, and there the rename is already durable enough. */
function fsyncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, "r");
    fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (process.platform !== "win32" && code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM")
      throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
