/**
 * Builds tests/browser/pages (small pages that run library code in the browser: the differential cases,
 * the benchmark) with Vite into a temporary folder, the way the playground is built.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "vite";

const ROOT = resolve(__dirname, "../..");

/** Bundles the given pages (names of tests/browser/pages/*.html); returns the folder to serve. */
export async function buildPages(pages: string[]): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), "adjoint-pages-"));
  const root = join(__dirname, "pages");
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
