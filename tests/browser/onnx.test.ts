/**
 * ONNX import and export inside Chromium: a PyTorch-exported CNN (Pad, Conv, BatchNormalization, MaxPool,
 * AveragePool, LayerNormalization) imports in the page to PyTorch's outputs, exports and imports back to
 * the same values, and a truncated file is refused with an importOnnx error.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtures } from "../onnx/fixtures";
import { relativeError } from "../onnx/ort";
import { buildPages } from "./build-pages";
import {
  chromiumPath,
  type LaunchedBrowser,
  launchChromium,
  type StaticServer,
  serveStatic,
  warnNoChromium,
} from "./harness";

const haveChromium = chromiumPath() !== null;
if (!haveChromium) warnNoChromium();

describe.skipIf(!haveChromium)("ONNX in Chromium", () => {
  let dir: string;
  let server: StaticServer;
  let chromium: LaunchedBrowser;

  beforeAll(async () => {
    dir = await buildPages(["onnx"]);
    server = await serveStatic(dir);
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("imports PyTorch's CNN to its outputs, round-trips through exportOnnx, refuses a truncated file", async () => {
    const f = fixtures().find((x) => x.name === "cnn")!;
    const page = await chromium.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${server.url}onnx.html`);
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
