/**
 * Errors the CLI reports as one line on stderr (no stack trace): bad options, unreadable checkpoints,
 * unwritable folders. Anything else that escapes is reported the same way, by its message only.
 */
export class CliError extends Error {
  constructor(
    message: string,
    /** The process exit code: 2 for usage errors (bad options), 1 for everything else. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** A bad option or value on the command line. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = "UsageError";
  }
}

/** The message of anything thrown, squeezed onto one line. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean)
    .join(" ")
    .replace(/^error:\s*/i, "");
}
