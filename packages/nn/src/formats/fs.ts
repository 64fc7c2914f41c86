/**
 * Model files on disk (Node only: the one module of the formats that touches node:fs). Every save is atomic
 * (temp file in the same folder, fsync, rename, fsync of the folder), so a crash or a full disk during a
 * save leaves the previous file whole. Every read validates everything before returning, and the load
 * functions copy into live weights only once the whole file has been checked.
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
import { decodeCheckpoint, encodeCheckpointParts } from "./checkpoint";
import { decodeSafetensors, encodeSafetensorsParts, type Safetensors } from "./safetensors";
import {
  type Checkpoint,
  type LoadOptions,
  type LoadReport,
  loadTensorsInto,
  type TensorRecord,
} from "./tensors";

/**
 * Writes the tensors (and optional JSON-serializable meta) atomically to `path`, creating its folder.
 * @example
 * ```ts
 * import { saveCheckpoint, loadCheckpointInto } from "adjoint/node";
 * const records = () => net.namedState().map(([name, t]) => ({ name, shape: [...t.shape], value: t.value }));
 * saveCheckpoint("runs/mlp.ckpt", { tensors: records(), meta: { epochs: 10 } });
 * loadCheckpointInto("runs/mlp.ckpt", records());   // copies into the live weights, all or nothing
 * ```
 */
export function saveCheckpoint(
  path: string,
  checkpoint: { tensors: TensorRecord[]; meta?: Record<string, unknown> },
): void {
  writeFileAtomic(path, encodeCheckpointParts(checkpoint, path));
}

/** Reads and fully validates a checkpoint; throws a one-line Error naming the file and the problem. */
export function readCheckpoint(path: string): Checkpoint {
  return decodeCheckpoint(readWholeFile(`checkpoint ${path}`, path), path);
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
  return loadTensorsInto(readCheckpoint(path), targets, options, `checkpoint ${path}`);
}

/** Writes the tensors in the safetensors format, atomically like saveCheckpoint. */
export function saveSafetensors(
  path: string,
  tensors: TensorRecord[],
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, encodeSafetensorsParts(tensors, metadata, path));
}

/** Reads and validates a safetensors file (F32 tensors only), in the order of their data. */
export function readSafetensors(path: string): Safetensors {
  return decodeSafetensors(readWholeFile(`safetensors ${path}`, path), path);
}

/** Like loadCheckpointInto, for a safetensors file. */
export function loadSafetensorsInto(
  path: string,
  targets: TensorRecord[],
  options: LoadOptions = {},
): LoadReport {
  const { metadata, tensors } = readSafetensors(path);
  return loadTensorsInto({ meta: metadata, tensors }, targets, options, `safetensors ${path}`);
}

/** The whole file; a missing or unreadable file is a one-line error naming `what`. */
export function readWholeFile(what: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new Error(`${what} does not exist`);
    throw new Error(`${what} cannot be read: ${(error as Error).message}`);
  }
}

/**
 * Writes the chunks to a temp file next to `path`, fsyncs it, renames it over `path`, then fsyncs the folder
 * so the rename itself survives a power loss. Until the rename, `path` keeps its previous content; on any
 * failure the temp file is removed and the error rethrown with the target named.
 */
export function writeFileAtomic(path: string, chunks: Uint8Array[]): void {
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
