/**
 * Compiled kernels against the float64 reference interpreter inside Chromium: the browser's wasm engine is
 * V8 as in Node, but feature detection (SIMD, relaxed SIMD) and the shared memory paths are the page's.
 * Each case must pass, and the wasm-on cases must really have run generated WebAssembly.
 */
import { describe, expect, it } from "vitest";
import { chromiumPath, warnNoChromium } from "./harness";
import { openPage, pagesInChromium } from "./page-suite";

const haveChromium = chromiumPath() !== null;
if (!haveChromium) warnNoChromium();

describe.skipIf(!haveChromium)("differential tests in Chromium", () => {
  const suite = pagesInChromium(["differential"]);

  it("matmul, MLP gradients and MLP training steps match the interpreter, with wasm on and off", async () => {
    const { page, errors } = await openPage(suite, "differential.html", "adjointDifferential");
    const result = await page.evaluate(() => window.adjointDifferential());
    console.log(
      `chromium: ${result.engine}; ${result.cases.map((c) => `${c.name}: ${c.compared} values, worst ${c.worst.toFixed(3)} of the tolerance`).join("; ")}`,
    );
    expect(errors).toEqual([]);
    expect(result.engine).toMatch(/^wasm SIMD/);
    expect(result.cases).toHaveLength(4);
    for (const c of result.cases) {
      expect(c.failures, `${c.name}: ${c.message}`).toBe(0);
      expect(c.compared).toBeGreaterThan(100);
    }
    const wasmOn = result.cases.filter((c) => !c.name.endsWith("wasm off"));
    expect(wasmOn.map((c) => [c.name, c.wasmUsed])).toEqual(wasmOn.map((c) => [c.name, true]));
    expect(result.cases.find((c) => c.name.endsWith("wasm off"))!.wasmUsed).toBe(false);
  });
});
