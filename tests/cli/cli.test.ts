/**
 * The `adjoint` command as a user runs it: a child process (node --import tsx main.ts ...), its exit code,
 * stdout and stderr. Training runs are short (iris, 3 epochs); full MNIST training is tested in tests/nn.
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCheckpoint, saveCheckpoint } from "../../packages/nn/src/formats/fs";
import { adjoint, type CliResult as Result } from "./run-cli";

const tmp = mkdtempSync(join(tmpdir(), "adjoint-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A failure as the CLI must report it: non-zero exit, one line on stderr naming the problem, no stack. */
function expectOneLineError(r: Result, pattern: RegExp, code?: number): void {
  expect(r.code, `stderr: ${r.stderr}`).not.toBe(0);
  if (code !== undefined) expect(r.code).toBe(code);
  const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^adjoint( \w+)?: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout).not.toMatch(/^\s+at /m);
}

const lastLine = (s: string) => s.trimEnd().split("\n").at(-1)!;

function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) {
    out[f] = createHash("sha256")
      .update(readFileSync(join(dir, f)))
      .digest("hex");
  }
  return out;
}

const ARTIFACTS = [
  "accuracy.svg",
  "graph.dot",
  "graph.modules.svg",
  "graph.svg",
  "graph.txt",
  "kernel.js",
  "kernel.wasm.txt",
  "loss.svg",
  "metrics.csv",
  "metrics.json",
  "model.ckpt",
  "program.txt",
  "summary.md",
];

