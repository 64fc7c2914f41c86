/**
 * The command line: commander definitions of every command's options, and the functions that turn parsed
 * strings into checked, typed settings (parseTrainOptions(argv) and friends, unit-tested directly). Every
 * bad value is a UsageError naming the option, the value given and what is allowed, on one line.
 */
import { availableParallelism } from "node:os";
import { CLASSIFIER_ACTIVATIONS, CLASSIFIER_KINDS, OPTIMIZER_NAMES } from "adjoint";
import { Command, CommanderError, Option } from "commander";
import { oneLine, UsageError } from "./errors";

/**
 * The cores, up to 8. Measured on a 2-core AMD EPYC (Zen 4): the default model (LeNet-5 with batch norm)
 * trains at 225-238 steps/s on 2 threads against 131-152 on one, the benchmark's W2-W5 steps 1.4-1.9x
 * faster (README, Threads); the results are the same bits whatever the count.
 */
export const DEFAULT_THREADS = Math.min(8, availableParallelism());

export const DATASETS = ["mnist", "iris", "spiral"] as const;
export type DatasetName = (typeof DATASETS)[number];

/**
 * mlp: Linear layers (--layers hidden sizes). cnn: the LeNet-5 of issue 11 (conv 1→6 5×5 pad 2, ReLU, max
 * pool 2, conv 6→16 5×5, ReLU, max pool 2, flatten, 400→120→84→10; --layers sets the hidden Linear sizes).
 * cnn-bn: the same with batch normalization after each conv and hidden Linear. The image models need MNIST.
 */
export const MODELS = CLASSIFIER_KINDS;
export type ModelName = (typeof MODELS)[number];

/**
 * The model when --model is not given: on MNIST the batch-normalized LeNet-5 (about 98% test accuracy in
 * about a minute on 2 cores, against 94% for the MLP; see scripts/lenet_pytorch.py for PyTorch's numbers).
 */
export const DEFAULT_MODEL: Readonly<Record<DatasetName, ModelName>> = {
  mnist: "cnn-bn",
  iris: "mlp",
  spiral: "mlp",
};

/** Hidden sizes when --layers is not given: the MLP's one layer, LeNet-5's fully connected layers. */
export const DEFAULT_LAYERS: Readonly<Record<ModelName, readonly number[]>> = {
  mlp: [128],
  cnn: [120, 84],
  "cnn-bn": [120, 84],
};

/**
 * A model's own recipe, used for the options not given: cnn-bn (the default on MNIST) trains with Adam at
 * lr 0.003 decayed per epoch as lr·e^(−0.35k), for 6 epochs (scripts/lenet_pytorch.py --recipe default is the
 * same recipe in PyTorch).
 */
export const MODEL_RECIPES: Readonly<
  Partial<Record<ModelName, { lr: Partial<Record<OptimizerName, number>>; schedule: string; epochs: number }>>
> = {
  "cnn-bn": { lr: { adam: 0.003, adamw: 0.003 }, schedule: "exp:0.35", epochs: 6 },
};

export const ACTIVATIONS = CLASSIFIER_ACTIVATIONS;
export type Activation = (typeof ACTIVATIONS)[number];

export const OPTIMIZERS = OPTIMIZER_NAMES;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** The learning rate each optimizer gets when --lr is not given. */
export const DEFAULT_LR: Readonly<Record<OptimizerName, number>> = {
  sgd: 0.1,
  momentum: 0.1,
  nesterov: 0.1,
  adagrad: 0.01,
  rmsprop: 0.001,
  "rmsprop-nesterov": 0.001,
  adam: 0.001,
  adamw: 0.001,
};

/** Epochs when --epochs is not given: the small sets need many more passes (each is a few steps). */
export const DEFAULT_EPOCHS: Readonly<Record<DatasetName, number>> = { mnist: 10, iris: 100, spiral: 300 };

