/**
 * `adjoint train`: trains an MLP with fit(), evaluates it on the test split and writes the run folder:
 * metrics (csv, json), curves (svg), graph and kernel dumps, the checkpoint and a summary. The last line
 * printed is `test accuracy: 0.xxxx`.
 */
import { crossEntropy, type Dataset, type EpochLog, type FitResult, fit, type Tensor } from "adjoint";
import { saveCheckpoint } from "adjoint/node";
import { RunFolder } from "../artifacts";
import { loadData } from "../data";
import { CliError } from "../errors";
import { makeEvaluator } from "../evaluate";
import { CHECKPOINT_KIND } from "../meta";
import {
  describeModel,
  describeOptimizer,
  type ModelSpec,
  makeModel,
  makeOptimizer,
  makeSchedule,
  sampleShape,
} from "../model";
import { describeSchedule, type TrainOptions } from "../options";
import { linePlot } from "../plots";
import { modelToOnnx, onnxModelFor } from "../onnx";
import { compiledKernel, makeDumps, type StepGraph } from "../program";
import { createProgress } from "../progress";

/** Groups of the step that `--profile` prints. */
const PROFILE_LINES = 8;

export interface TrainIo {
  /** Progress and result lines (stdout). */
  out: (line: string) => void;
  /** Draw progress bars (stdout is a terminal). */
  tty: boolean;
}

export interface TrainResult {
  folder: string;
  files: string[];
  testAccuracy: number;
  testLoss: number;
  history: EpochLog[];
}

