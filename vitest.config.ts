import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const source = (file: string) => fileURLToPath(new URL(`./packages/adjoint/src/${file}`, import.meta.url));

export default defineConfig({
  // Tests run against the sources ("adjoint" in packages/adjoint/package.json is the built dist/, for users;
  // tsconfig.json maps the same two names for tsc and tsx).
  resolve: {
    alias: [
      { find: /^adjoint$/, replacement: source("index.ts") },
      { find: /^adjoint\/node$/, replacement: source("node.ts") },
    ],
  },
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
