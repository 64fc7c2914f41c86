/**
 * Builds small pages that run library code in the browser (tests/browser/pages: the differential cases;
 * benchmarks/src/browser: the benchmark) with Vite into a temporary folder, the way the playground is built.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const HERE_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE_DIR, "../..");

/** Bundles the given pages (names of <root>/*.html, default tests/browser/pages); returns the folder to serve. */
export async function buildPages(pages: string[], root = join(HERE_DIR, "pages")): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), "adjoint-pages-"));
  await build({
    root,
    base: "./",
    logLevel: "warn",
    configFile: false,
    resolve: {
      // The library's sources, as in the tests and the playground; a stub for the two Node built-ins that
      // the benchmark's workloads.ts imports (for a function no page calls).
      alias: [
        { find: /^adjoint$/, replacement: join(ROOT, "packages/adjoint/src/index.ts") },
        { find: /^node:(fs|path)$/, replacement: join(HERE_DIR, "node-stub.ts") },
      ],
    },
    build: {
      outDir,
      emptyOutDir: true,
      target: "es2022",
      minify: false,
      rollupOptions: { input: Object.fromEntries(pages.map((p) => [p, join(root, `${p}.html`)])) },
    },
  });
  return outDir;
}
