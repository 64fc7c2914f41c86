/**
 * Benchmark W5: the LeNet-5 training step (conv 1→6 5×5 pad 2, ReLU, max pool 2, conv 6→16 5×5, ReLU,
 * max pool 2, flatten, 400→120→84→10; batch 64; Adam lr 1e-3), and its forward pass, on Adjoint and its
 * peers, from the same seeded weights and batch.
 *
 *   npx tsx benchmarks/src/w5/main.ts [--rounds 7] [--only adjoint,pytorch] [--out results/w5.json]
 *
 * 1. Agreement: every system trains from the same start; the losses after 10 and after 200 steps are
 *    printed side by side (they must agree to float32 accuracy). tfjs-cpu and jax-js take seconds per step
 *    here, so they run the 200 steps only with --full (else 10).
 * 2. Speed: the systems take turns (round-robin, `rounds` rounds of ~0.3 s each), so that a busy machine
 *    slows them alike; each row is the median over rounds of ms per step, and ratios are taken within the
 *    same run. Every system runs single-threaded.
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { adjointRunner } from "./adjoint";
import { forwardFlops, type W5Runner, w5Data } from "./data";
import { jaxRunner } from "./jax-js";
import { pytorchRunner } from "./pytorch";
import { tfjsRunner } from "./tfjs";

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(opt("rounds") ?? 7);
const only = opt("only")?.split(",");
const full = args.includes("--full");
const SLOW = new Set(["tfjs-cpu", "jax-js"]);

const FACTORIES: [string, () => Promise<W5Runner> | W5Runner][] = [
  ["adjoint", () => adjointRunner(data)],
  ["pytorch", () => pytorchRunner(data)],
  ["tfjs-cpu", () => tfjsRunner("cpu", data)],
  ["tfjs-wasm", () => tfjsRunner("wasm", data)],
  ["jax-js", () => jaxRunner(data)],
];

const data = w5Data();
/** Runners that train, and runners that only run the forward pass (a backend without conv gradients). */
const runners: W5Runner[] = [];
const forwardOnly: W5Runner[] = [];
const skipped: Record<string, string> = {};
const losses: Record<string, Record<number, number>> = {};
/** ms per step (forward) seen while warming up: sizes the first timed round. */
const firstGuess = new Map<string, number>();
const message = (e: unknown) => (e instanceof Error ? e.message.split("\n")[0] : String(e));
for (const [name, make] of FACTORIES) {
  if (only && !only.includes(name)) continue;
  let r: W5Runner;
  try {
    r = await make();
    await r.prepare?.();
  } catch (e) {
    skipped[name] = message(e);
    console.error(`${name}: skipped (${skipped[name]})`);
    continue;
  }
  try {
    // Agreement (and warm-up): from the shared start, the losses after 10 and 200 steps.
    losses[name] = {};
    let done = 0;
    const t0 = performance.now();
    for (const target of SLOW.has(name) && !full ? [10] : [10, 200]) {
      if (r.time) await r.time("step", target - done);
      else for (let i = done; i < target; i++) await r.step();
      done = target;
      losses[name][target] = await r.loss();
    }
    firstGuess.set(`step ${name}`, (performance.now() - t0) / done);
    runners.push(r);
    console.error(`${name}: losses ${JSON.stringify(losses[name])}`);
  } catch (e) {
    skipped[name] = `training: ${message(e)}`;
    console.error(`${name}: ${skipped[name]}`);
    delete losses[name];
    forwardOnly.push(r);
  }
  const t1 = performance.now();
  for (let i = 0; i < 3; i++) await r.forward();
  firstGuess.set(`forward ${name}`, (performance.now() - t1) / 3);
}

async function timeRound(r: W5Runner, what: "step" | "forward", budgetMs: number, perStep: number) {
  const n = Math.max(1, Math.round(budgetMs / Math.max(perStep, 0.05)));
  await r.prepare?.();
  if (r.time) return { ms: await r.time(what, n), n };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await (what === "step" ? r.step() : r.forward());
  return { ms: (performance.now() - t0) / n, n };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const table: Record<string, Record<string, { median: number; min: number; max: number }>> = {};
const timed = (what: "step" | "forward") => (what === "step" ? runners : [...runners, ...forwardOnly]);
for (const what of ["step", "forward"] as const) {
  const list = timed(what);
  const samples = new Map<string, number[]>(list.map((r) => [r.name, []]));
  const guess = new Map<string, number>(list.map((r) => [r.name, firstGuess.get(`${what} ${r.name}`) ?? 20]));
  for (let round = 0; round < rounds + 1; round++) {
    for (const r of round % 2 === 0 ? list : [...list].reverse()) {
      const { ms } = await timeRound(r, what, 300, guess.get(r.name)!);
      guess.set(r.name, ms);
      if (round > 0) samples.get(r.name)!.push(ms); // round 0 sizes the rounds
    }
  }
  table[what] = Object.fromEntries(
    [...samples].map(([k, s]) => [k, { median: median(s), min: Math.min(...s), max: Math.max(...s) }]),
  );
}

const flops = forwardFlops();
const fmt = (v: number | undefined) => (v === undefined ? "(--full)" : v.toPrecision(6));
const rows = (what: "step" | "forward") => {
  const t = table[what];
  const base = t.adjoint?.median;
  const torch = t.pytorch?.median;
  const lines = [
    `| system | ms/${what === "step" ? "step" : "forward"} (median, min–max over ${rounds} rounds) | vs Adjoint | vs PyTorch |${what === "step" ? " loss after 10 steps | after 200 |" : ""}`,
    `|---|---|---|---|${what === "step" ? "---|---|" : ""}`,
  ];
  for (const r of timed(what)) {
    const s = t[r.name];
    const vsA = base ? (s.median / base).toFixed(2) : "";
    const vsT = torch ? (s.median / torch).toFixed(2) : "";
    lines.push(
      `| ${r.name} | ${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)}) | ${vsA}× | ${vsT}× |${what === "step" ? ` ${fmt(losses[r.name][10])} | ${fmt(losses[r.name][200])} |` : ""}`,
    );
  }
  for (const [name, why] of Object.entries(skipped)) {
    if (what === "forward" && forwardOnly.some((r) => r.name === name)) continue;
    lines.push(`| ${name} | skipped: ${why} | | |${what === "step" ? " | |" : ""}`);
  }
  return lines.join("\n");
};
const report = [
  `W5 LeNet-5, batch 64, Adam lr 1e-3 — ${cpus()[0]?.model ?? "?"}, ${cpus().length} cores (shared), node ${process.version}`,
  `forward ${(flops / 1e6).toFixed(1)} MFLOP per batch; training step ≈ 3× that`,
  "",
  "Training step:",
  rows("step"),
  "",
  "Forward only:",
  rows("forward"),
  "",
  ...[...runners, ...forwardOnly].map((r) => `- ${r.name}: ${r.describe}`),
].join("\n");
console.log(report);
const out = opt("out");
if (out)
  writeFileSync(
    out,
    JSON.stringify({ date: new Date().toISOString(), table, losses, skipped, report }, null, 2),
  );
for (const r of [...runners, ...forwardOnly]) await r.dispose();
process.exit(0);
