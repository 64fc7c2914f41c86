/**
 * The CLI's ONNX: `train --onnx` and `export` write files that ONNX Runtime runs on raw features with the
 * run's test accuracy; `train --init-from` fine-tunes a PyTorch-exported model, and refuses one whose
 * shapes do not fit the dataset, in one line.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSplits } from "../../packages/cli/src/data";
import { evaluate, Graph } from "adjoint";
import { CHECKPOINT_KIND } from "../../packages/cli/src/meta";
import { type ModelSpec, makeModel } from "../../packages/cli/src/model";
import { saveCheckpoint } from "../../packages/nn/src/formats/fs";
import { data, relativeError, runOrt } from "../onnx/ort";
import { adjoint, REPO } from "./run-cli";

const FIXTURES = join(REPO, "tests/fixtures/onnx");
const tmp = mkdtempSync(join(tmpdir(), "adjoint-cli-onnx-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The run's test accuracy as printed (4 decimals). */
const testAccuracy = (stdout: string) => Number(/test accuracy: ([\d.]+)\s*$/.exec(stdout)![1]);
const sameAccuracy = (a: number, printed: number) => expect(Math.abs(a - printed)).toBeLessThan(5.1e-5);

/** ORT's accuracy on iris's raw test split (seed 0), and its logits. */
async function ortAccuracy(file: string) {
  const { test } = loadSplits("iris", 0);
  const got = await runOrt(new Uint8Array(readFileSync(file)), { x: { data: test.x, dims: [test.n, 4] } });
  let correct = 0;
  for (let r = 0; r < test.n; r++) {
    const row = Array.from(got.probabilities.data.subarray(r * 3, r * 3 + 3));
    if (row.indexOf(Math.max(...row)) === test.y[r]) correct++;
  }
  return { accuracy: correct / test.n, logits: got.logits.data };
}

describe("adjoint and ONNX", () => {
  const run = join(tmp, "iris");

  it("train --onnx writes model.onnx; ORT on raw features gives the run's test accuracy; export writes the same model", async () => {
    const r = await adjoint(["train", "--dataset", "iris", "--epochs", "20", "--onnx", "--out", run]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(run, "model.onnx"))).toBe(true);
    const trained = await ortAccuracy(join(run, "model.onnx"));
    sameAccuracy(trained.accuracy, testAccuracy(r.stdout));
    expect(trained.accuracy).toBeGreaterThan(0.6);

    const out = join(tmp, "exported.onnx");
    const e = await adjoint([
      "export",
      "--checkpoint",
      join(run, "model.ckpt"),
      "--out",
      out,
      "--opset",
      "13",
    ]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/wrote .*exported\.onnx \(\d+ bytes, ONNX opset 13\): input "x" \[batch,4\]/);
    const exported = await ortAccuracy(out);
    expect(relativeError(exported.logits, trained.logits)).toBeLessThan(1e-6);

    const fixed = join(tmp, "fixed.onnx");
    expect(
      (await adjoint(["export", "--checkpoint", join(run, "model.ckpt"), "--out", fixed, "--batch", "5"]))
        .code,
    ).toBe(0);
    const five = await runOrt(new Uint8Array(readFileSync(fixed)), {
      x: { data: new Float32Array(20), dims: [5, 4] },
    });
    expect(five.logits.dims).toEqual([5, 3]);
  });

  it("export of a LeNet-5 with batch norm checkpoint (running statistics included): ORT equals Adjoint", async () => {
    const spec: ModelSpec = {
      kind: "cnn-bn",
      inputs: 784,
      layers: [120, 84],
      classes: 10,
      activation: "relu",
    };
    const model = makeModel(spec);
    const g = new Graph({ seed: 4 });
    model.build(g.input("x", [2, 1, 28, 28])); // creates the params (seeded) and buffers
    for (const [name, t] of model.namedBuffers()) {
      if (name.endsWith("running_mean")) t.value.set(data(t.size, 1).map((v) => v * 0.2));
      if (name.endsWith("running_var")) t.value.set(data(t.size, 2).map((v) => 0.5 + Math.abs(v)));
    }
    const ckpt = join(tmp, "lenet.ckpt");
    saveCheckpoint(ckpt, {
      tensors: model.namedState().map(([name, t]) => ({ name, shape: [...t.shape], value: t.value })),
      meta: {
        kind: CHECKPOINT_KIND,
        version: 1,
        model: spec,
        dataset: { name: "mnist", seed: 0, valFraction: 0.1 },
        seed: 0,
        scaler: null,
      },
    });
    const file = join(tmp, "lenet.onnx");
    const e = await adjoint(["export", "--checkpoint", ckpt, "--out", file]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/input "x" \[batch,1,28,28\]/);
    model.eval();
    const x = g.input("x3", [3, 1, 28, 28]);
    const y = model.build(x);
    const feed = data(x.size, 8).map((v) => Math.abs(v) / 2);
    const got = await runOrt(new Uint8Array(readFileSync(file)), { x: { data: feed, dims: [3, 1, 28, 28] } });
    expect(relativeError(got.logits.data, evaluate(y, { x3: feed }))).toBeLessThan(1e-5);
  });

  it("train --init-from fine-tunes a PyTorch-exported model and writes it back as model.onnx", async () => {
    const out = join(tmp, "tuned");
    const r = await adjoint([
      "train",
      "--dataset",
      "iris",
      "--epochs",
      "60",
      "--lr",
      "0.01",
      "--init-from",
      join(FIXTURES, "iris_mlp.onnx"),
      "--out",
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/model: ONNX model .*iris_mlp\.onnx \(4→3, fine-tuned\)/);
    const tuned = await ortAccuracy(join(out, "model.onnx"));
    sameAccuracy(tuned.accuracy, testAccuracy(r.stdout));
    expect(tuned.accuracy).toBeGreaterThan(0.6);
    const ev = await adjoint(["eval", "--checkpoint", join(out, "model.ckpt")]);
    expect(ev.code).toBe(1);
    expect(ev.stderr).toMatch(/holds an ONNX model fine-tuned from .*iris_mlp\.onnx: use the model\.onnx/);
  });

  it("train --init-from refuses, in one line, a model whose shapes do not fit the dataset", async () => {
    const spiral = await adjoint([
      "train",
      "--dataset",
      "spiral",
      "--init-from",
      join(FIXTURES, "iris_mlp.onnx"),
      "--out",
      join(tmp, "x"),
    ]);
    expect(spiral.code).toBe(1);
    expect(spiral.stderr.trim().split("\n")).toHaveLength(1);
    expect(spiral.stderr).toMatch(
      /--init-from .*iris_mlp\.onnx: the model maps \[batch,4\] to \[batch,3\], but spiral needs \[batch,2\] features to \[batch,3\] class scores/,
    );
    const fixedBatch = await adjoint([
      "train",
      "--dataset",
      "iris",
      "--init-from",
      join(FIXTURES, "mlp_relu.onnx"),
      "--out",
      join(tmp, "y"),
    ]);
    expect(fixedBatch.stderr).toMatch(/maps \[batch,6\] to \[batch,4\], but iris needs \[batch,4\]/);
    const garbage = await adjoint([
      "train",
      "--dataset",
      "iris",
      "--init-from",
      join(FIXTURES, "iris_mlp.json"),
      "--out",
      join(tmp, "z"),
    ]);
    expect(garbage.stderr).toMatch(/--init-from .*iris_mlp\.json: importOnnx: /);
    for (const d of ["x", "y", "z"]) expect(readdirSync(join(tmp, d))).toEqual([]); // nothing written
  });
});
