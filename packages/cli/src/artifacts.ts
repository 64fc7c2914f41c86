/**
 * Run folders written all-or-nothing. Every artifact of a run is first written into a private staging
 * folder inside the run folder (`.staging-<pid>-<random>`); only when all of them are there are they
 * renamed into place, one atomic rename(2) per file. A run that fails before that point (bad data, a
 * crash, Ctrl-C) leaves the earlier run's files exactly as they were, and if a rename fails midway, the
 * files already replaced are put back from hard-linked backups.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { CliError } from "./errors";

const STAGING_PREFIX = ".staging-";

export class RunFolder {
  /** The run folder (as given). */
  readonly dir: string;
  private readonly staging: string;
  private readonly files: string[] = [];
  private done = false;

  private constructor(dir: string, staging: string) {
    this.dir = dir;
    this.staging = staging;
  }

  /**
   * Creates the run folder if needed and a staging folder inside it, so that an unwritable destination
   * fails at once (before any training), with a one-line CliError.
   */
  static open(dir: string): RunFolder {
    const abs = resolve(dir);
    try {
      if (existsSync(abs) && !statSync(abs).isDirectory()) {
        throw new CliError(`cannot use ${dir} as the run folder: it exists and is not a folder`);
      }
      mkdirSync(abs, { recursive: true });
    } catch (error) {
      if (error instanceof CliError) throw error;
      const blocker = fileAncestor(abs);
      const why = blocker ? `${blocker} is a file, not a folder` : reason(error);
      throw new CliError(`cannot create the run folder ${dir}: ${why}`);
    }
    removeStaleStaging(abs);
    const staging = join(abs, `${STAGING_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}`);
    try {
      mkdirSync(staging);
    } catch (error) {
      throw new CliError(`cannot write into the run folder ${dir}: ${reason(error)}`);
    }
    return new RunFolder(dir, staging);
  }

  /** Where to write artifact `name` before commit (for writers that take a path, e.g. saveCheckpoint). */
  stagePath(name: string): string {
    checkName(name);
    if (!this.files.includes(name)) this.files.push(name);
    return join(this.staging, name);
  }

  write(name: string, content: string | Uint8Array): void {
    const path = this.stagePath(name);
    try {
      writeFileSync(path, content);
    } catch (error) {
      throw new CliError(`cannot write ${name} for ${this.dir}: ${reason(error)}`);
    }
  }

  /** The artifacts staged so far, in the order they were written. */
  get staged(): readonly string[] {
    return this.files;
  }

  /** Moves every staged file into the run folder (atomically per file) and removes the staging folder. */
  commit(): string[] {
    if (this.done) throw new Error("RunFolder: already committed or aborted");
    const target = resolve(this.dir);
    for (const name of this.files) {
      const staged = join(this.staging, name);
      if (!existsSync(staged)) throw new CliError(`internal error: artifact ${name} was never written`);
      fsyncFile(staged);
    }
    // Hard-link backups of the files about to be replaced, so a failed rename can be undone.
    const replaced: string[] = [];
    const moved: string[] = [];
    try {
      for (const name of this.files) {
        const dest = join(target, name);
        if (existsSync(dest)) {
          if (statSync(dest).isDirectory()) throw new Error(`${dest} is a folder`);
          linkSync(dest, join(this.staging, `${name}.previous`));
          replaced.push(name);
        }
      }
      for (const name of this.files) {
        renameSync(join(this.staging, name), join(target, name));
        moved.push(name);
      }
    } catch (error) {
      for (const name of moved) {
        try {
          if (replaced.includes(name)) renameSync(join(this.staging, `${name}.previous`), join(target, name));
          else unlinkSync(join(target, name));
        } catch {}
      }
      this.abort();
      throw new CliError(
        `cannot write the artifacts into ${this.dir}: ${reason(error)}; its files were left as they were`,
      );
    }
    fsyncDir(target);
    this.abort();
    this.done = true;
    return [...this.files];
  }

  /** Removes the staging folder (nothing in the run folder itself is touched). */
  abort(): void {
    this.done = true;
    try {
      rmSync(this.staging, { recursive: true, force: true });
    } catch {}
  }
}

/** Writes one file atomically on its own: a temp file in the same folder, then rename over the target. */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    writeFileSync(temp, content);
    fsyncFile(temp);
    renameSync(temp, path);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {}
    throw new CliError(`cannot write ${path}: ${reason(error)}`);
  }
}

/** The nearest existing ancestor of `path` when it is not a folder (what makes mkdir -p fail). */
function fileAncestor(path: string): string | null {
  let p = dirname(path);
  for (;;) {
    try {
      return statSync(p).isDirectory() ? null : p;
    } catch {
      const up = dirname(p);
      if (up === p) return null;
      p = up;
    }
  }
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith(".")) {
    throw new Error(`RunFolder: bad artifact name ${JSON.stringify(name)}`);
  }
}

/** Staging folders of runs that died (their process is gone): left by a kill or a Ctrl-C. */
function removeStaleStaging(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.startsWith(STAGING_PREFIX)) continue;
    const pid = Number(e.slice(STAGING_PREFIX.length).split("-")[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) {
      try {
        rmSync(join(dir, e), { recursive: true, force: true });
      } catch {}
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function fsyncFile(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    fsyncSync(fd);
  } catch {
    // best effort: the rename is what makes the write all-or-nothing
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  fsyncFile(path);
}

/** The system's reason without the syscall noise: "ENOTDIR: not a directory, mkdir 'x'" -> "not a directory". */
export function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e && typeof e === "object" && typeof e.code === "string" && typeof e.message === "string") {
    const m = /^[A-Z]+: ([^,]+)/.exec(e.message);
    if (m) return `${m[1]} (${e.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}
