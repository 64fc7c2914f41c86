/**
 * The published package as a user gets it: packages/adjoint is built, packed with `npm pack`, and installed
 * from the tarball into an empty folder with plain `npm install ./adjoint-X.tgz` (its dependencies come from
 * the registry). There, (a) Node imports it and computes a gradient, (b) a TypeScript file importing from
 * "adjoint" typechecks with `tsc --strict`, (c) the same script bundles for the browser with esbuild, no
 * Node built-in reached, and the bundle computes the same numbers.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const PACKAGE = join(REPO, "packages/adjoint");
const TSC = join(REPO, "node_modules/.bin/tsc");
const TSDOWN = join(PACKAGE, "node_modules/.bin/tsdown");
// The machine is shared and the install reaches the registry: generous, but bounded.
const MINUTES = 60_000;

/** The environment without the npm_* variables a pnpm/npm script sets (they would steer the inner npm). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  for (const key of Object.keys(env)) if (key.toLowerCase().startsWith("npm_")) delete env[key];
  return env;
}

function run(command: string, args: string[], cwd: string, timeoutMinutes = 5): string {
  return execFileSync(command, args, {
    cwd,
    env: cleanEnv(),
    encoding: "utf8",
    timeout: timeoutMinutes * MINUTES,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

// d/dx Σ x³ = 3x² at x = [1, 2, 3]; and the sum itself, 36.
const SCRIPT = `
import { compile, evaluate, Graph, grad } from "adjoint";
const g = new Graph();
const x = g.input("x", [3], { requiresGrad: true });
const y = x.mul(x).mul(x).sum();
const [dy] = grad(y, [x]);
const kernel = compile({ y, dy });
kernel.run({ x: [1, 2, 3] });
const reference = evaluate({ dy }, { x: [1, 2, 3] });
console.log(JSON.stringify({ y: Array.from(kernel.outputs.y), dy: Array.from(kernel.outputs.dy), reference: Array.from(reference.dy) }));
`;

const TYPED_CONSUMER = `
import { compile, Graph, grad, Linear, optim, ReLU, Sequential, type Tensor, trainStep, crossEntropy } from "adjoint";
import { decodeCheckpoint, encodeCheckpoint } from "adjoint";
import { saveCheckpoint } from "adjoint/node";

const g = new Graph({ seed: 0 });
const x: Tensor = g.input("x", [4, 3]);
const labels = g.input("labels", [4]);
const net = new Sequential(new Linear(3, 8), new ReLU(), new Linear(8, 2));
const step = trainStep(crossEntropy(net.build(x), labels), optim.adam({ lr: 1e-3 }));
const loss: number = step.run();
const [dx] = grad(x.square().sum(), [x]);
const kernel = compile({ dx });
const out: Float32Array = kernel.outputs.dx;
const tensors = Object.entries(net.stateDict()).map(([name, value]) => ({ name, shape: [value.length], value }));
const bytes: Uint8Array = encodeCheckpoint({ tensors });
const names: string[] = decodeCheckpoint(bytes).tensors.map((t) => t.name);
const save = (path: string): void => saveCheckpoint(path, { tensors, meta: { names } });
// The types are real (not any): a shape must be an array of numbers.
// @ts-expect-error
g.input("bad", "three");
export { loss, out, save };
`;

describe("the npm package, installed from its tarball", () => {
  let tmp: string;
  let consumer: string;
  let tarball: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "adjoint-pack-"));
    consumer = join(tmp, "consumer");
    mkdirSync(consumer);
    // Build (not trust a dist/ left over from earlier sources), then pack as a publisher would.
    run(TSDOWN, [], PACKAGE);
    const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", tmp], PACKAGE));
    tarball = packed[0];
    writeFileSync(
      join(consumer, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2),
    );
    run("npm", ["install", `../${tarball.filename}`, "--no-audit", "--no-fund"], consumer, 10);
  }, 20 * MINUTES);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("holds the built entries, their types and the license, and nothing from the sources", () => {
    const paths = tarball.files.map((f) => f.path).sort();
    for (const file of [
      "package.json",
      "LICENSE",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/node.js",
      "dist/node.d.ts",
    ]) {
      expect(paths).toContain(file);
    }
    expect(
      paths.filter((p) => !(p.startsWith("dist/") || ["package.json", "LICENSE", "README.md"].includes(p))),
    ).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(consumer, "node_modules/adjoint/package.json"), "utf8"));
    expect(manifest.exports["."]).toEqual({ types: "./dist/index.d.ts", import: "./dist/index.js" });
    expect(manifest.exports["./node"]).toEqual({ types: "./dist/node.d.ts", import: "./dist/node.js" });
    expect(JSON.stringify(manifest)).not.toContain("workspace:");
    expect(Object.keys(manifest.dependencies).sort()).toEqual(
      expect.arrayContaining(["acorn", "astring", "@hpcc-js/wasm-graphviz"]),
    );
    // The bundled code imports only declared dependencies (and, from the node entry, Node built-ins).
    const declared = new Set(Object.keys(manifest.dependencies));
    for (const file of paths.filter((p) => p.endsWith(".js"))) {
      const code = readFileSync(join(consumer, "node_modules/adjoint", file), "utf8");
      for (const [, specifier] of code.matchAll(/^import [^"']*["']([^"']+)["']/gm)) {
        if (specifier.startsWith(".") || specifier.startsWith("node:")) continue;
        const name = specifier.startsWith("@")
          ? specifier.split("/").slice(0, 2).join("/")
          : specifier.split("/")[0];
        expect(declared, `${file} imports ${specifier}`).toContain(name);
      }
      if (!file.startsWith("dist/node")) expect(code, file).not.toMatch(/from ["']node:/);
    }
  });

  it("runs in Node: import { Graph, grad, compile } from 'adjoint' computes d/dx Σx³ = 3x²", () => {
    const out = JSON.parse(run(process.execPath, ["--input-type=module", "-e", SCRIPT], consumer).trim());
    expect(out.y).toEqual([36]);
    expect(out.dy).toEqual([3, 12, 27]);
    expect(out.reference).toEqual([3, 12, 27]);
    const nodeEntry = run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import * as n from "adjoint/node"; console.log(Object.keys(n).sort().join(","));`,
      ],
      consumer,
    );
    expect(nodeEntry.trim().split(",")).toEqual(expect.arrayContaining(["loadMnist", "saveCheckpoint"]));
  });

  it("typechecks a TypeScript consumer with tsc --strict", () => {
    writeFileSync(join(consumer, "consumer.ts"), TYPED_CONSUMER);
    writeFileSync(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: "es2022",
          module: "nodenext",
          moduleResolution: "nodenext",
          noEmit: true,
          types: [],
        },
        files: ["consumer.ts"],
      }),
    );
    let output = "";
    try {
      output = run(TSC, ["-p", "tsconfig.json"], consumer);
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      throw new Error(`tsc --strict failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
    expect(output).toBe("");
  });

  it("bundles for the browser with esbuild (no Node built-in), and the bundle computes the same", async () => {
    writeFileSync(join(consumer, "script.js"), SCRIPT);
    const result = await build({
      entryPoints: [join(consumer, "script.js")],
      absWorkingDir: consumer,
      bundle: true,
      platform: "browser",
      format: "esm",
      outfile: join(consumer, "bundle.js"),
      metafile: true,
      logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    const imports = Object.values(result.metafile.inputs).flatMap((input) =>
      input.imports.map((i) => i.path),
    );
    expect(imports.filter((path) => path.startsWith("node:"))).toEqual([]);
    expect(Object.keys(result.metafile.inputs).some((p) => p.includes("node_modules/adjoint/dist/"))).toBe(
      true,
    );
    const out = JSON.parse(run(process.execPath, [join(consumer, "bundle.js")], consumer).trim());
    expect(out.dy).toEqual([3, 12, 27]);
  });
});
