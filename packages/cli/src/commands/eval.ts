/**
 * `adjoint eval --checkpoint PATH`: rebuilds the model a checkpoint's meta describes, loads its weights
 * (validated before any copy) and evaluates it on the test split of the dataset and seed it was trained on.
 */
import { loadCheckpointInto, readCheckpoint } from "../../../nn/src/formats/fs";
import type { Checkpoint } from "../../../nn/src/formats/tensors";
import { loadTestSplit } from "../data";
import { CliError, oneLine } from "../errors";
import { runMetaOf } from "../meta";
import type { EvalOptions } from "../options";

export interface EvalResult {
  loss: number;
  accuracy: number;
  n: number;
}

export async function runEval(opts: EvalOptions, out: (line: string) => void): Promise<EvalResult> {
  let checkpoint: Checkpoint;
  try {
    checkpoint = readCheckpoint(opts.checkpoint);
  } catch (error) {
    throw new CliError(oneLine(error));
  }
  const run = runMetaOf(opts.checkpoint, checkpoint.meta);
  // The compiler is loaded only for a checkpoint that passed every check.
  const [{ Graph }, { makeEvaluator }, { describeModel, makeModel, sampleShape }] = await Promise.all([
    import("adjoint"),
    import("../evaluate"),
    import("../model"),
  ]);
  const test = loadTestSplit(run.dataset, run.seed, run.scaler);
  const model = makeModel(run.spec);
  const graph = new Graph({ seed: run.seed });
  const evaluate = makeEvaluator(model, graph, sampleShape(run.spec), test.n);
  try {
    loadCheckpointInto(
      opts.checkpoint,
      model.namedState().map(([name, t]) => ({ name, shape: [...t.shape], value: t.value })),
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