export async function runTrain(opts: TrainOptions, io: TrainIo): Promise<TrainResult> {
  const t0 = performance.now();
  // Fail on an unwritable destination before any work.
  const run = RunFolder.open(opts.out);
  const progress = createProgress({ epochs: opts.epochs, tty: io.tty, write: io.out });
  try {
    const data = loadData({ name: opts.dataset, seed: opts.seed, valFraction: opts.valFraction });
    const spec: ModelSpec = {
      kind: opts.model,
      inputs: data.inputs,
      layers: opts.layers,
      classes: data.classes,
      activation: opts.activation,
    };
    // --init-from: the ONNX file's model, checked to fit the dataset, instead of a new one.
    const freshModel = () =>
      opts.initFrom ? onnxModelFor(opts.initFrom, opts.dataset, data.inputs, data.classes) : makeModel(spec);
    const model = freshModel();
    const modelText = opts.initFrom
      ? `ONNX model ${opts.initFrom} (${data.inputs}→${data.classes}, fine-tuned), logits + cross-entropy`
      : describeModel(spec);
    // The CNNs take [1, 28, 28] images: the same rows of pixels, seen with their sample shape.
    const shape = opts.initFrom ? [data.inputs] : sampleShape(spec);
    const asSamples = <T extends Dataset | null>(ds: T): T => (ds ? { ...ds, xShape: shape } : ds);
    const optimizer = makeOptimizer(opts.optimizer, makeSchedule(opts.lr, opts.schedule));
    io.out(`data: ${data.description}`);
    io.out(`model: ${modelText}; optimizer: ${describeOptimizer(opts.optimizer, opts.lr, opts.schedule)}`);
    io.out(
      `batch ${opts.batch}, ${opts.epochs} epochs${opts.earlyStopping ? `, early stopping after ${opts.earlyStopping} epochs without a lower validation loss` : ""}, ${opts.threads} thread${opts.threads === 1 ? "" : "s"}; writing to ${opts.out}`,
    );

    // The loss function sees each build of the model: the first is the training step's (its logits are
    // needed for the dumps).
    const builds: { y: Tensor; t: Tensor }[] = [];
    const tFit = performance.now();
    const result: FitResult = fit(model, asSamples(data.train), {
      optimizer,
      loss: (y, t) => {
        builds.push({ y, t });
        return crossEntropy(y, t);
      },
      epochs: opts.epochs,
      batchSize: opts.batch,
      seed: opts.seed,
      graphSeed: opts.seed,
      threads: opts.threads,
      profile: opts.profile,
      validation: asSamples(data.val) ?? undefined,
      earlyStopping: opts.earlyStopping
        ? { patience: opts.earlyStopping, monitor: "valLoss", restoreBest: true }
        : undefined,
      onBatchEnd: (e) => {
        if (!Number.isFinite(e.loss)) {
          throw new CliError(
            `training diverged: the loss is ${e.loss} at epoch ${e.epoch + 1}, step ${e.batch + 1} (try a smaller --lr than ${opts.lr}); nothing was written`,
          );
        }
        progress.onBatchEnd(e);
      },
      onEpochEnd: (log) => progress.onEpochEnd(log),
    });
    const fitSeconds = (performance.now() - tFit) / 1000;
    progress.close();
    if (result.stopReason === "earlyStopping") {
      io.out(
        `early stopping: no lower validation loss for ${opts.earlyStopping} epochs; keeping the weights of epoch ${(result.bestEpoch ?? 0) + 1}`,
      );
    }

    const evaluate = makeEvaluator(model, result.graph, shape, data.test.n);
    const test = evaluate(asSamples(data.test));
    const step = result.trainSteps[0];
    const stepGraph: StepGraph = { graph: result.graph, loss: step.loss, y: builds[0].y, step };
    const kernel = compiledKernel(step);
    // Why fewer threads ran than asked for (no product or loop large enough, no SharedArrayBuffer).
    if (kernel.threadsNote) io.out(kernel.threadsNote);
    if (opts.profile) {
      const slowest = kernel
        .profile()
        .sort((a, b) => b.ms - a.ms)
        .slice(0, PROFILE_LINES);
      io.out(`slowest groups of the training step (mean ms per step; kernel.js has their code):`);
      for (const t of slowest) io.out(`  ${t.ms.toFixed(3).padStart(8)}  ${t.header}`);
    }
    const trainSeconds = result.history.reduce((s, h) => s + h.seconds, 0);
    const stepsPerSec = trainSeconds > 0 ? result.steps / trainSeconds : 0;
    const paramCount = model.parameters().reduce((s, p) => s + p.size, 0);
    const title = `${modelText}, ${opts.optimizer}, batch ${opts.batch}`;

    // Artifacts, staged; nothing in the run folder changes until all of them are written.
    const metrics = metricsRows(result.history);
    run.write("metrics.csv", metricsCsv(metrics));
    const summaryNumbers = {
      test: { loss: test.loss, accuracy: test.accuracy, samples: test.n },
      epochsRun: result.history.length,
      bestEpoch: result.bestEpoch === null ? null : result.bestEpoch + 1,
      stopReason: result.stopReason,
      steps: result.steps,
      trainSeconds,
      stepsPerSecond: stepsPerSec,
      arenaBytes: kernel.memory.arenaBytes,
      naiveBytes: kernel.memory.naiveBytes,
      parameters: paramCount,
    };
    run.write(
      "metrics.json",
      `${JSON.stringify({ config: configJson(opts), epochs: metrics, ...summaryNumbers }, null, 2)}\n`,
    );
    const epochsX = (key: keyof MetricsRow) =>
      metrics.map((m) => [m.epoch, m[key] === null ? Number.NaN : (m[key] as number)] as const);
    const curves = (
      key: "loss" | "accuracy",
      yLabel: string,
      bounds: Partial<Parameters<typeof linePlot>[0]>,
    ) =>
      linePlot({
        title: `${key === "loss" ? "Loss" : "Accuracy"} per epoch: ${opts.dataset}`,
        xLabel: "epoch",
        yLabel,
        series: [
          { name: "train", points: epochsX(`train_${key}`) },
          ...(data.val ? [{ name: "validation", points: epochsX(`val_${key}`), dashed: true }] : []),
        ],
        ...bounds,
      });
    run.write("loss.svg", curves("loss", "cross-entropy loss", { yMin: 0 }));
    run.write("accuracy.svg", curves("accuracy", "accuracy", { yMax: 1, legend: "bottom-right" }));
    const dumps = await makeDumps(stepGraph, `training step: ${title}`);
    for (const [name, content] of Object.entries(dumps)) run.write(name, content);

    const meta = {
      kind: CHECKPOINT_KIND,
      version: 1,
      model: opts.initFrom ? { ...spec, initFrom: opts.initFrom } : { ...spec },
      dataset: { name: opts.dataset, seed: opts.seed, valFraction: opts.valFraction },
      seed: opts.seed,
      scaler: data.scaler ? { mean: Array.from(data.scaler.mean), std: Array.from(data.scaler.std) } : null,
      training: {
        optimizer: opts.optimizer,
        lr: opts.lr,
        schedule: describeSchedule(opts.schedule),
        batch: opts.batch,
        epochs: opts.epochs,
        earlyStopping: opts.earlyStopping,
        epochsRun: result.history.length,
        bestEpoch: summaryNumbers.bestEpoch,
      },
      test: { loss: test.loss, accuracy: test.accuracy },
      createdAt: new Date().toISOString(),
    };
    saveCheckpoint(run.stagePath("model.ckpt"), {
      tensors: model.namedState().map(([name, t]) => ({ name, shape: [...t.shape], value: t.value })),
      meta,
    });
    if (opts.onnx || opts.initFrom) {
      const state = model.stateDict();
      run.write(
        "model.onnx",
        modelToOnnx(freshModel(), (m) => m.loadStateDict(state), shape, data.scaler, {
          opset: 17,
          batch: null,
        }),
      );
    }
    const totalSeconds = (performance.now() - t0) / 1000;
    run.write(
      "summary.md",
      summaryMarkdown({
        opts,
        dataDescription: data.description,
        model: modelText,
        optimizer: describeOptimizer(opts.optimizer, opts.lr, opts.schedule),
        history: result.history,
        numbers: summaryNumbers,
        fitSeconds,
        totalSeconds,
        files: [...run.staged, "summary.md"],
      }),
    );
    const files = run.commit();
    io.out(`wrote ${files.length} files to ${opts.out}: ${files.join(", ")}`);
    io.out(`test loss: ${test.loss.toFixed(4)}  (${test.n} samples, ${totalSeconds.toFixed(1)} s in all)`);
    io.out(`test accuracy: ${test.accuracy.toFixed(4)}`);
    return {
      folder: opts.out,
      files,
      testAccuracy: test.accuracy,
      testLoss: test.loss,
      history: result.history,
    };
  } catch (error) {
    progress.close();
    run.abort();
    throw error;
  }
}

