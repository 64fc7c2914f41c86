/**
 * What the controls choose, checked in one place (the page and the worker both call checkConfig). The
 * optimizers are the CLI's list: every optimizer of the library, with the hyper-parameters its name implies
 * (model.ts turns a choice into the library's objects; this file imports nothing, so the page stays small).
 */
export const MODELS = {
  mlp: "MLP",
  cnn: "LeNet-5",
  "cnn-bn": "LeNet-5 + BN",
} as const;
export type ModelKind = keyof typeof MODELS;
/** The hidden widths each model starts with (for the CNNs, the fully connected layers after the convolutions). */
export const DEFAULT_LAYERS: Record<ModelKind, number[]> = {
  mlp: [128],
  cnn: [120, 84],
  "cnn-bn": [120, 84],
};

export const ACTIVATIONS = ["relu", "tanh", "sigmoid"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const OPTIMIZERS = {
  sgd: { label: "SGD", lr: 0.1 },
  momentum: { label: "SGD + momentum 0.9", lr: 0.01 },
  nesterov: { label: "SGD + Nesterov 0.9", lr: 0.01 },
  adagrad: { label: "Adagrad", lr: 0.01 },
  rmsprop: { label: "RMSprop", lr: 0.001 },
  "rmsprop-nesterov": { label: "RMSprop + Nesterov 0.9", lr: 0.001 },
  adam: { label: "Adam", lr: 0.001 },
  adamw: { label: "AdamW (decay 0.01)", lr: 0.001 },
} as const;
export type OptimizerName = keyof typeof OPTIMIZERS;

export const SCHEDULES = ["const", "time", "exp"] as const;
export type ScheduleKind = (typeof SCHEDULES)[number];

export interface TrainConfig {
  model: ModelKind;
  /** Hidden layer widths, e.g. [128] (for the CNNs: of the fully connected layers after the convolutions). */
  layers: number[];
  activation: Activation;
  optimizer: OptimizerName;
  lr: number;
  schedule: ScheduleKind;
  /** Decay constant of the time / exp schedules, per epoch. */
  tau: number;
  batch: number;
  epochs: number;
  seed: number;
  /**
   * Threads of the training step (trainStep's `threads`): the page's worker and threads − 1 nested
   * workers on one shared memory. Results are bit-identical to 1; more than 1 needs cross-origin isolation.
   */
  threads: number;
}

/** The most threads the page offers (more than the cores only costs: the workers would share them). */
export const MAX_THREADS = 8;

/** The CLI's defaults: the 784→128→10 ReLU MLP, Adam, lr 1e-3, batch 64, 10 epochs, seed 0. */
export const DEFAULT_CONFIG: TrainConfig = {
  model: "mlp",
  layers: [128],
  activation: "relu",
  optimizer: "adam",
  lr: 1e-3,
  schedule: "const",
  tau: 0.1,
  batch: 64,
  epochs: 10,
  seed: 0,
  threads: 1,
};

/** Throws an Error whose message is one sentence a person can act on. */
export function checkConfig(c: TrainConfig): TrainConfig {
  if (!(c.model in MODELS)) throw new Error(`Unknown model "${c.model}".`);
  if (
    !Array.isArray(c.layers) ||
    c.layers.length > 4 ||
    !c.layers.every((w) => Number.isInteger(w) && w >= 1 && w <= 1024)
  ) {
    throw new Error(
      "The hidden layers must be up to four whole numbers between 1 and 1024, such as 128 or 256,64.",
    );
  }
  if (!ACTIVATIONS.includes(c.activation)) throw new Error(`Unknown activation "${c.activation}".`);
  if (!(c.optimizer in OPTIMIZERS)) throw new Error(`Unknown optimizer "${c.optimizer}".`);
  if (typeof c.lr !== "number" || !Number.isFinite(c.lr) || c.lr <= 0 || c.lr > 10) {
    throw new Error(`The learning rate must be a number above 0 and at most 10, got ${String(c.lr)}.`);
  }
  if (!SCHEDULES.includes(c.schedule)) throw new Error(`Unknown schedule "${c.schedule}".`);
  if (c.schedule !== "const" && !(Number.isFinite(c.tau) && c.tau > 0 && c.tau <= 10)) {
    throw new Error(`The schedule's decay must be a number above 0 and at most 10, got ${String(c.tau)}.`);
  }
  if (!Number.isInteger(c.batch) || c.batch < 1 || c.batch > 1024) {
    throw new Error(`The batch size must be a whole number from 1 to 1024, got ${String(c.batch)}.`);
  }
  if (!Number.isInteger(c.epochs) || c.epochs < 1 || c.epochs > 100) {
    throw new Error(`The number of epochs must be a whole number from 1 to 100, got ${String(c.epochs)}.`);
  }
  if (!Number.isInteger(c.threads) || c.threads < 1 || c.threads > MAX_THREADS) {
    throw new Error(
      `The number of threads must be a whole number from 1 to ${MAX_THREADS}, got ${String(c.threads)}.`,
    );
  }
  return c;
}

/**
 * Threads the page can use here, and why not more: threads share the step's memory (a SharedArrayBuffer),
 * which browsers give only to cross-origin isolated pages (served with COOP/COEP headers).
 */
export function availableThreads(scope: {
  crossOriginIsolated?: boolean;
  SharedArrayBuffer?: unknown;
  navigator?: { hardwareConcurrency?: number };
}): { cores: number; isolated: boolean; reason: string } {
  const isolated = scope.crossOriginIsolated === true && typeof scope.SharedArrayBuffer === "function";
  const cores = Math.max(1, Math.min(MAX_THREADS, Math.floor(scope.navigator?.hardwareConcurrency ?? 1)));
  const reason = isolated
    ? ""
    : "One thread: this page is not cross-origin isolated, and threads share memory through SharedArrayBuffer, which needs it (serve the page with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp).";
  return { cores, isolated, reason };
}

/** Parses "256, 64" into [256, 64] (an empty text is a linear model); NaN entries fail checkConfig. */
export function parseLayers(text: string): number[] {
  const t = text.trim();
  return t === "" ? [] : t.split(",").map((s) => (/^\s*\d+\s*$/.test(s) ? Number(s) : Number.NaN));
}

export function describeModel(c: TrainConfig): string {
  if (c.model === "mlp") return `MLP ${[784, ...c.layers, 10].join("→")} (${c.activation})`;
  const bn = c.model === "cnn-bn" ? " with batch norm" : "";
  return `LeNet-5${bn}: conv 1→6 5×5, pool, conv 6→16 5×5, pool, ${[400, ...c.layers, 10].join("→")} (${c.activation})`;
}
