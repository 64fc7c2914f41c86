/**
 * Named float32 tensors as the model formats see them, the checks every format applies to them, and the
 * all-or-nothing copy of loaded tensors into a model's weights.
 */
import { isByteCount, isPlainObject } from "./bytes";

/** One named float32 tensor, as checkpoints store it. */
export interface TensorRecord {
  name: string;
  shape: number[];
  value: Float32Array;
}

/** The tensors of a checkpoint and its JSON metadata. */
export interface Checkpoint {
  meta: Record<string, unknown>;
  tensors: TensorRecord[];
}

/** Options of loading tensors into a model's weights. */
export interface LoadOptions {
  /**
   * true (default): the checkpoint and the targets must hold exactly the same names. false: names only on
   * one side are skipped and reported (e.g. to load a backbone into a model with a new head).
   */
  strict?: boolean;
}

/** What a load did: the names loaded, missing, and unexpected, and the checkpoint's metadata. */
export interface LoadReport {
  meta: Record<string, unknown>;
  loaded: string[];
  /** Target names absent from the checkpoint (left unchanged; only possible with strict: false). */
  missing: string[];
  /** Checkpoint names with no target (ignored; only possible with strict: false). */
  unexpected: string[];
}

/** One tensor as a format's header lists it: where its bytes are, relative to the start of the data. */
export interface HeaderEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
  /** Absent in safetensors, which has no checksums. */
  crc32?: number;
}

/**
 * Copies the source's tensors into the targets' `value` arrays, matched by name. Every name and shape is
 * checked BEFORE the first copy, so on any error the targets are exactly as they were: a model is never
 * left half-loaded. Shapes must match even with strict: false. `what` names the source in errors.
 */
export function loadTensorsInto(
  source: Checkpoint,
  targets: TensorRecord[],
  options: LoadOptions = {},
  what = "checkpoint",
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

export function checkTensorsToSave(what: string, tensors: TensorRecord[]): void {
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

export function checkHeaderEntry(what: string, entry: unknown, index: number): HeaderEntry {
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

export function checkUniqueNames(what: string, names: string[]): void {
  const duplicates = names.filter((name, i) => names.indexOf(name) !== i);
  if (duplicates.length > 0) throw new Error(`${what}: duplicate tensor names ${quoteList(duplicates)}`);
}

/** Where the data of all entries ends, relative to the start of the data. */
export function dataEnd(entries: HeaderEntry[]): number {
  return entries.reduce((end, e) => Math.max(end, e.offset + e.length), 0);
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