// ------------------------------------------------------------------------------------------- metrics

export interface MetricsRow {
  epoch: number;
  train_loss: number;
  train_accuracy: number | null;
  val_loss: number | null;
  val_accuracy: number | null;
  lr: number;
  seconds: number;
  steps_per_second: number;
}

function metricsRows(history: readonly EpochLog[]): MetricsRow[] {
  return history.map((h) => ({
    epoch: h.epoch + 1,
    train_loss: h.loss,
    train_accuracy: h.acc,
    val_loss: h.valLoss,
    val_accuracy: h.valAcc,
    lr: h.lr,
    seconds: h.seconds,
    steps_per_second: h.stepsPerSec,
  }));
}

function metricsCsv(rows: readonly MetricsRow[]): string {
  const cols: (keyof MetricsRow)[] = [
    "epoch",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "lr",
    "seconds",
    "steps_per_second",
  ];
  const cell = (v: number | null) =>
    v === null ? "" : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(8)));
  return `${[cols.join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\n")}\n`;
}

function configJson(opts: TrainOptions) {
  return {
    dataset: opts.dataset,
    model: opts.model,
    layers: opts.layers,
    activation: opts.activation,
    optimizer: opts.optimizer,
    lr: opts.lr,
    schedule: describeSchedule(opts.schedule),
    batch: opts.batch,
    epochs: opts.epochs,
    earlyStopping: opts.earlyStopping,
    valFraction: opts.valFraction,
    seed: opts.seed,
    out: opts.out,
  };
}

