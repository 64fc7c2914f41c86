/**
 * The single-core ceiling of 128-bit FMA in wasm on this processor: a register-only loop of independent
 * f32x4.relaxed_madd chains (no loads, no stores until the end), timed for several chain counts. Enough
 * independent chains hide the FMA latency; the best figure is what a matmul micro-kernel could reach.
 *
 *   npx tsx benchmarks/src/fma-ceiling.ts
 */
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import { FunctionBuilder, I32, ModuleBuilder, V128 } from "../../packages/compiler/src/wasm/encoder";
import { relaxedSimdAvailable } from "../../packages/compiler/src/wasm/features";
import { wasmApi } from "../../packages/compiler/src/wasm/js-api";

/** `chains` independent relaxed_madd chains; the function runs `iterations` rounds of one madd per chain. */
export function fmaModule(chains: number): () => (iterations: number) => void {
  const fn = new FunctionBuilder("fma", [["n", I32]]);
  const acc = Array.from({ length: chains }, (_, i) => fn.local(`acc${i}`, V128));
  const a = fn.local("a", V128);
  const b = fn.local("b", V128);
  fn.f32Const(0.999).f32x4Splat().set(a);
  fn.f32Const(1e-3).f32x4Splat().set(b);
  for (const x of acc) fn.f32Const(1).f32x4Splat().set(x);
  fn.loop();
  for (const x of acc) fn.get(a).get(x).get(b).f32x4RelaxedMadd().set(x); // x = a·x + b: a dependent chain
  fn.get(0).i32Const(1).i32Sub().tee(0).brIf(0);
  fn.end();
  // Keep every chain live: store them at the start of memory.
  acc.forEach((x, i) => {
    fn.i32Const(64 + i * 16)
      .get(x)
      .v128Store(0);
  });
  const module = new ModuleBuilder(1);
  module.add(fn, "fma");
  const compiled = new wasmApi.Module(module.encode());
  return () => {
    const memory = new wasmApi.Memory({ initial: 1, maximum: 65536, shared: true });
    return new wasmApi.Instance(compiled, { env: { memory } }).exports.fma as (n: number) => void;
  };
}

/** Chains enough to hide the madd latency (4 cycles × 2 pipes) without spilling (V8 uses 15 xmm registers). */
export const CEILING_CHAINS = 12;

function main(): void {
  if (!relaxedSimdAvailable()) {
    console.log("no relaxed SIMD: no FMA ceiling to measure");
  } else {
    console.log(`processor: ${cpus()[0]?.model ?? "?"}; 128-bit relaxed_madd, register-only, one thread`);
    const iterations = 20_000_000;
    for (const chains of [4, 8, 10, 12, 14]) {
      const run = fmaModule(chains)();
      run(1000);
      const samples: number[] = [];
      for (let s = 0; s < 7; s++) {
        const t0 = performance.now();
        run(iterations);
        const ms = performance.now() - t0;
        samples.push((iterations * chains * 8) / (ms * 1e6));
      }
      samples.sort((x, y) => x - y);
      console.log(
        `${String(chains).padStart(2)} chains: median ${samples[3].toFixed(1)} GFLOP/s, best ${samples[6].toFixed(1)}`,
      );
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main();
