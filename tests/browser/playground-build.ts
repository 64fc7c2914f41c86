/**
 * The playground as the browser tests open it: packages/playground/dist as built by `pnpm run build`, built
 * here when a test run comes first, and rebuilt when a source of the page or of the library is newer.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const DIST = join(ROOT, "packages/playground/dist");

/** The newest modification time of a file or of the files below a folder (0 when it does not exist). */
function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  if (!statSync(dir).isDirectory()) return statSync(dir).mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The page as built by `pnpm run build`; built here when a test run comes first, and rebuilt when a source
 * of the page or of the library is newer than the build (a stale page would test old code).
 */
export function ensureBuilt(): void {
  const built = join(DIST, "index.html");
  if (existsSync(built) && existsSync(join(DIST, "mnist-digits.bin"))) {
    const sources = [
      "playground/src",
      "playground/index.html",
      "core/src",
      "compiler/src",
      "nn/src",
      "adjoint/src",
    ];
    const newest = Math.max(...sources.map((s) => newestMtime(join(ROOT, "packages", s))));
    if (newest <= statSync(built).mtimeMs) return;
  }
  execFileSync("npx", ["-y", "pnpm@12.4.2", "run", "build:playground"], { cwd: ROOT, stdio: "inherit" });
}
