/**
 * What a checkpoint written by `adjoint train` records about its run (meta.kind "adjoint-cli-run"): the
 * model's configuration, the dataset and seed of its splits, and the feature scaler. Checked field by field,
 * so that `adjoint eval` refuses a foreign or damaged checkpoint with one clear line.
 */
import type { Checkpoint } from "../../nn/src/formats/tensors";
import { DATASET_SHAPES, scalerFromJson } from "./data";
import { CliError, oneLine } from "./errors";
import type { ModelSpec } from "./model";
import { ACTIVATIONS, DATASETS, MODELS } from "./options";

export const CHECKPOINT_KIND = "adjoint-cli-run";

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
  if (typeof model.initFrom === "string") {
    throw new CliError(
      `checkpoint ${path} holds an ONNX model fine-tuned from ${model.initFrom}: use the model.onnx written next to it`,
    );
  }
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
  const kind = model.kind ?? "mlp";
  if (typeof kind !== "string" || !(MODELS as readonly string[]).includes(kind)) {
    throw bad(`unknown model kind ${JSON.stringify(kind)}`);
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
      kind: kind as ModelSpec["kind"],
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
