/** The two kinds of failure of this folder: every message starts with the function's name. */

/** Thrown by importOnnx for any bad input: the message starts with "importOnnx: " and says what is wrong. */
export class OnnxImportError extends Error {
  override name = "OnnxImportError";
  constructor(message: string) {
    super(`importOnnx: ${message}`);
  }
}

/** Thrown by exportOnnx for a graph it cannot write: names the node, its shapes and why. */
export class OnnxExportError extends Error {
  override name = "OnnxExportError";
  constructor(message: string) {
    super(`exportOnnx: ${message}`);
  }
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