function summaryMarkdown(s: {
  opts: TrainOptions;
  dataDescription: string;
  model: string;
  optimizer: string;
  history: readonly EpochLog[];
  numbers: {
    test: { loss: number; accuracy: number; samples: number };
    epochsRun: number;
    bestEpoch: number | null;
    stopReason: string;
    steps: number;
    stepsPerSecond: number;
    arenaBytes: number;
    naiveBytes: number;
    parameters: number;
  };
  fitSeconds: number;
  totalSeconds: number;
  files: string[];
}): string {
  const { opts, numbers: n } = s;
  const last = s.history[s.history.length - 1];
  const f4 = (v: number | null | undefined) => (v === null || v === undefined ? "–" : v.toFixed(4));
  const kib = (b: number) => `${(b / 1024).toLocaleString("en-US", { maximumFractionDigits: 1 })} KiB`;
  const int = (v: number) => Math.round(v).toLocaleString("en-US");
  const command = [
    "adjoint train",
    `--dataset ${opts.dataset}`,
    `--model ${opts.model}`,
    `--layers ${opts.layers.join(",")}`,
    `--activation ${opts.activation}`,
    `--optimizer ${opts.optimizer}`,
    `--lr ${opts.lr}`,
    `--schedule ${describeSchedule(opts.schedule)}`,
    `--batch ${opts.batch}`,
    `--epochs ${opts.epochs}`,
    ...(opts.earlyStopping ? [`--early-stopping ${opts.earlyStopping}`] : []),
    `--val-fraction ${opts.valFraction}`,
    ...(opts.threads > 1 ? [`--threads ${opts.threads}`] : []),
    `--seed ${opts.seed}`,
    `--out ${opts.out}`,
    ...(opts.onnx ? ["--onnx"] : []),
    ...(opts.initFrom ? [`--init-from ${opts.initFrom}`] : []),
  ].join(" ");
  const lines = [
    `# Run ${opts.out}`,
    "",
    "| | |",
    "|---|---|",
    `| dataset | ${s.dataDescription} |`,
    `| model | ${s.model}, ${n.parameters.toLocaleString("en-US")} parameters |`,
    `| optimizer | ${s.optimizer} |`,
    `| batch | ${opts.batch} |`,
    `| epochs | ${n.epochsRun} of ${opts.epochs}${n.stopReason === "earlyStopping" ? ` (early stopping, patience ${opts.earlyStopping}; best epoch ${n.bestEpoch}, whose weights were kept)` : ""} |`,
    `| **test accuracy** | **${f4(n.test.accuracy)}** (${n.test.samples} samples) |`,
    `| test loss | ${f4(n.test.loss)} |`,
    `| last epoch | train loss ${f4(last?.loss)}, acc ${f4(last?.acc)}; validation loss ${f4(last?.valLoss)}, acc ${f4(last?.valAcc)} |`,
    `| time | ${s.totalSeconds.toFixed(1)} s in all, ${s.fitSeconds.toFixed(1)} s in fit (training steps, validation, compiling) |`,
    `| steps | ${int(n.steps)} at ${int(n.stepsPerSecond)} steps/s (${int(n.stepsPerSecond * opts.batch)} samples/s) |`,
    `| arena | ${kib(n.arenaBytes)} (${int(n.arenaBytes)} bytes) for the step's intermediates; ${kib(n.naiveBytes)} with one buffer per value |`,
    "",
    "## Epochs",
    "",
    "| epoch | train loss | train acc | val loss | val acc | lr | steps/s |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...s.history.map(
      (h) =>
        `| ${h.epoch + 1} | ${f4(h.loss)} | ${f4(h.acc)} | ${f4(h.valLoss)} | ${f4(h.valAcc)} | ${Number(h.lr.toPrecision(4))} | ${h.stepsPerSec.toFixed(0)} |`,
    ),
    "",
    "![loss](loss.svg) ![accuracy](accuracy.svg)",
    "",
    "## Files",
    "",
    ...s.files.map((f) => `- \`${f}\`${FILE_NOTES[f] ? `: ${FILE_NOTES[f]}` : ""}`),
    "",
    "Reproduce with:",
    "",
    "```sh",
    command,
    "```",
    "",
  ];
  return lines.join("\n");
}

const FILE_NOTES: Record<string, string> = {
  "metrics.csv": "per-epoch train and validation loss and accuracy, lr, time",
  "metrics.json": "the same, with the configuration and the test metrics",
  "loss.svg": "loss curves, train and validation",
  "accuracy.svg": "accuracy curves, train and validation",
  "graph.txt": "the training graph (forward, gradient graph, updates) as text, with fused groups",
  "graph.dot": "the same as Graphviz DOT: module clusters, fused groups dashed, gradient nodes orange",
  "graph.svg": "graph.dot rendered",
  "program.txt": "the program after the compiler's passes, one line per node with its loop nest",
  "kernel.js": "the generated step function (forward + backward + update, no allocation)",
  "kernel.wasm.txt": "listings of the generated WebAssembly SIMD matmul kernels the step calls",
  "model.ckpt": "the weights and the configuration (adjoint eval --checkpoint)",
  "model.onnx":
    'the model as ONNX (raw features in, "logits" and "probabilities" out, symbolic batch): ONNX Runtime, Triton, ...',
  "summary.md": "this file",
};
