/**
 * tfjs-wasm's side of the threads benchmark, in an iframe of the cross-origin isolated page (tfjs.html?threads=n,
 * same origin, same COOP/COEP headers): the threaded SIMD build of @tensorflow/tfjs-backend-wasm (XNNPACK
 * with its pthread pool) at n threads, on the frame's main thread, where tfjs's users run it. tfjs sizes
 * the pool once per page, so the threads page holds one frame per thread count.
 * `window.tfjsBench(id, budgetMs)` → one StepTiming of the tfjs-wasm training step (tfjs-common.ts).
 */
import type * as TF from "@tensorflow/tfjs";
import plainWasm from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url";
import simdWasm from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url";
import threadedSimdWasm from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url";
import { timeWorkload } from "../browser/timing";
import { tfjsTrainRunner } from "../systems/tfjs-common";
import type { System } from "../systems/types";
import type { WorkloadId } from "../workloads";

declare global {
  interface Window {
    tfjsBench: (
      id: WorkloadId,
      budgetMs: number,
    ) => Promise<{ timing: unknown; engine: string; isolated: boolean }>;
  }
}

let backend: Promise<{ tf: typeof TF; threads: number; engine: string }> | null = null;

function start(threads: number) {
  backend ??= (async () => {
    const tf = await import("@tensorflow/tfjs");
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths({
      "tfjs-backend-wasm.wasm": plainWasm,
      "tfjs-backend-wasm-simd.wasm": simdWasm,
      "tfjs-backend-wasm-threaded-simd.wasm": threadedSimdWasm,
    });
    wasm.setThreadsCount(threads);
    if (!(await tf.setBackend("wasm"))) throw new Error("tfjs's wasm backend failed to start");
    const threaded = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    if (!threaded || !simd) throw new Error(`tfjs-wasm: multithread support ${threaded}, SIMD ${simd}`);
    return {
      tf: tf as unknown as typeof TF,
      threads: wasm.getThreadsCount(),
      engine: `@tensorflow/tfjs ${tf.version.tfjs}, wasm backend, threaded SIMD build`,
    };
  })();
  return backend;
}

const threads = Number(new URLSearchParams(location.search).get("threads") ?? 1);
// tfjs 4.22 caps its pool at navigator.hardwareConcurrency / 2 (backend.cc: "many x86-64 processors have 2
// threads per core"), so on 2 logical cores it runs 1 thread whatever setThreadsCount asks. This machine's
// 2 vCPUs report 1 thread per core (lscpu); the frame reports twice the cores to tfjs so that its cap
// lets the pool have `threads` threads. Only tfjs reads it here; the machine still has 2 cores.
if (threads > 1) {
  const cores = navigator.hardwareConcurrency;
  Object.defineProperty(navigator, "hardwareConcurrency", { get: () => 2 * cores, configurable: true });
}

window.tfjsBench = async (id, budgetMs) => {
  const { tf, threads: pool, engine } = await start(threads);
  // tfjs runs fewer threads silently (without isolation, one): say so instead.
  if (pool !== threads) throw new Error(`tfjs-wasm asked for ${threads} threads, runs ${pool}`);
  const system: System = { name: "tfjs-wasm", setup: async (w) => tfjsTrainRunner(tf, w) };
  const timing = await timeWorkload(id, budgetMs, system);
  return { timing, engine, isolated: crossOriginIsolated };
};
