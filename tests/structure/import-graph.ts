/**
 * The import graph of the repository's source (every `import`, `import type`, `export … from` and dynamic
 * `import("…")` with a literal specifier), and its circles. Specifiers are read with es-module-lexer, which
 * lexes TypeScript source as it is (type-only imports included, which a bundler would erase); relative
 * specifiers resolve like the bundler resolution of tsconfig (".ts", ".tsx", "/index.ts"), workspace
 * package names to their package.json "main". Everything else (node:*, npm packages) is outside the graph.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { init, parse } from "es-module-lexer";

/** file (relative to the root, "/"-separated) → the files it imports. */
export type ImportGraph = Map<string, string[]>;

const SOURCE = /\.(ts|tsx|mts)$/;

function sourceFiles(folder: string, out: string[] = []): string[] {
  if (!existsSync(folder)) return out;
  for (const name of readdirSync(folder).sort()) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = join(folder, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (SOURCE.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

function resolveFile(base: string): string | null {
  const withoutJs = base.replace(/\.(m?js)$/, "");
  for (const candidate of [
    base,
    `${withoutJs}.ts`,
    `${withoutJs}.tsx`,
    `${withoutJs}.mts`,
    join(base, "index.ts"),
    join(base, "index.tsx"),
  ]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** Workspace package name → its folder, from packages/<name>/package.json. */
function workspacePackages(root: string): Map<string, { folder: string; main: string }> {
  const packages = new Map<string, { folder: string; main: string }>();
  const folder = join(root, "packages");
  for (const name of existsSync(folder) ? readdirSync(folder) : []) {
    const manifest = join(folder, name, "package.json");
    if (!existsSync(manifest)) continue;
    const json = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; main?: string };
    if (json.name) packages.set(json.name, { folder: join(folder, name), main: json.main ?? "src/index.ts" });
  }
  return packages;
}

/** The import graph of every source file under the given folders (relative to root). */
export async function importGraph(root: string, folders: string[]): Promise<ImportGraph> {
  await init;
  const packages = workspacePackages(root);
  const resolveSpecifier = (from: string, specifier: string): string | null => {
    if (specifier.startsWith(".")) return resolveFile(resolve(dirname(from), specifier));
    const [scopeOrName, ...rest] = specifier.split("/");
    const name = scopeOrName.startsWith("@") ? `${scopeOrName}/${rest.shift() ?? ""}` : scopeOrName;
    const pkg = packages.get(name);
    if (!pkg) return null;
    return resolveFile(rest.length ? join(pkg.folder, "src", ...rest) : join(pkg.folder, pkg.main));
  };
  const graph: ImportGraph = new Map();
  const key = (path: string) => relative(root, path).split("\\").join("/");
  for (const file of folders.flatMap((f) => sourceFiles(join(root, f)))) {
    const [imports] = parse(readFileSync(file, "utf8"), file);
    const targets = new Set<string>();
    for (const i of imports) {
      if (i.n === undefined) continue; // import(expression): not a static edge
      const target = resolveSpecifier(file, i.n);
      if (target) targets.add(key(target));
    }
    graph.set(key(file), [...targets].sort());
  }
  return graph;
}

/**
 * The circles of the graph: its strongly connected components of more than one file (or a file importing
 * itself), each as one concrete cycle through them, starting from its alphabetically first file.
 */
export function importCycles(graph: ImportGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components.map((component) => cycleThrough(graph, new Set(component), component[0]));
}

/** A shortest path from `start` back to itself inside the component (breadth-first). */
function cycleThrough(graph: ImportGraph, component: Set<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0])!);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}
