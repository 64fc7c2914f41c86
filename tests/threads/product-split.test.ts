/**
 * A product whose bias + ReLU run inside its wasm kernel (codegen/kernel-epilogue.ts) keeps them there when
 * it is split over threads (codegen/parallel.ts, splitMatmul): a batch of independent products (a conv's,
 * one per image) by images, a single product by rows or columns, its bias following the slice (one per
 * row for a conv, one per column for a dense layer). Every slice's kernel must carry the epilogue, and
 * outputs and gradients must equal those of one thread bit for bit, with 2 and 3 threads.
 */
import { compile, Graph, grad, type Kernel, type Tensor } from "adjoint";
import { describe, expect, it } from "vitest";

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function fill(t: Tensor, seed: number): void {
  for (let i = 0; i < t.value.length; i++) t.value[i] = Math.sin(i * 12.9898 + seed * 78.233) * 0.5;
}

/** The listing's blocks of the split kernels (wasm.mmN_s) that carry a bias and relu epilogue. */
function splitEpilogues(kernel: Kernel): string[] {
  return kernel.wasmListing
    .split(/(?=;; wasm\.)/)
    .filter((block) => /^;; wasm\.mm\d+_\d+\n/.test(block) && /epilogue: bias @\d+ .*then relu/.test(block));
}

interface Case {
  name: string;
  build: (g: Graph) => { y: Tensor; params: Tensor[] };
  /** What every split kernel's listing says of its slice. */
  slice: RegExp;
}

const conv = (batch: number, channels: number, size: number, out: number) => (g: Graph) => {
  const x = g.param("x", [batch, channels, size, size]);
  const w = g.param("w", [out, channels, 3, 3]);
  const b = g.param("b", [out]);
  [x, w, b].forEach(fill);
  return {
    y: x
      .conv2d(w)
      .add(b.reshape([out, 1, 1]))
      .relu(),
    params: [x, w, b],
  };
};

const cases: Case[] = [
  // 8 images over 4 or 6 slices: one kernel per share of the images.
  {
    name: "a conv over 8 images, by image",
    build: conv(8, 3, 18, 16),
    slice: /one per row[^\n]*\n;; {3}batch: [12]\b/,
  },
  // One image whose output is 4×4 pixels (two column panels, fewer than the slices): by rows of channels.
  {
    name: "a conv over one image with a narrow output, by rows",
    build: conv(1, 16, 6, 256),
    slice: /C\[\d+×16\][\s\S]*one per row/,
  },
  {
    name: "a dense layer, by columns",
    build: (g) => {
      const x = g.param("x", [64, 300]);
      const w = g.param("w", [300, 256]);
      const b = g.param("b", [256]);
      const w2 = g.param("w2", [256, 16]);
      [x, w, b, w2].forEach(fill);
      // The hidden layer of an MLP: its ReLU's mask is taken in the backward pass, in a loop of its own.
      return { y: x.matmul(w).add(b).relu().matmul(w2), params: [x, w, b, w2] };
    },
    slice: /one per column/,
  },
];

describe("threads: a split product keeps its bias + ReLU in the kernel", () => {
  for (const c of cases) {
    it(`${c.name}: threads 2 and 3 equal threads 1, outputs and gradients`, async () => {
      const kernels = [1, 2, 3].map((threads) => {
        const g = new Graph({ seed: 7 });
        const { y, params } = c.build(g);
        const grads = grad(y.square().sum(), params);
        const outputs = Object.fromEntries([["y", y], ...grads.map((d, i) => [`d${i}`, d] as const)]);
        return compile(outputs, { threads, cache: false });
      });
      await Promise.all(kernels.map((k) => k.whenReady()));
      for (const k of kernels) k.run();
      expect(splitEpilogues(kernels[0])).toEqual([]);
      for (const k of kernels.slice(1)) {
        const slices = splitEpilogues(k);
        expect(slices.length, k.wasmListing).toBeGreaterThanOrEqual(2);
        for (const s of slices) expect(s).toMatch(c.slice);
      }
      for (const name of Object.keys(kernels[0].outputs)) {
        const ref = bits(kernels[0].outputs[name]);
        expect(new Set(ref).size, name).toBeGreaterThan(1);
        for (const k of kernels.slice(1)) expect(bits(k.outputs[name]), name).toEqual(ref);
      }
      await Promise.all(kernels.map((k) => k.dispose()));
    });
  }
});
