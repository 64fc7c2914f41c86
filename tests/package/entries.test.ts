/**
 * The package's two entries: "adjoint" must run in browsers, so nothing it reaches may import a Node built-in
 * (those parts live behind "adjoint/node"). Checked on the sources, so the check holds before any build: the
 * main entry is bundled for the browser with esbuild, which fails on any `node:` import it cannot resolve.
 */
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { relaxedSimdAvailable, simdAvailable } from "../../packages/compiler/src/wasm/features";

const entry = (name: string) => fileURLToPath(new URL(`../../packages/adjoint/src/${name}`, import.meta.url));

async function bundleForBrowser(file: string) {
  return build({
    entryPoints: [file],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
}

describe("package entries", () => {
  it('"adjoint" bundles for the browser with no Node built-in reached', async () => {
    const result = await bundleForBrowser(entry("index.ts"));
    expect(result.errors).toEqual([]);
    const imports = Object.values(result.metafile.inputs).flatMap((input) =>
      input.imports.map((i) => i.path),
    );
    expect(imports.filter((path) => path.startsWith("node:"))).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.endsWith("formats/fs.ts") || path.endsWith("data/mnist.ts"))).toBe(
      false,
    );
    // The bundle holds the library itself (the compiler and the modules), not an empty shell.
    expect(inputs.some((path) => path.endsWith("compiler/src/compile.ts"))).toBe(true);
    expect(inputs.some((path) => path.endsWith("nn/src/train-step.ts"))).toBe(true);
  });

  it('"adjoint/node" is the one that reaches the file system (and fails a browser bundle)', async () => {
    await expect(bundleForBrowser(entry("node.ts"))).rejects.toThrow(/node:/);
  });

  it("relaxed SIMD is switched on in Node without a static node:v8 import", () => {
    // Node 20's V8 validates relaxed-SIMD wasm only with --experimental-wasm-relaxed-simd, which features.ts
    // sets through process.getBuiltinModule; newer Node has it on by default. This machine's x86-64 has it.
    expect(simdAvailable()).toBe(true);
    expect(relaxedSimdAvailable()).toBe(true);
  });
});
