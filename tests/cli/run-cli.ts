/** Runs the `adjoint` command from its sources in a child process, as a user's shell would. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = join(REPO, "packages/cli/src/main.ts");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `adjoint ...args` with colours and debug traces off; resolves when the process exits. */
export function adjoint(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
      cwd: REPO,
      env: { ...process.env, ADJOINT_DEBUG: "", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
