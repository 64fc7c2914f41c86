/**
 * tfjs-wasm: @tensorflow/tfjs with @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD), single-threaded like every
 * other system here. In Node the .wasm binaries are loaded from the package's dist folder on disk.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Workload } from "../workloads";
import { type Tfjs, tfjsInferenceRunner, tfjsTrainRunner } from "./tfjs-common";
import { errorMessage, type InferenceRunner, type Runner, type Skip, type System, skip } from "./types";

let tfPromise: Promise<Tfjs | Skip> | null = null;

export async function loadTfjsWasm(): Promise<Tfjs | Skip> {
  tfPromise ??= (async () => {
    try {
      const tf = (await import("@tensorflow/tfjs")) as unknown as Tfjs;
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      const require = createRequire(import.meta.url);
      const pkgDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
      wasm.setWasmPaths(`${join(pkgDir, "dist")}/`);
      // One thread, like every other system in this benchmark (the SIMD binary, not the threaded one).
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
      if (!(await tf.setBackend("wasm"))) return skip("tfjs wasm backend failed to initialize");
      if (!(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"))) return skip("no wasm SIMD support");
      return tf;
    } catch (e) {
      return skip(`cannot load @tensorflow/tfjs-backend-wasm: ${errorMessage(e)}`);
    }
  })();
  const tf = await tfPromise;
  if ("skipped" in tf) return tf;
  if (!(await tf.setBackend("wasm"))) return skip("tfjs wasm backend failed to initialize");
  return tf;
}

export const tfjsWasmSystem: System = {
  name: "tfjs-wasm",
  async describe() {
    const tf = await loadTfjsWasm();
    return "skipped" in tf ? tf.reason : `@tensorflow/tfjs ${tf.version.tfjs}, backend wasm (SIMD, 1 thread)`;
  },
  async setup(w: Workload): Promise<Runner | Skip> {
    const tf = await loadTfjsWasm();
    if ("skipped" in tf) return tf;
    return tfjsTrainRunner(tf, w);
  },
  async setupInference(w: Workload): Promise<InferenceRunner | Skip> {
    const tf = await loadTfjsWasm();
    if ("skipped" in tf) return tf;
    return tfjsInferenceRunner(tf, w);
  },
};

export default tfjsWasmSystem;