export type ScheduleSpec = { kind: "const" } | { kind: "time"; tau: number } | { kind: "exp"; tau: number };

/** What a model and its training step are built from (shared by train and dump). */
export interface ModelOptions {
  dataset: DatasetName;
  model: ModelName;
  /** Hidden layer sizes. */
  layers: number[];
  activation: Activation;
  optimizer: OptimizerName;
  lr: number;
  batch: number;
  seed: number;
}

export interface TrainOptions extends ModelOptions {
  schedule: ScheduleSpec;
  epochs: number;
  /** Patience in epochs, or null for no early stopping. */
  earlyStopping: number | null;
  /** Fraction of the training split held out for validation, in [0, 0.9]. */
  valFraction: number;
  /** Threads of the training step (large products split over workers; bit-identical results). */
  threads: number;
  out: string;
  /** Also write model.onnx into the run folder. */
  onnx: boolean;
  /** Time the training step's groups and print the slowest after training. */
  profile: boolean;
  /** Fine-tune this ONNX file instead of a new MLP (null: a new MLP). */
  initFrom: string | null;
}

export interface DumpOptions extends ModelOptions {
  out: string;
}

export interface EvalOptions {
  checkpoint: string;
}

export interface ExportOptions {
  checkpoint: string;
  out: string;
  opset: number;
  /** A fixed batch size, or null for a symbolic one. */
  batch: number | null;
}

export interface BenchCliOptions {
  quick: boolean;
  only?: string[];
  systems?: string[];
  out?: string;
}

// ------------------------------------------------------------------------------------------- definitions

const lrHelp = `learning rate (default: ${Object.entries(groupBy(DEFAULT_LR))
  .map(([lr, names]) => `${names.join("/")} ${lr}`)
  .join(", ")})`;

function groupBy(table: Readonly<Record<string, number>>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, v] of Object.entries(table)) (out[String(v)] ??= []).push(name);
  return out;
}

/** An option whose help shows its default as written (commander would quote strings). */
function opt(flags: string, description: string, defaultValue: string | boolean): Option {
  const o = new Option(flags, description);
  return typeof defaultValue === "boolean" ? o.default(defaultValue) : o.default(defaultValue, defaultValue);
}

function addModelOptions(cmd: Command): Command {
  return cmd
    .addOption(opt("--dataset <name>", `dataset: ${DATASETS.join("|")}`, "mnist"))
    .option(
      "--model <name>",
      `model: ${MODELS.join("|")} (mlp: Linear layers; cnn: LeNet-5; cnn-bn: LeNet-5 with batch norm, trained by default with adam lr 0.003, schedule exp:0.35, 6 epochs) (default: ${DEFAULT_MODEL.mnist} for mnist, ${DEFAULT_MODEL.iris} otherwise)`,
    )
    .option(
      "--layers <sizes>",
      "hidden layer sizes, comma-separated (e.g. 256,128; default: 128 for mlp, the fully connected 120,84 for cnn)",
    )
    .addOption(opt("--activation <name>", `hidden activation: ${ACTIVATIONS.join("|")}`, "relu"))
    .addOption(opt("--optimizer <name>", `optimizer: ${OPTIMIZERS.join("|")}`, "adam"))
    .option("--lr <rate>", lrHelp)
    .addOption(opt("--batch <size>", "rows per training step", "64"))
    .addOption(opt("--seed <n>", "seed of the data split, the initial weights and the shuffling", "0"));
}

