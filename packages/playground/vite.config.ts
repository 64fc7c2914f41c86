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

// The main `adjoint` entry still reaches a few Node built-ins (checkpoint files, the mnist file loader)
// that the page never calls: until the package's browser-safe entry lands they resolve to a stub.
const nodeStub = fileURLToPath(new URL("./src/node-stub.ts", import.meta.url));

export default defineConfig({
  base: "./",
  resolve: {
    alias: [{ find: /^node:(fs|path|module|crypto|zlib|v8)$/, replacement: nodeStub }],
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
