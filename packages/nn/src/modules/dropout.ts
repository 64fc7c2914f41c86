/**
 * Dropout with a counter-based RNG inside the generated code. Built in train mode, each element is kept
 * with probability 1 − p and scaled by 1/(1 − p) (inverted dropout, as torch), zeroed otherwise; built in
 * eval mode it is the identity (no nodes at all).
 *
 * The mask is elementwise and fuses: keep = hashUniform(counter, index; seed) >= p, where
 *  - counter: one scalar buffer per graph ("rng.step"), incremented by an assign at every training step
 *    (registered as a state update, which trainStep adds to its kernel), so each step draws a new mask;
 *  - index: a constant 0..n−1 of x's shape, so each element gets its own number;
 *  - seed: derived from the graph's seed and the layer's module path, so layers draw independent masks
 *    and a model is reproducible from its graph's seed.
 * The counter is stored in float32: masks repeat after 2^24 (16.7M) steps.
 */
import { assign, formatShape, type Graph, step, type Tensor } from "@adjoint/core";
import { hashUniform } from "@adjoint/core";
import { exactBuffer, registerStateUpdate } from "../graph-utils";
import { Module } from "./module";

const counters = new WeakMap<Graph, Tensor>();

/** The graph's RNG step counter (a scalar buffer), created with its increment on first use. */
export function rngCounter(g: Graph): Tensor {
  let c = counters.get(g);
  if (!c) {
    let name = "rng.step";
    for (let i = 1; g.has(name); i++) name = `rng.step_${i}`;
    c = exactBuffer(g, name, [], 0);
    // The increment is filed under no module scope.
    const inc = g.inScope("", () => assign(c!, c!.add(1)));
    registerStateUpdate(inc);
    counters.set(g, c);
  }
  return c;
}

/** A 32-bit seed from the graph seed and a module path (FNV-1a of the path, mixed with the seed). */
export function layerSeed(graphSeed: number, path: string): number {
  let h = 0x811c9dc5 ^ (graphSeed | 0);
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The largest tensor a mask index can address exactly (float32 holds whole numbers up to 2^24). */
const MAX_ELEMENTS = 1 << 24;

/**
 * Zeroes each element with probability p in training builds and scales the rest by 1/(1−p) (inverted dropout,
 * as torch); the identity in eval builds.
 * The mask is drawn inside the compiled step from a counter buffer, so every run() draws a new one and a
 * seeded graph repeats.
 */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      throw new Error(`Dropout: p must be a probability in [0, 1], got ${p}`);
    }
  }

  protected forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    if (this.p === 1) return x.mul(0);
    if (x.size > MAX_ELEMENTS) {
      throw new Error(
        `Dropout: ${formatShape(x.shape)} has more than 2^24 elements, the most a mask can index`,
      );
    }
    const g = x.graph;
    const counter = rngCounter(g);
    const index = g.constant(
      Array.from({ length: x.size }, (_, i) => i),
      x.shape,
    );
    const u = hashUniform(counter, index, layerSeed(g.seed, g.currentScope));
    const keep = step(u.sub(this.p), 1); // 1 where u >= p: probability 1 − p
    return x.mul(keep.mul(1 / (1 - this.p)));
  }
}