export function addTrainOptions(cmd: Command): Command {
  addModelOptions(cmd);
  return cmd
    .option(
      "--schedule <spec>",
      "learning-rate schedule per epoch: const | time:TAU (a_k = a_{k-1}/(1+TAU*k)) | exp:TAU (a_k = lr*e^(-TAU*k)) (default: const; exp:0.35 for cnn-bn)",
    )
    .option(
      "--epochs <n>",
      `passes over the training data (default: ${Object.entries(DEFAULT_EPOCHS)
        .map(([d, e]) => `${e} for ${d}`)
        .join(", ")}; 6 for cnn-bn)`,
    )
    .option(
      "--early-stopping <patience>",
      "stop after PATIENCE epochs without a lower validation loss, keeping the best epoch's weights (default: off)",
    )
    .addOption(
      opt("--val-fraction <f>", "fraction of the training split held out for validation, in [0, 0.9]", "0.1"),
    )
    .addOption(
      opt(
        "--threads <n>",
        "threads of the training step: its large products and loops run split over worker threads (same results, bit for bit)",
        String(DEFAULT_THREADS),
      ),
    )
    .option("--out <dir>", "run folder for the artifacts (default: runs/<dataset>-seed<seed>-<date>-<time>)")
    .addOption(
      opt("--onnx", "also write model.onnx (for ONNX Runtime and other engines) into the run folder", false),
    )
    .addOption(
      opt(
        "--profile",
        "time every group of the training step and print the slowest ones after training (kernel.profile())",
        false,
      ),
    )
    .option(
      "--init-from <model.onnx>",
      "fine-tune this ONNX model (its input and output must fit the dataset; model.onnx is then always written) instead of a new MLP",
    );
}

export function addDumpOptions(cmd: Command): Command {
  addModelOptions(cmd);
  return cmd.option("--out <dir>", "folder for the dumps (default: runs/dump-<dataset>-seed<seed>)");
}

export function addEvalOptions(cmd: Command): Command {
  return cmd.requiredOption("--checkpoint <path>", "a model.ckpt written by `adjoint train`");
}

export function addExportOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--checkpoint <path>", "a model.ckpt written by `adjoint train`")
    .requiredOption("--out <path>", "the ONNX file to write (e.g. model.onnx)")
    .addOption(opt("--opset <n>", "ONNX opset version, 13 to 18", "17"))
    .option("--batch <n>", "a fixed batch size (default: a symbolic batch axis)");
}

export function addBenchOptions(cmd: Command): Command {
  return cmd
    .addOption(
      opt("--quick", "a few steps per case, only to check that everything runs (writes nothing)", false),
    )
    .option("--only <ids>", "workload ids to run, comma-separated (e.g. W1,W3; default: all)")
    .option("--systems <names>", "systems to run, comma-separated (default: all)")
    .option("--out <dir>", "where latest.md and latest.json go (default: benchmarks/results)");
}

// ------------------------------------------------------------------------------------------- parsing

type Raw = Record<string, unknown>;

/** Parses `argv` (the words after the command name) with a standalone copy of the command's definition. */
function parseWith(name: string, add: (c: Command) => Command, argv: readonly string[]): Raw {
  const cmd = add(new Command(name));
  cmd.exitOverride();
  cmd.allowExcessArguments(false);
  cmd.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  try {
    cmd.parse([...argv], { from: "user" });
  } catch (error) {
    throw commanderToUsage(error);
  }
  return cmd.opts();
}

/** Commander's own errors (unknown option, missing value) as one-line UsageErrors. */
export function commanderToUsage(error: unknown): Error {
  if (error instanceof CommanderError) return new UsageError(oneLine(error.message));
  return error as Error;
}

export function parseTrainOptions(argv: readonly string[], now: Date = new Date()): TrainOptions {
  return resolveTrainOptions(parseWith("train", addTrainOptions, argv), now);
}

export function parseDumpOptions(argv: readonly string[]): DumpOptions {
  return resolveDumpOptions(parseWith("dump", addDumpOptions, argv));
}

export function parseEvalOptions(argv: readonly string[]): EvalOptions {
  return resolveEvalOptions(parseWith("eval", addEvalOptions, argv));
}

export function parseExportOptions(argv: readonly string[]): ExportOptions {
  return resolveExportOptions(parseWith("export", addExportOptions, argv));
}

export function parseBenchOptions(argv: readonly string[]): BenchCliOptions {
  return resolveBenchOptions(parseWith("bench", addBenchOptions, argv));
}

