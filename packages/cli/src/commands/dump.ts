/**
 * `adjoint dump`: the dumps of a model's training step (graph.txt, graph.dot, graph.svg, program.txt,
 * kernel.js) without loading data or training: the step is built and compiled exactly as `train` would.
 */
import { RunFolder } from "../artifacts";
import { DATASET_SHAPES } from "../data";
import { describeModel, type ModelSpec, makeModel, makeOptimizer, sampleShape } from "../model";
import type { DumpOptions } from "../options";
import { buildTrainStep, compiledKernel, makeDumps } from "../program";

export async function runDump(opts: DumpOptions, out: (line: string) => void): Promise<string[]> {
  const run = RunFolder.open(opts.out);
  try {
    const { inputs, classes } = DATASET_SHAPES[opts.dataset];
    const spec: ModelSpec = {
      kind: opts.model,
      inputs,
      layers: opts.layers,
      classes,
      activation: opts.activation,
    };
    const model = makeModel(spec);
    const optimizer = makeOptimizer(opts.optimizer, opts.lr);
    const inputShape = sampleShape(spec);
    const step = buildTrainStep(model, { inputShape, batch: opts.batch, seed: opts.seed, optimizer });
    const title = `training step: ${describeModel(spec)}, ${opts.optimizer}, batch ${opts.batch}`;
    const dumps = await makeDumps(step, title);
    for (const [name, content] of Object.entries(dumps)) run.write(name, content);
    const files = run.commit();
    const kernel = compiledKernel(step.step);
    const nodes = dumps["graph.txt"].split("\n").filter((l) => l.startsWith("%")).length;
    out(`${title}`);
    out(
      `${nodes} graph nodes, ${kernel.groups} loop nests, arena ${kernel.memory.arenaBytes.toLocaleString("en-US")} bytes (${kernel.memory.naiveBytes.toLocaleString("en-US")} without reuse)`,
    );
    out(`wrote ${files.length} files to ${opts.out}: ${files.join(", ")}`);
    return files;
  } catch (error) {
    run.abort();
    throw error;
  }
}