describe("adjoint train --dataset iris --epochs 3", () => {
  const dir = join(tmp, "iris-run");
  let run: Result;
  beforeAll(async () => {
    run = await adjoint(["train", "--dataset", "iris", "--epochs", "3", "--seed", "1", "--out", dir]);
  }, 60_000);

  it("exits 0 with one line per epoch (stdout is not a terminal) and the test accuracy as its last line", () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout).not.toContain("\x1b["); // no progress bar, no colors
    const epochs = run.stdout.split("\n").filter((l) => l.startsWith("epoch "));
    expect(epochs).toHaveLength(3);
    expect(epochs[0]).toMatch(
      /^epoch 1\/3 {2}loss \d\.\d{4} {2}acc \d\.\d{4} {2}val_loss \d\.\d{4} {2}val_acc \d\.\d{4}/,
    );
    expect(lastLine(run.stdout)).toMatch(/^test accuracy: [01]\.\d{4}$/);
  });

  it("writes every artifact into the run folder, and nothing else", () => {
    expect(readdirSync(dir).sort()).toEqual(ARTIFACTS);
  });

  it("writes per-epoch metrics as CSV and JSON", () => {
    const csv = readFileSync(join(dir, "metrics.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds,steps_per_second");
    expect(csv).toHaveLength(4);
    expect(csv[1].split(",")).toHaveLength(8);
    const json = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8"));
    expect(json.epochs).toHaveLength(3);
    expect(json.epochs[2].epoch).toBe(3);
    expect(json.config).toMatchObject({ dataset: "iris", layers: [128], optimizer: "adam", seed: 1 });
    expect(json.test.accuracy).toBeGreaterThanOrEqual(0);
    expect(lastLine(run.stdout)).toBe(`test accuracy: ${json.test.accuracy.toFixed(4)}`);
    expect(json.arenaBytes).toBeGreaterThan(0);
  });

  it("draws loss and accuracy curves, train and validation", () => {
    for (const f of ["loss.svg", "accuracy.svg"]) {
      const svg = readFileSync(join(dir, f), "utf8");
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg).toContain(">train</text>");
      expect(svg).toContain(">validation</text>");
      expect(svg.match(/<polyline/g)).toHaveLength(2);
    }
  });

  it("dumps the training graph with its gradient graph and fused groups, the program and the kernel", () => {
    const text = readFileSync(join(dir, "graph.txt"), "utf8");
    expect(text).toMatch(/^%\d+ = matmul %\d+, %\d+ : f32\[64,128\] +# 0 fused \d+ \(matmul\)$/m);
    expect(text).toMatch(/# .*grad/);
    expect(text).toMatch(/^return loss=%\d+, y=%\d+, update\(0\.weight\)=/m);
    const dot = readFileSync(join(dir, "graph.dot"), "utf8");
    expect(dot.startsWith("digraph")).toBe(true);
    expect(dot).toContain("fillcolor=orange");
    expect(dot).toMatch(/label="fused \d+ \(matmul\)"/);
    expect(readFileSync(join(dir, "graph.svg"), "utf8")).toContain("<svg");
    expect(readFileSync(join(dir, "program.txt"), "utf8")).toMatch(/# group \d+ matmul/);
    expect(readFileSync(join(dir, "kernel.js"), "utf8")).toContain("function step()");
  });

  it("saves a checkpoint whose meta records the model and the data", () => {
    const ckpt = readCheckpoint(join(dir, "model.ckpt"));
    expect(ckpt.tensors.map((t) => t.name)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    expect(ckpt.meta).toMatchObject({
      model: { inputs: 4, layers: [128], classes: 3, activation: "relu" },
      dataset: { name: "iris", seed: 1 },
      seed: 1,
    });
  });

  it("summarizes the run", () => {
    const md = readFileSync(join(dir, "summary.md"), "utf8");
    for (const word of ["iris", "MLP 4→128→3", "adam", "test accuracy", "steps/s", "arena"])
      expect(md).toContain(word);
  });

  it("eval --checkpoint reproduces the test accuracy", async () => {
    const r = await adjoint(["eval", "--checkpoint", join(dir, "model.ckpt")]);
    expect(r.code, r.stderr).toBe(0);
    expect(lastLine(r.stdout)).toBe(lastLine(run.stdout));
  });

  it("a failing run leaves the earlier run's files exactly as they were", async () => {
    const before = fingerprint(dir);
    const [diverged, badValue] = await Promise.all([
      adjoint(["train", "--dataset", "iris", "--epochs", "3", "--lr", "1e30", "--out", dir]),
      adjoint(["train", "--dataset", "iris", "--lr", "-1", "--out", dir]),
    ]);
    expectOneLineError(diverged, /training diverged: the loss is (NaN|Infinity)/, 1);
    expectOneLineError(badValue, /--lr: expected a number > 0, got "-1"/, 2);
    expect(fingerprint(dir)).toEqual(before);
  });

  it("refuses corrupt, truncated and foreign checkpoints", async () => {
    const good = readFileSync(join(dir, "model.ckpt"));
    const flipped = Buffer.from(good);
    flipped[flipped.length - 5] ^= 0xff;
    writeFileSync(join(tmp, "flipped.ckpt"), flipped);
    writeFileSync(join(tmp, "truncated.ckpt"), good.subarray(0, good.length - 100));
    writeFileSync(join(tmp, "garbage.ckpt"), "this is not a checkpoint at all");
    saveCheckpoint(join(tmp, "foreign.ckpt"), {
      tensors: [{ name: "w", shape: [2], value: new Float32Array(2) }],
      meta: { note: "not from adjoint train" },
    });
    copyFileSync(join(dir, "model.ckpt"), join(tmp, "copy.ckpt"));
    const [missing, corrupt, truncated, garbage, foreign] = await Promise.all(
      ["missing.ckpt", "flipped.ckpt", "truncated.ckpt", "garbage.ckpt", "foreign.ckpt"].map((f) =>
        adjoint(["eval", "--checkpoint", join(tmp, f)]),
      ),
    );
    expectOneLineError(missing, /missing\.ckpt does not exist/, 1);
    expectOneLineError(corrupt, /is corrupt \(CRC32/, 1);
    expectOneLineError(truncated, /is truncated/, 1);
    expectOneLineError(garbage, /is not an Adjoint checkpoint/, 1);
    expectOneLineError(foreign, /was not written by adjoint train/, 1);
  });
});

describe("adjoint train --profile", () => {
  it("prints the training step's slowest groups, timed, with their kernel.js comment lines", async () => {
    const dir = join(tmp, "iris-profile");
    const r = await adjoint(["train", "--dataset", "iris", "--epochs", "1", "--profile", "--out", dir]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    const at = lines.findIndex((l) => l.startsWith("slowest groups of the training step"));
    expect(at).toBeGreaterThan(0);
    const rows = lines.slice(at + 1).filter((l) => /^ +\d+\.\d{3} {2}group \d+: /.test(l));
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const ms = rows.map((l) => Number(l.trim().split(" ")[0]));
    expect([...ms].sort((a, b) => b - a)).toEqual(ms);
  }, 60_000);
});

describe("bad input", () => {
  it("reports each bad option or value in one line, exit code 2, no stack trace", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["train", "--activation", "swish"],
        /--activation: unknown value "swish" \(expected one of: relu, tanh, sigmoid\)/,
      ],
      [["train", "--lr", "-1"], /--lr: expected a number > 0, got "-1"/],
      [["train", "--layers", "12,x"], /--layers: .*got "x" in "12,x"/],
      [["train", "--optimizer", "lbfgs"], /--optimizer: unknown value "lbfgs"/],
      [["train", "--frobnicate"], /unknown option '--frobnicate'/],
      [["frobnicate"], /unknown command 'frobnicate'/],
      [["eval"], /required option '--checkpoint <path>' not specified/],
    ];
    const results = await Promise.all(cases.map(([args]) => adjoint(args)));
    for (const [i, r] of results.entries()) expectOneLineError(r, cases[i][1], 2);
  });

  it("refuses an output folder that cannot be written, before training", async () => {
    const file = join(tmp, "a-regular-file");
    writeFileSync(file, "keep me");
    const [under, onto] = await Promise.all([
      adjoint(["train", "--dataset", "iris", "--epochs", "1", "--out", join(file, "run")]),
      adjoint(["dump", "--dataset", "iris", "--out", file]),
    ]);
    expectOneLineError(under, /cannot create the run folder .*a-regular-file is a file, not a folder/, 1);
    expectOneLineError(
      onto,
      /cannot use .*a-regular-file as the run folder: it exists and is not a folder/,
      1,
    );
    expect(under.stdout).not.toMatch(/^epoch /m);
    expect(readFileSync(file, "utf8")).toBe("keep me");
  });
});

describe("adjoint dump, bench and --help", () => {
  it("dump writes the five dumps of a training step without training", async () => {
    const dir = join(tmp, "dump");
    const r = await adjoint([
      "dump",
      "--dataset",
      "spiral",
      "--layers",
      "16,8",
      "--activation",
      "tanh",
      "--optimizer",
      "momentum",
      "--batch",
      "8",
      "--out",
      dir,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([
      "graph.dot",
      "graph.modules.svg",
      "graph.svg",
      "graph.txt",
      "kernel.js",
      "kernel.wasm.txt",
      "program.txt",
    ]);
    const text = readFileSync(join(dir, "graph.txt"), "utf8");
    expect(text).toContain('param "4.weight" : f32[3,8]');
    expect(text).toContain("momentum_buffer");
    expect(text).toMatch(/^%\d+ = tanh %\d+ : f32\[8,16\]/m);
    expect(r.stdout).toMatch(/loop nests, arena [\d,]+ bytes/);
  });

  it("bench loads the harness on demand and passes --quick and the filters through", async () => {
    const r = await adjoint(["bench", "--quick", "--only", "W1", "--systems", "adjoint"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/W1/);
  });

  it("--help lists every option with its default", async () => {
    const r = await adjoint(["train", "--help"]);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, " ");
    for (const flag of [
      "--layers <sizes>",
      "--activation <name>",
      "--optimizer <name>",
      "--lr <rate>",
      "--schedule <spec>",
      "--batch <size>",
      "--epochs <n>",
      "--early-stopping <patience>",
      "--seed <n>",
      "--dataset <name>",
      "--model <name>",
      "--out <dir>",
    ]) {
      expect(help).toContain(flag);
    }
    for (const d of [
      "default: 128 for mlp",
      "(default: relu)",
      "(default: adam)",
      "(default: 64)",
      "(default: const;",
    ]) {
      expect(help).toContain(d);
    }
    expect(help).toMatch(/adam\/adamw 0\.001/);
    expect(help).toContain("10 for mnist");
    const top = await adjoint(["--help"]);
    expect(top.code).toBe(0);
    for (const c of ["train", "dump", "eval", "bench"]) expect(top.stdout).toContain(c);
  });
});
