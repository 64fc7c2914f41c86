/** tfjs-cpu: @tensorflow/tfjs with its pure-JS cpu backend. */
import type { Workload } from "../workloads";
import { type Tfjs, tfjsInferenceRunner, tfjsTrainRunner } from "./tfjs-common";
import { errorMessage, type InferenceRunner, type Runner, type Skip, type System, skip } from "./types";

let tfPromise: Promise<Tfjs | Skip> | null = null;

/** Loads tfjs once and selects the cpu backend (the engine is global: set it again before every use). */
export async function loadTfjsCpu(): Promise<Tfjs | Skip> {
  tfPromise ??= (async () => {
    try {
      const tf = (await import("@tensorflow/tfjs")) as unknown as Tfjs;
      return tf;
    } catch (e) {
      return skip(`cannot load @tensorflow/tfjs: ${errorMessage(e)}`);
    }
  })();
  const tf = await tfPromise;
  if ("skipped" in tf) return tf;
  if (!(await tf.setBackend("cpu"))) return skip("tfjs cpu backend failed to initialize");
  return tf;
}

export const tfjsCpuSystem: System = {
  name: "tfjs-cpu",
  async describe() {
    const tf = await loadTfjsCpu();
    return "skipped" in tf ? tf.reason : `@tensorflow/tfjs ${tf.version.tfjs}, backend cpu`;
  },
  async setup(w: Workload): Promise<Runner | Skip> {
    const tf = await loadTfjsCpu();
    if ("skipped" in tf) return tf;
    return tfjsTrainRunner(tf, w);
  },
  async setupInference(w: Workload): Promise<InferenceRunner | Skip> {
    const tf = await loadTfjsCpu();
    if ("skipped" in tf) return tf;
    return tfjsInferenceRunner(tf, w);
  },
};

export default tfjsCpuSystem;
