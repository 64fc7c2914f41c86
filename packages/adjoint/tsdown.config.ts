import { defineConfig } from "tsdown";

/*
 * The published package: two entries (the browser-safe main one and the Node-only one) that share one chunk,
 * so a Graph made through "adjoint" is the same class that "adjoint/node" loads weights into. The private
 * @adjoint/* workspace packages are bundled in (found through this folder's tsconfig paths), their own
 * dependencies stay external (the dependencies of package.json), and the declarations are bundled too.
 */
export default defineConfig({
  entry: { index: "src/index.ts", node: "src/node.ts" },
  format: "esm",
  platform: "neutral",
  // Node built-ins are only reached from the "adjoint/node" entry (a test checks the main entry has none).
  deps: { neverBundle: [/^node:/] },
  target: "es2022",
  outDir: "dist",
  tsconfig: "tsconfig.json",
  dts: true,
  sourcemap: false,
  clean: true,
  hash: false,
  outputOptions: { chunkFileNames: "shared.js" },
  // The plugin-timing report is about this machine's load, not about the package.
  inputOptions: { checks: { pluginTimings: false } },
});