function resolveModelOptions(raw: Raw): ModelOptions {
  const optimizer = choice("--optimizer", raw.optimizer, OPTIMIZERS);
  const dataset = choice("--dataset", raw.dataset, DATASETS);
  const model = raw.model === undefined ? DEFAULT_MODEL[dataset] : choice("--model", raw.model, MODELS);
  if (model !== "mlp" && dataset !== "mnist") {
    throw new UsageError(
      `--model ${model}: a convolutional network needs images (--dataset mnist), got --dataset ${dataset}`,
    );
  }
  const recipeLr = MODEL_RECIPES[model]?.lr[optimizer];
  return {
    dataset,
    model,
    layers: raw.layers === undefined ? [...DEFAULT_LAYERS[model]] : parseLayers(raw.layers),
    activation: choice("--activation", raw.activation, ACTIVATIONS),
    optimizer,
    lr: raw.lr !== undefined ? positiveNumber("--lr", raw.lr) : (recipeLr ?? DEFAULT_LR[optimizer]),
    batch: wholeNumber("--batch", raw.batch, 1, 1 << 20),
    seed: wholeNumber("--seed", raw.seed, 0, 0xffffffff),
  };
}

export function resolveTrainOptions(raw: Raw, now: Date = new Date()): TrainOptions {
  const model = resolveModelOptions(raw);
  const recipe = MODEL_RECIPES[model.model];
  const epochs =
    raw.epochs === undefined
      ? (recipe?.epochs ?? DEFAULT_EPOCHS[model.dataset])
      : wholeNumber("--epochs", raw.epochs, 1, 1_000_000);
  const earlyStopping =
    raw.earlyStopping === undefined ? null : wholeNumber("--early-stopping", raw.earlyStopping, 1, 1_000_000);
  const valFraction = fraction("--val-fraction", raw.valFraction ?? "0.1", 0.9);
  if (earlyStopping !== null && valFraction === 0) {
    throw new UsageError("--early-stopping watches the validation loss: it needs --val-fraction > 0");
  }
  const out =
    raw.out === undefined
      ? `runs/${model.dataset}-seed${model.seed}-${timestamp(now)}`
      : nonEmptyPath("--out", raw.out);
  return {
    ...model,
    schedule: parseSchedule(raw.schedule ?? recipe?.schedule ?? "const"),
    epochs,
    earlyStopping,
    valFraction,
    threads: wholeNumber("--threads", raw.threads ?? String(DEFAULT_THREADS), 1, 256),
    out,
    onnx: raw.onnx === true,
    profile: raw.profile === true,
    initFrom: raw.initFrom === undefined ? null : nonEmptyPath("--init-from", raw.initFrom),
  };
}

export function resolveDumpOptions(raw: Raw): DumpOptions {
  const model = resolveModelOptions(raw);
  const out =
    raw.out === undefined ? `runs/dump-${model.dataset}-seed${model.seed}` : nonEmptyPath("--out", raw.out);
  return { ...model, out };
}

export function resolveEvalOptions(raw: Raw): EvalOptions {
  return { checkpoint: nonEmptyPath("--checkpoint", raw.checkpoint) };
}

export function resolveExportOptions(raw: Raw): ExportOptions {
  return {
    checkpoint: nonEmptyPath("--checkpoint", raw.checkpoint),
    out: nonEmptyPath("--out", raw.out),
    opset: wholeNumber("--opset", raw.opset ?? "17", 13, 18),
    batch: raw.batch === undefined ? null : wholeNumber("--batch", raw.batch, 1, 1 << 20),
  };
}

