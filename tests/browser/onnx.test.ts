/**
 * ONNX import and export inside Chromium: a PyTorch-exported CNN (Pad, Conv, BatchNormalization, MaxPool,
 * AveragePool, LayerNormalization) imports in the page to PyTorch's outputs, exports and imports back to
 * the same values, and a truncated file is refused with an importOnnx error.
 */
import { describe, expect, it } from "vitest";
import { fixtures } from "../onnx/fixtures";
import { relativeError } from "../onnx/ort";
import { chromiumPath, warnNoChromium } from "./harness";
import { pagesInChromium } from "./page-suite";

const haveChromium = chromiumPath() !== null;
if (!haveChromium) warnNoChromium();

describe.skipIf(!haveChromium)("ONNX in Chromium", () => {
  const suite = pagesInChromium(["onnx"]);

  it("imports PyTorch's CNN to its outputs, round-trips through exportOnnx, refuses a truncated file", async () => {
    const f = fixtures().find((x) => x.name === "cnn")!;
    const page = await suite.chromium.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${suite.server.url}onnx.html`);
    await page.waitForFunction(() => typeof window.adjointOnnx === "function");
    const r = await page.evaluate(([bytes, input, batch]) => window.adjointOnnx(bytes, input, batch), [
      Array.from(f.bytes),
      f.input.data,
      f.input.shape[0],
    ] as [number[], number[], number]);
    expect(errors).toEqual([]);
    expect(relativeError(r.output, f.output.data)).toBeLessThan(1e-5);
    expect(relativeError(r.roundTrip, r.output)).toBeLessThan(1e-7);
    expect(r.exportedBytes).toBeGreaterThan(1000);
    expect(r.rejected).toMatch(/^importOnnx: /);
  });
});
