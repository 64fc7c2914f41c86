import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * Cross-origin isolation headers (COOP/COEP) on the dev and preview servers: harmless for this page, and
 * what SharedArrayBuffer across workers (threads) needs. The page itself works without them (the built
 * files are served by plain static servers too).
 */
const isolation = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

// The page imports the library's sources (as the tests do), so the dev server follows edits without a build;
// the main entry imports no Node built-in (tests/package checks it), so nothing needs stubbing.
const adjointSource = fileURLToPath(new URL("../adjoint/src/index.ts", import.meta.url));

export default defineConfig({
  base: "./",
  resolve: {
    alias: [{ find: /^adjoint$/, replacement: adjointSource }],
  },
  worker: { format: "es", rolldownOptions: { output: { keepNames: true } } },
  // keepNames: module type names (constructor.name, shown in the graph) survive minification.
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rolldownOptions: { output: { keepNames: true } },
  },
  server: { headers: isolation, host: "127.0.0.1" },
  preview: { headers: isolation, host: "127.0.0.1" },
});