export function resolveBenchOptions(raw: Raw): BenchCliOptions {
  const list = (name: string, v: unknown): string[] | undefined => {
    if (v === undefined) return undefined;
    const items = String(v)
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) throw new UsageError(`${name}: expected a comma-separated list, got ${show(v)}`);
    return items;
  };
  return {
    quick: raw.quick === true,
    only: list("--only", raw.only),
    systems: list("--systems", raw.systems),
    out: raw.out === undefined ? undefined : nonEmptyPath("--out", raw.out),
  };
}

// ------------------------------------------------------------------------------------------- values

function show(v: unknown): string {
  return JSON.stringify(String(v));
}

function choice<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  const s = String(v);
  if (!(allowed as readonly string[]).includes(s)) {
    throw new UsageError(`${name}: unknown value ${show(v)} (expected one of: ${allowed.join(", ")})`);
  }
  return s as T;
}

/** A decimal number as the whole string (Number("") is 0 and parseFloat("1x") is 1: neither is wanted). */
function numberOf(v: unknown): number {
  const s = String(v).trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number.NaN;
  return Number(s);
}

export function positiveNumber(name: string, v: unknown): number {
  const x = numberOf(v);
  if (!Number.isFinite(x) || x <= 0) throw new UsageError(`${name}: expected a number > 0, got ${show(v)}`);
  return x;
}

export function wholeNumber(name: string, v: unknown, min: number, max: number): number {
  const s = String(v).trim();
  const x = /^\+?\d+$/.test(s) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(x) || x < min || x > max) {
    throw new UsageError(`${name}: expected a whole number from ${min} to ${max}, got ${show(v)}`);
  }
  return x;
}

function fraction(name: string, v: unknown, max: number): number {
  const x = numberOf(v);
  if (!(x >= 0 && x <= max))
    throw new UsageError(`${name}: expected a number from 0 to ${max}, got ${show(v)}`);
  return x;
}

function nonEmptyPath(name: string, v: unknown): string {
  const s = String(v);
  if (s.trim() === "") throw new UsageError(`${name}: expected a path, got an empty string`);
  if (s.includes("\0")) throw new UsageError(`${name}: the path contains a NUL character`);
  return s;
}

/** "256,128" -> [256, 128]: hidden layer sizes, each a whole number from 1 to 65536. */
export function parseLayers(v: unknown): number[] {
  const s = String(v ?? "").trim();
  const parts = s.split(",").map((p) => p.trim());
  const sizes = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : Number.NaN));
  const bad = parts.findIndex(
    (_, i) => !(Number.isSafeInteger(sizes[i]) && sizes[i] >= 1 && sizes[i] <= 65536),
  );
  if (s === "" || bad >= 0) {
    const what = s === "" ? "an empty list" : `${show(parts[bad])} in ${show(v)}`;
    throw new UsageError(
      `--layers: expected hidden layer sizes as whole numbers from 1 to 65536, comma-separated (e.g. 256,128), got ${what}`,
    );
  }
  return sizes;
}

/** "const", "time:0.5", "exp:0.1". */
export function parseSchedule(v: unknown): ScheduleSpec {
  const s = String(v).trim();
  if (s === "const" || s === "constant") return { kind: "const" };
  const m = /^(time|exp):(.*)$/.exec(s);
  if (m) {
    const tau = numberOf(m[2]);
    if (Number.isFinite(tau) && tau >= 0) return { kind: m[1] as "time" | "exp", tau };
    throw new UsageError(`--schedule: TAU must be a number >= 0, got ${show(m[2])} in ${show(v)}`);
  }
  throw new UsageError(
    `--schedule: unknown value ${show(v)} (expected const, time:TAU or exp:TAU, e.g. exp:0.1)`,
  );
}

export function describeSchedule(s: ScheduleSpec): string {
  return s.kind === "const" ? "const" : `${s.kind}:${s.tau}`;
}

/** Local time as 20250131-142501. */
export function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Used by main to build the real commands with the same definitions. */
export const definitions = {
  train: addTrainOptions,
  dump: addDumpOptions,
  eval: addEvalOptions,
  export: addExportOptions,
  bench: addBenchOptions,
};
