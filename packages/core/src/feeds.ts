/** Checking what a user feeds, shared by the interpreter and compiled kernels: clear errors, up front. */
import type { Graph } from "./graph";
import { formatShape } from "./shape";
import type { Tensor } from "./tensor";

/** The values fed to one input: any array-like of numbers (a Float32Array, a plain array, ...), row-major. */
export type FeedValue = ArrayLike<number>;
/** Inputs' values by name. */
export type Feeds = Readonly<Record<string, FeedValue>>;

function isArrayLike(v: unknown): v is ArrayLike<number> {
  return (
    v !== null &&
    typeof v === "object" &&
    typeof (v as { length?: unknown }).length === "number" &&
    (ArrayBuffer.isView(v) || Array.isArray(v))
  );
}

/** Throws unless `value` is an array-like of `leaf.size` numbers. */
export function checkFeed(where: string, leaf: Tensor, value: unknown): FeedValue {
  const label = `${leaf.role === "state" ? "buffer" : leaf.role} "${leaf.name}" ${formatShape(leaf.shape)}`;
  if (!isArrayLike(value)) {
    throw new TypeError(
      `${where}: the feed for ${label} must be a Float32Array or an array of numbers, got ${typeName(value)}`,
    );
  }
  if (value.length !== leaf.size) {
    throw new RangeError(`${where}: the feed for ${label} has ${value.length} values, expected ${leaf.size}`);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (typeof value[i] !== "number") {
        throw new TypeError(
          `${where}: the feed for ${label} has a non-number at [${i}]: ${typeName(value[i])}`,
        );
      }
    }
  }
  const check = leaf.graph.classIndexInputs.get(leaf);
  if (check) checkClassIndices(where, leaf, value, check.classes, check.op);
  return value;
}

export function checkClassIndices(
  where: string,
  leaf: Tensor,
  v: FeedValue,
  classes: number,
  op: string,
): void {
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (!(Number.isInteger(c) && c >= 0 && c < classes)) {
      throw new RangeError(
        `${where}: ${op} label ${c} at [${i}] of input "${leaf.name}" is not a class index (a whole number in [0, ${classes}))`,
      );
    }
  }
}

/** Every feed name must be a leaf of the graph. */
export function checkFeedNames(where: string, graph: Graph, feeds: object): void {
  for (const name of Object.keys(feeds)) {
    if (!graph.has(name)) {
      const known = graph.inputs.map((t) => `"${t.name}"`).join(", ") || "none";
      throw new Error(`${where}: unknown feed "${name}" (the graph's inputs are: ${known})`);
    }
  }
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return Array.isArray(v) ? "an array" : typeof v;
}
