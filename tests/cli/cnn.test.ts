/**
 * The convolutional models of the CLI: `adjoint dump --model cnn` (the compiled step of LeNet-5, with its
 * composite ops marked), a short `adjoint train --model cnn-bn` whose checkpoint (BatchNorm's running
 * statistics included) `adjoint eval` reads back to the same test accuracy, and the option errors.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readCheckpoint } from "../../packages/nn/src/formats/fs";
import { adjoint } from "./run-cli";

const tmp = mkdtempSync(join(tmpdir(), "adjoint-cnn-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("adjoint dump --model cnn", () => {
  it("draws LeNet-5's training step: conv2d and max pools marked, window ops, fused groups", async () => {
    const dir = join(tmp, "dump");
    const r = await adjoint(["dump", "--model", "cnn", "--out", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/LeNet-5: conv 1→6 5x5 pad 2/);
    const text = readFileSync(join(dir, "graph.txt"), "utf8");
    const nodes = text.split("\n").filter((l) => l.startsWith("%"));
    expect(nodes.filter((l) => l.includes("(conv2d)")).length).toBe(2);
    expect(nodes.filter((l) => l.includes("(maxPool2d)")).length).toBe(2);
    expect(text).toMatch(/slidingWindows\[/);
    expect(text).toMatch(/foldWindows\[/);
    expect(text).toMatch(/fused \d+/);
    expect(text).toMatch(/param "0\.weight".*\[6,1,5,5\]/);
    expect(readFileSync(join(dir, "kernel.js"), "utf8").length).toBeGreaterThan(1000);
  }, 120_000);
});

describe("adjoint train --model cnn-bn, then adjoint eval", () => {
  it("trains, saves the running statistics, and eval reproduces the test accuracy", async () => {
    const dir = join(tmp, "train");
    const r = await adjoint(["train", "--model", "cnn-bn", "--epochs", "1", "--batch", "256", "--out", dir]);
    expect(r.code, r.stderr).toBe(0);
    const accuracy = Number(/test accuracy: (\d\.\d+)/.exec(r.stdout)?.[1]);
    // One epoch of 29 steps: far above chance (0.1), well short of the full recipe.
    expect(accuracy).toBeGreaterThan(0.6);
    const ckpt = readCheckpoint(join(dir, "model.ckpt"));
    const names = ckpt.tensors.map((t) => t.name);
    expect(names).toContain("1.running_mean");
    expect(names).toContain("1.num_batches_tracked");
    const tracked = ckpt.tensors.find((t) => t.name === "1.num_batches_tracked")!.value[0];
    expect(tracked).toBe(29); // ceil(7200 / 256) steps, each updating the statistics once
    const runningVar = ckpt.tensors.find((t) => t.name === "1.running_var")!.value;
    expect([...runningVar].some((v) => v !== 1)).toBe(true);
    const e = await adjoint(["eval", "--checkpoint", join(dir, "model.ckpt")]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toContain(`test accuracy: ${accuracy.toFixed(4)}`);
  }, 300_000);

  it("refuses a CNN on a dataset that has no images", async () => {
    const r = await adjoint(["train", "--model", "cnn", "--dataset", "iris", "--out", join(tmp, "x")]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /--model cnn: a convolutional network needs images \(--dataset mnist\), got --dataset iris/,
    );
  });
});
