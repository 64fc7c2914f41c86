/**
 * No import circles among the source files: a reader (and a bundler) can take the modules in one order,
 * each depending only on what came before. Type-only imports count too: they make a reader go back and
 * forth just as much.
 */
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { type ImportGraph, importCycles, importGraph } from "./import-graph";

const ROOT = resolve(import.meta.dirname, "../..");
/**
 * The back edges allowed, both at Tensor, the hub of core: a tensor knows its graph (tensor.ts imports the
 * Graph type) and its fluent methods (x.add(y), x.conv2d(w)) are the op functions, which take and make
 * tensors (ops/* import tensor.ts). Without them Tensor would lose either its `graph` or its methods, both
 * public API. Any other circle fails.
 */
const ALLOWED: { from: RegExp; to: string }[] = [
  { from: /^packages\/core\/src\/ops\/[^/]+\.ts$/, to: "packages/core/src/tensor.ts" },
  { from: /^packages\/core\/src\/tensor\.ts$/, to: "packages/core/src/graph.ts" },
];

function withoutAllowedEdges(graph: ImportGraph): ImportGraph {
  return new Map(
    [...graph].map(([file, targets]) => [
      file,
      targets.filter((to) => !ALLOWED.some((edge) => edge.to === to && edge.from.test(file))),
    ]),
  );
}

const FOLDERS = [
  "packages/adjoint/src",
  "packages/cli/src",
  "packages/compiler/src",
  "packages/core/src",
  "packages/nn/src",
  "packages/playground/src",
  "benchmarks/src",
];

describe("import circles", () => {
  it("finds a circle when there is one (two files, three files, a file importing itself)", () => {
    const graph: ImportGraph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["a.ts", "c.ts"]],
      ["c.ts", []],
      ["d.ts", ["e.ts"]],
      ["e.ts", ["f.ts"]],
      ["f.ts", ["d.ts", "c.ts"]],
      ["g.ts", ["g.ts"]],
    ]);
    expect(importCycles(graph)).toEqual([
      ["a.ts", "b.ts", "a.ts"],
      ["d.ts", "e.ts", "f.ts", "d.ts"],
      ["g.ts", "g.ts"],
    ]);
    expect(
      importCycles(
        new Map([
          ["a.ts", ["b.ts"]],
          ["b.ts", ["c.ts"]],
        ]),
      ),
    ).toEqual([]);
  });

  it("reads every import of the real tree (type-only, re-exports, workspace packages)", async () => {
    const graph = await importGraph(ROOT, FOLDERS);
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get("packages/nn/src/index.ts")).toContain("packages/nn/src/formats/checkpoint.ts");
    // `import type` and a workspace package name both resolve to files.
    expect(graph.get("benchmarks/src/report.ts")).toContain("benchmarks/src/types.ts");
    expect(graph.get("packages/compiler/src/memory/plan.ts")).toContain("packages/core/src/index.ts");
  });

  it("packages/*/src and benchmarks/src have none (but for the two edges at Tensor)", async () => {
    const cycles = importCycles(withoutAllowedEdges(await importGraph(ROOT, FOLDERS)));
    expect(cycles.map((c) => c.join(" -> "))).toEqual([]);
  });
});
