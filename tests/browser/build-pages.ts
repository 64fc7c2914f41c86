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
      alias: [
        {
          find: /^node:(fs|path|module|crypto|zlib|v8)$/,
          replacement: join(ROOT, "packages/playground/src/node-stub.ts"),
        },
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
