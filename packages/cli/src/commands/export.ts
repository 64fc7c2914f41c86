/**
 * `adjoint export --checkpoint runs/NAME/model.ckpt --out model.onnx`: the checkpoint's model (rebuilt
 * from its meta, weights validated before any copy) as an ONNX file that takes raw features (the run's
 * standardization is in the graph) and gives "logits" and "probabilities".
 */
import type { Checkpoint } from "adjoint";
import { loadCheckpointInto, readCheckpoint } from "adjoint/node";
import { writeFileAtomic } from "../artifacts";
import { CliError, oneLine } from "../errors";
import { runMetaOf } from "../meta";
import type { ExportOptions } from "../options";

export async function runExport(
  opts: ExportOptions,
  out: (line: string) => void,
): Promise<{ bytes: number }> {
  let checkpoint: Checkpoint;
  try {
    checkpoint = readCheckpoint(opts.checkpoint);
  } catch (error) {
    throw new CliError(oneLine(error));
  }
  const run = runMetaOf(opts.checkpoint, checkpoint.meta);
  const [{ describeModel, makeModel, sampleShape }, { modelToOnnx }] = await Promise.all([
    import("../model"),
    import("../onnx"),
  ]);
  const bytes = modelToOnnx(
    makeModel(run.spec),
    (model) => {
      try {
        loadCheckpointInto(
          opts.checkpoint,
          model.namedState().map(([name, t]) => ({ name, shape: [...t.shape], value: t.value })),
        );
      } catch (error) {
        throw new CliError(oneLine(error));
      }
    },
    sampleShape(run.spec),
    run.scaler,
    { opset: opts.opset, batch: opts.batch },
  );
  writeFileAtomic(opts.out, bytes);
  const batch = opts.batch === null ? "batch" : String(opts.batch);
  const dims = [batch, ...sampleShape(run.spec)].join(",");
  out(`checkpoint: ${opts.checkpoint}; model: ${describeModel(run.spec)}`);
  out(
    `wrote ${opts.out} (${bytes.length} bytes, ONNX opset ${opts.opset}): input "x" [${dims}] of raw features${run.scaler ? " (the run's standardization is in the graph)" : ""}, outputs "logits" and "probabilities" [${batch},${run.spec.classes}]`,
  );
  return { bytes: bytes.length };
}
