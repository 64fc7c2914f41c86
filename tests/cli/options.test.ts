import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../packages/cli/src/errors";
import {
  DEFAULT_LR,
  DEFAULT_THREADS,
  OPTIMIZERS,
  parseBenchOptions,
  parseDumpOptions,
  parseEvalOptions,
  parseExportOptions,
  parseLayers,
  parseSchedule,
  parseTrainOptions,
  timestamp,
} from "../../packages/cli/src/options";

const NOW = new Date(2025, 0, 31, 14, 25, 1);

/** The UsageError a parse throws (failing the test if it does not throw one). */
function usageError(f: () => unknown): UsageError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).not.toContain("\n");
    return error as UsageError;
  }
  throw new Error("expected a UsageError");
}

describe("parseTrainOptions", () => {
  it("has the documented defaults: LeNet-5 with batch norm on MNIST, Adam lr 3e-3 decayed exp:0.35, batch 64, 6 epochs", () => {
    expect(parseTrainOptions([], NOW)).toEqual({
      dataset: "mnist",
      model: "cnn-bn",
      layers: [120, 84],
      activation: "relu",
      optimizer: "adam",
      lr: 0.003,
      batch: 64,
      seed: 0,
      schedule: { kind: "exp", tau: 0.35 },
      epochs: 6,
      earlyStopping: null,
      valFraction: 0.1,
      threads: DEFAULT_THREADS,
      out: "runs/mnist-seed0-20250131-142501",
      onnx: false,
      profile: false,
      initFrom: null,
    });
  });

  it("trains on the machine's cores by default, up to 8", () => {
    expect(DEFAULT_THREADS).toBe(Math.min(8, availableParallelism()));
    expect(parseTrainOptions(["--threads", "1"], NOW).threads).toBe(1);
  });

  it("reads every option", () => {
    const o = parseTrainOptions(
      [
        "--dataset",
        "spiral",
        "--layers",
        "256, 128",
        "--activation",
        "tanh",
        "--optimizer",
        "nesterov",
        "--lr",
        "0.05",
        "--schedule",
        "exp:0.1",
        "--batch",
        "32",
        "--epochs",
        "7",
        "--early-stopping",
        "3",
        "--seed",
        "42",
        "--val-fraction",
        "0.25",
        "--threads",
        "2",
        "--out",
        "runs/x",
        "--onnx",
        "--profile",
        "--init-from",
        "torch.onnx",
      ],
      NOW,
    );
    expect(o).toEqual({
      dataset: "spiral",
      model: "mlp",
      layers: [256, 128],
      activation: "tanh",
      optimizer: "nesterov",
      lr: 0.05,
      schedule: { kind: "exp", tau: 0.1 },
      batch: 32,
      epochs: 7,
      earlyStopping: 3,
      seed: 42,
      valFraction: 0.25,
      threads: 2,
      out: "runs/x",
      onnx: true,
      profile: true,
      initFrom: "torch.onnx",
    });
  });

  it("accepts --opt=value and names the default folder by dataset and seed", () => {
    const o = parseTrainOptions(["--dataset=iris", "--seed=7", "--lr=1e-2"], NOW);
    expect(o.dataset).toBe("iris");
    expect(o.lr).toBe(0.01);
    expect(o.out).toBe("runs/iris-seed7-20250131-142501");
    expect(o.epochs).toBe(100);
  });

  it("--model: LeNet-5 as the issue gives it, and cnn-bn with its own recipe for the options not given", () => {
    const cnn = parseTrainOptions(
      ["--model", "cnn", "--optimizer", "adam", "--lr", "0.001", "--batch", "64", "--epochs", "10"],
      NOW,
    );
    expect(cnn).toMatchObject({
      model: "cnn",
      layers: [120, 84],
      lr: 0.001,
      schedule: { kind: "const" },
      epochs: 10,
    });
    expect(parseTrainOptions(["--model", "cnn"], NOW)).toMatchObject({
      lr: 0.001,
      schedule: { kind: "const" },
      epochs: 10,
    });
    expect(parseTrainOptions(["--model", "cnn-bn"], NOW)).toMatchObject({
      model: "cnn-bn",
      layers: [120, 84],
      optimizer: "adam",
      lr: 0.003,
      schedule: { kind: "exp", tau: 0.35 },
      epochs: 6,
    });
    // Options given win over the recipe; another optimizer keeps its own default lr.
    expect(
      parseTrainOptions(["--model", "cnn-bn", "--lr", "0.01", "--schedule", "const", "--epochs", "2"], NOW),
    ).toMatchObject({
      lr: 0.01,
      schedule: { kind: "const" },
      epochs: 2,
    });
    expect(parseTrainOptions(["--model", "cnn-bn", "--optimizer", "sgd"], NOW).lr).toBe(DEFAULT_LR.sgd);
    expect(parseTrainOptions(["--model", "cnn", "--layers", "64"], NOW).layers).toEqual([64]);
    expect(usageError(() => parseTrainOptions(["--model", "resnet"], NOW)).message).toMatch(
      /--model: unknown value "resnet" \(expected one of: mlp, cnn, cnn-bn\)/,
    );
    expect(
      usageError(() => parseTrainOptions(["--model", "cnn-bn", "--dataset", "spiral"], NOW)).message,
    ).toMatch(/--model cnn-bn: a convolutional network needs images/);
  });

  it("gives each optimizer its own default learning rate", () => {
    for (const name of OPTIMIZERS) {
      expect(parseTrainOptions(["--model", "mlp", "--optimizer", name], NOW).lr).toBe(DEFAULT_LR[name]);
    }
    expect(DEFAULT_LR.momentum).toBe(0.1);
  });

  it.each([
    [
      ["--activation", "swish"],
      /--activation: unknown value "swish" \(expected one of: relu, tanh, sigmoid\)/,
    ],
    [["--optimizer", "lbfgs"], /--optimizer: unknown value "lbfgs"/],
    [["--dataset", "cifar"], /--dataset: unknown value "cifar"/],
    [["--lr", "-1"], /--lr: expected a number > 0, got "-1"/],
    [["--lr", "0"], /--lr: expected a number > 0/],
    [["--lr", "abc"], /--lr: expected a number > 0, got "abc"/],
    [["--lr", "1e400"], /--lr: expected a number > 0/],
    [["--lr", "0.1x"], /--lr: expected a number > 0/],
    [["--layers", "12,x"], /--layers: .* got "x" in "12,x"/],
    [["--layers", ""], /--layers: .* got an empty list/],
    [["--layers", "12,,4"], /--layers: .* got "" in "12,,4"/],
    [["--layers", "0"], /--layers/],
    [["--layers", "1.5"], /--layers/],
    [["--batch", "0"], /--batch: expected a whole number from 1/],
    [["--batch", "2.5"], /--batch: expected a whole number/],
    [["--epochs", "-3"], /--epochs: expected a whole number from 1/],
    [["--epochs", "ten"], /--epochs/],
    [["--early-stopping", "0"], /--early-stopping: expected a whole number from 1/],
    [["--seed", "-1"], /--seed: expected a whole number from 0 to 4294967295/],
    [["--seed", "4294967296"], /--seed/],
    [["--val-fraction", "1"], /--val-fraction: expected a number from 0 to 0.9/],
    [["--schedule", "cosine"], /--schedule: unknown value "cosine" \(expected const, time:TAU or exp:TAU/],
    [["--schedule", "exp:-1"], /--schedule: TAU must be a number >= 0/],
    [["--schedule", "time:"], /--schedule: TAU must be a number >= 0/],
    [["--out", ""], /--out: expected a path/],
    [["--early-stopping", "3", "--val-fraction", "0"], /--early-stopping .* needs --val-fraction > 0/],
  ])("refuses %j with a one-line message", (argv, message) => {
    expect(usageError(() => parseTrainOptions(argv as string[], NOW)).message).toMatch(message);
  });

  it("turns commander's errors (unknown option, missing value, extra words) into UsageErrors", () => {
    expect(usageError(() => parseTrainOptions(["--frobnicate"])).message).toMatch(
      /unknown option '--frobnicate'/,
    );
    expect(usageError(() => parseTrainOptions(["--lr"])).message).toMatch(/--lr <rate>' argument missing/);
    expect(usageError(() => parseTrainOptions(["mnist"])).message).toMatch(/too many arguments/);
  });
});

describe("parseLayers and parseSchedule", () => {
  it("parses hidden sizes", () => {
    expect(parseLayers("256,128")).toEqual([256, 128]);
    expect(parseLayers(" 64 ")).toEqual([64]);
    expect(() => parseLayers("65537")).toThrow(UsageError);
  });
  it("parses schedules", () => {
    expect(parseSchedule("const")).toEqual({ kind: "const" });
    expect(parseSchedule("time:0.5")).toEqual({ kind: "time", tau: 0.5 });
    expect(parseSchedule("exp:1e-2")).toEqual({ kind: "exp", tau: 0.01 });
  });
  it("formats timestamps for run folders", () => {
    expect(timestamp(NOW)).toBe("20250131-142501");
  });
});

describe("the other commands' options", () => {
  it("dump: model options and a folder named after dataset and seed", () => {
    expect(parseDumpOptions(["--dataset", "iris", "--layers", "8", "--optimizer", "sgd"])).toEqual({
      dataset: "iris",
      model: "mlp",
      layers: [8],
      activation: "relu",
      optimizer: "sgd",
      lr: 0.1,
      batch: 64,
      seed: 0,
      out: "runs/dump-iris-seed0",
    });
    expect(usageError(() => parseDumpOptions(["--activation", "gelu"])).message).toMatch(/--activation/);
    expect(usageError(() => parseDumpOptions(["--epochs", "3"])).message).toMatch(
      /unknown option '--epochs'/,
    );
  });

  it("eval: --checkpoint is required", () => {
    expect(parseEvalOptions(["--checkpoint", "runs/a/model.ckpt"])).toEqual({
      checkpoint: "runs/a/model.ckpt",
    });
    expect(usageError(() => parseEvalOptions([])).message).toMatch(/required option '--checkpoint <path>'/);
  });

  it("bench: --quick and lists pass through", () => {
    expect(parseBenchOptions([])).toEqual({
      quick: false,
      only: undefined,
      systems: undefined,
      out: undefined,
    });
    expect(parseBenchOptions(["--quick", "--only", "W1,W3"])).toMatchObject({
      quick: true,
      only: ["W1", "W3"],
    });
    expect(usageError(() => parseBenchOptions(["--only", ","])).message).toMatch(/--only/);
  });
});

describe("parseExportOptions", () => {
  it("needs --checkpoint and --out; opset 13–18 (default 17); a symbolic batch unless --batch", () => {
    expect(parseExportOptions(["--checkpoint", "a.ckpt", "--out", "m.onnx"])).toEqual({
      checkpoint: "a.ckpt",
      out: "m.onnx",
      opset: 17,
      batch: null,
    });
    expect(
      parseExportOptions(["--checkpoint", "a", "--out", "b", "--opset", "13", "--batch", "8"]),
    ).toMatchObject({
      opset: 13,
      batch: 8,
    });
    expect(() => parseExportOptions(["--checkpoint", "a", "--out", "b", "--opset", "12"])).toThrow(
      /--opset: expected a whole number from 13 to 18, got "12"/,
    );
    expect(() => parseExportOptions(["--out", "b"])).toThrow(/--checkpoint/);
  });
});
