/**
 * Sums over contiguous runs in wasm SIMD (wasm/sum-runs.ts): a batch norm's or a conv bias gradient's Σ
 * over batch and pixels, per channel. The kernel's float64 sums are replayed in JS (whose numbers are
 * float64) and must give the same float32, runs with groups of eight, of four and leftover floats alike
 * (float64 partial sums make the float32 result all but independent of their order: the test checks
 * the values, not the order); compiled sums match the float64 interpreter under every config and give
 * the same bits on 1, 2 and 3 threads.
 */
import { compile, Graph, sumAxes } from "adjoint";
import { describe, expect, it } from "vitest";
import { simdAvailable } from "../../packages/compiler/src/wasm/features";
import { wasmApi } from "../../packages/compiler/src/wasm/js-api";
import { buildSumRunsModule, type SumRunsSpec } from "../../packages/compiler/src/wasm/sum-runs";
import { CaseBuilder, differential } from "./differential";

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** The kernel's order: 8 partial sums (lanes of two groups of four), a group of four, the tail. */
function replay(F: Float32Array, spec: SumRunsSpec, plane: number): number {
  const s = new Float64Array(8);
  let tail = 0;
  for (let r = 0; r < spec.runs; r++) {
    const base = (spec.xOffset + plane * spec.xPlaneStride + r * spec.xRunStride) / 4;
    let i = 0;
    for (; i + 8 <= spec.run; i += 8) for (let l = 0; l < 8; l++) s[l] += F[base + i + l]!;
    if (spec.run - i >= 4) {
      for (let l = 0; l < 4; l++) s[l] += F[base + i + l]!;
      i += 4;
    }
    for (; i < spec.run; i++) tail += F[base + i]!;
  }
  // s0..s3: the first group's lanes plus the second group's, then ((s0 + s1) + (s2 + s3)) + tail.
  const [a, b, c, d] = [s[0]! + s[4]!, s[1]! + s[5]!, s[2]! + s[6]!, s[3]! + s[7]!];
  return Math.fround(a + b + (c + d) + tail);
}

describe.runIf(simdAvailable())("wasm sums over contiguous runs", () => {
  for (const run of [16, 20, 23, 63, 784]) {
    it(`runs of ${run}: the kernel's order replayed exactly, over planes with gaps`, () => {
      const planes = 3;
      const runs = 5;
      const spec: SumRunsSpec = {
        planes,
        outOffset: 64,
        outStride: 4,
        xOffset: 256,
        xPlaneStride: (run + 3) * 4,
        runs,
        xRunStride: planes * (run + 3) * 4 + 8,
        run,
      };
      const memory = new wasmApi.Memory({ initial: 2, maximum: 2, shared: true });
      const F = new Float32Array(memory.buffer);
      for (let i = 64; i < F.length; i++) F[i] = Math.sin(i * 0.731) * 1e3 * (1 + (i % 7));
      const before = F.slice();
      const module = new wasmApi.Module(buildSumRunsModule(spec).encode());
      (new wasmApi.Instance(module, { env: { memory } }).exports.run as () => void)();
      for (let p = 0; p < planes; p++) expect(F[16 + p], `plane ${p}`).toBe(replay(before, spec, p));
      // Nothing else is written.
      F.set(before.subarray(16, 16 + planes), 16);
      expect(bits(F)).toEqual(bits(before));
    });
  }

  it("a per-channel sum over [N, C, H, W] runs in the kernel and matches the float64 interpreter", () => {
    const c = new CaseBuilder(11);
    const x = c.x("x", [6, 5, 9, 7]);
    const report = differential(c, sumAxes(x.tanh(), [0, 2, 3], true));
    expect(report.failures, report.message).toEqual([]);
    expect(report.kernels[0].source).toMatch(/wasm\.sum\d+\(\)/);
  });

  it("split by channels over 2 and 3 threads, the same bits as one thread", async () => {
    const kernels = [1, 2, 3].map((threads) => {
      const g = new Graph({ seed: 2 });
      const x = g.param("x", [16, 6, 28, 28], {
        init: (v) => v.set(v.map((_, i) => Math.sin(i * 0.017) * 3)),
      });
      return compile({ y: sumAxes(x, [0, 2, 3], true) }, { threads, threadMinElements: 0, cache: false });
    });
    await Promise.all(kernels.map((k) => k.whenReady()));
    for (const k of kernels) k.run();
    expect(kernels[1].jobsSource).toMatch(/wasm\.sum\d+_1\(\)/);
    for (const k of kernels.slice(1)) expect(bits(k.outputs.y)).toEqual(bits(kernels[0].outputs.y));
    await Promise.all(kernels.map((k) => k.dispose()));
  });
});
