/**
 * `adjoint eval --checkpoint PATH`: rebuilds the model a checkpoint's meta describes, loads its weights
 * (validated before any copy) and evaluates it on the test split of the dataset and seed it was trained on.
 */
import { Graph } from "adjoint";
import { type Checkpoint, loadCheckpointInto, readCheckpoint } from "../../../nn/src/checkpoint";
import { CliError, oneLine } from "../errors";
import { makeEvaluator } from "../evaluate";
import { ACTIVATIONS, DATASETS, type EvalOptions } from "../options";
import {
  DATASET_SHAPES,
  describeModel,
  loadTestSplit,
  type ModelSpec,
  makeModel,
  scalerFromJson,
} from "../setup";
import { CHECKPOINT_KIND } from "./train";

export interface RunMeta {
  spec: ModelSpec;
  dataset: (typeof DATASETS)[number];
  seed: number;
  scaler: ReturnType<typeof scalerFromJson>;
}

/** The run description a checkpoint written by `adjoint train` carries; a one-line CliError otherwise. */
export function runMetaOf(path: string, meta: Checkpoint["meta"]): RunMeta {
  const bad = (what: string) =>
    new CliError(`checkpoint ${path} was not written by adjoint train, or its meta is damaged: ${what}`);
  if (meta.kind !== CHECKPOINT_KIND)
    throw bad(`meta.kind is ${JSON.stringify(meta.kind)}, expected "${CHECKPOINT_KIND}"`);
  const model = meta.model as Record<string, unknown> | undefined;
  const dataset = meta.dataset as Record<string, unknown> | undefined;
  if (!model || typeof model !== "object") throw bad("no model in meta");
  if (!dataset || typeof dataset !== "object") throw bad("no dataset in meta");
  const name = dataset.name;
  if (typeof name !== "string" || !(DATASETS as readonly string[]).includes(name)) {
    throw bad(`unknown dataset ${JSON.stringify(name)}`);
  }
  const ds = name as (typeof DATASETS)[number];
  const seed = dataset.seed;
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0)
    throw bad(`bad seed ${JSON.stringify(seed)}`);
  const layers = model.layers;
  if (
    !Array.isArray(layers) ||
    layers.length === 0 ||
    !layers.every((n) => Number.isInteger(n) && n >= 1 && n <= 65536)
  ) {
    throw bad(`bad layers ${JSON.stringify(layers)}`);
  }
  const activation = model.activation;
  if (typeof activation !== "string" || !(ACTIVATIONS as readonly string[]).includes(activation)) {
    throw bad(`bad activation ${JSON.stringify(activation)}`);
  }
  const shape = DATASET_SHAPES[ds];
  if (model.inputs !== shape.inputs || model.classes !== shape.classes) {
    throw bad(
      `model ${model.inputs}→${model.classes} does not fit ${ds} (${shape.inputs} features, ${shape.classes} classes)`,
    );
  }
  let scaler: RunMeta["scaler"];
  try {
    scaler = scalerFromJson(meta.scaler);
  } catch (error) {
    throw bad(oneLine(error));
  }
  if (scaler && scaler.features !== shape.inputs)
    throw bad(`scaler has ${scaler.features} features, expected ${shape.inputs}`);
  return {
    spec: {
      inputs: shape.inputs,
      layers: layers as number[],
      classes: shape.classes,
      activation: activation as ModelSpec["activation"],
    },
    dataset: ds,
    seed,
    scaler,
  };
}

export interface EvalResult {
  loss: number;
  accuracy: number;
  n: number;
}

export function runEval(opts: EvalOptions, out: (line: string) => void): EvalResult {
  let checkpoint: Checkpoint;
  try {
    checkpoint = readCheckpoint(opts.checkpoint);
  } catch (error) {
    throw new CliError(oneLine(error));
  }
  const run = runMetaOf(opts.checkpoint, checkpoint.meta);
  const test = loadTestSplit(run.dataset, run.seed, run.scaler);
  const model = makeModel(run.spec);
  const graph = new Graph({ seed: run.seed });
  const evaluate = makeEvaluator(model, graph, run.spec.inputs, test.n);
  try {
    loadCheckpointInto(
      opts.checkpoint,
      model.namedParameters().map(([name, t]) => ({ name, shape: [...t.shape], value: t.value })),
    );
  } catch (error) {
    throw new CliError(oneLine(error));
  }
  const r = evaluate(test);
  out(`checkpoint: ${opts.checkpoint}`);
  out(
    `model: ${describeModel(run.spec)}; data: ${run.dataset}, seed ${run.seed}, test split of ${r.n} samples`,
  );
  out(`test loss: ${r.loss.toFixed(4)}`);
  out(`test accuracy: ${r.accuracy.toFixed(4)}`);
  return r;
}
