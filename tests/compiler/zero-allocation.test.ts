/**
 * A compiled step allocates nothing, shown two ways that can each fail independently:
 *  (a) statically: the generated source passes checkNoAllocation (no `new`, no literals of arrays,
 *      objects or strings, no closures, no calls but Math.*), and the checker does flag each of those;
 *  (b) dynamically: 100,000 training steps of a compiled MLP (forward, backward, SGD) cause no GC event.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { checkNoAllocation, compile } from "adjoint";
import { describe, expect, it } from "vitest";
import { mlp, sgd } from "./models";

describe("static check of the generated step", () => {
  it("an MLP forward+backward+SGD step passes checkNoAllocation", () => {
    const m = mlp([16, 32, 4], 8);
    const k = compile(m.outputs, { updates: sgd(m, 0.05) });
    expect(k.source).toContain("function step()");
    const r = checkNoAllocation(k.source);
    expect(r.violations).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it("so do the fusion-off, checkFinite and no-reuse variants", () => {
    const m = mlp([6, 5, 3], 4);
    const updates = sgd(m, 0.05);
    for (const options of [{ passes: { fusion: false } }, { checkFinite: true }, { reuse: false }]) {
      const k = compile(m.outputs, { ...options, updates });
      expect(checkNoAllocation(k.source).violations, JSON.stringify(options)).toEqual([]);
    }
  });

  const wrap = (body: string) => `return function step() {\n  ${body}\n  return -1;\n};`;

  it("accepts a step of loads, stores, arithmetic, loops and Math calls (the control)", () => {
    const r = checkNoAllocation(
      wrap("for (let i = 0; i < 4; i++) { const t = F[i] * 2; F[8 + i] = Math.exp(t) > 1 ? t : -t; }"),
    );
    expect(r).toEqual({ ok: true, violations: [] });
  });

  const bad: [string, string, RegExp][] = [
    ["new", "const a = new Float32Array(4); F[0] = a[0];", /^new /],
    ["an array literal", "const a = [1, 2]; F[0] = a[0];", /^ArrayExpression /],
    ["an object literal", "const o = { v: 1 }; F[0] = o.v;", /^ObjectExpression /],
    ["a closure (arrow)", "const f = (v) => v * 2; F[0] = 1;", /^closure /],
    ["a closure (function expression)", "const f = function (v) { return v; }; F[0] = 1;", /^closure /],
    ["a string literal", 'const s = "x"; F[0] = 1;', /^string or regex literal /],
    ["a template literal", "const s = `x`; F[0] = 1;", /^TemplateLiteral /],
    ["a non-Math call", "F[0] = foo(1);", /^call of a non-Math function /],
    ["a method call on something other than Math", "F[0] = F.indexOf(1);", /^call of a non-Math function /],
    ["a spread", "F[0] = Math.max(...F);", /^SpreadElement /],
  ];
  for (const [what, body, pattern] of bad) {
    it(`flags ${what}`, () => {
      const r = checkNoAllocation(wrap(body));
      expect(r.ok).toBe(false);
      expect(r.violations.length, r.violations.join("; ")).toBeGreaterThanOrEqual(1);
      expect(r.violations.some((v) => pattern.test(v)), r.violations.join("; ")).toBe(true);
    });
  }

  it("flags a violation injected into a real kernel's source", () => {
    const m = mlp([4, 3, 2], 2);
    const k = compile(m.outputs);
    const injected = k.source.replace("return -1;", "const scratch = new Float64Array(1);\n  return -1;");
    expect(injected).not.toBe(k.source);
    expect(checkNoAllocation(injected).ok).toBe(false);
  });

  it("allows a call only of the externals it is given", () => {
    const src = wrap("matmul0(); F[0] = 1;");
    expect(checkNoAllocation(src).ok).toBe(false);
    expect(checkNoAllocation(src, new Set(["matmul0"])).ok).toBe(true);
  });

  it("refuses a source without a step function", () => {
    expect(checkNoAllocation("return function other() { return -1; };")).toEqual({
      ok: false,
      violations: ["no function named step"],
    });
  });
});

/** GC events (PerformanceObserver 'gc' entries) during `work`, after a pause that lets earlier ones settle. */
async function gcEventsDuring(work: () => void): Promise<{ events: { kind: unknown; duration: number }[]; ms: number }> {
  await sleep(100);
  const events: { kind: unknown; duration: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      events.push({ kind: (e as { detail?: { kind?: unknown } }).detail?.kind, duration: e.duration });
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const t0 = performance.now();
  work();
  const ms = performance.now() - t0;
  await sleep(100); // GC entries are delivered asynchronously
  observer.disconnect();
  return { events, ms };
}

describe("no garbage collection while training", () => {
  it("the observer does see GC events when a loop allocates (the control)", async () => {
    let keep: Float64Array | null = null;
    const { events } = await gcEventsDuring(() => {
      // 100,000 short-lived 512-byte arrays: ~50 MB through the young generation.
      for (let i = 0; i < 100_000; i++) {
        keep = new Float64Array(64);
        keep[0] = i;
      }
    });
    expect(keep).not.toBeNull();
    expect(events.length).toBeGreaterThan(0);
  });

  it("100,000 steps of a compiled 16→32→4 MLP (batch 8, forward, backward, SGD) cause zero GC events", async () => {
    const m = mlp([16, 32, 4], 8);
    const k = compile(m.outputs, { updates: sgd(m, 0.01) });
    k.inputs.x.set(m.feeds.x);
    k.inputs.labels.set(m.feeds.labels);
    const loss = k.outputs.loss;

    // Warm up (the step and run() get optimized); gcEventsDuring then lets the setup's garbage settle.
    for (let i = 0; i < 1000; i++) k.run();
    const first = loss[0];

    const { events, ms } = await gcEventsDuring(() => {
      for (let i = 0; i < 100_000; i++) k.run();
    });
    const wasmCalls = (k.source.match(/wasm\.\w+\(/g) ?? []).length;
    console.log(
      `100,000 steps in ${ms.toFixed(0)} ms (${((ms * 1000) / 100_000).toFixed(2)} µs/step, ${wasmCalls} wasm calls per step); GC events: ${events.length}`,
    );

    // The steps did run: the loss moved (and stayed finite).
    expect(Number.isFinite(loss[0])).toBe(true);
    expect(loss[0]).toBeLessThan(first);
    expect(events, JSON.stringify(events.slice(0, 5))).toEqual([]);
  });
});
