/** Renders a BenchReport as the Markdown of benchmarks/results/latest.md. */
import type { BenchReport, InferCase, TrainCase } from "./types";
import { ORIENTATIONS } from "./matmul";

function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

function num(v: number | undefined, digits = 2): string {
  return v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits);
}

function gf(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  return v >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function cellOf(c: TrainCase | InferCase | undefined): string {
  if (!c) return "";
  if (c.status === "skipped") return "skipped";
  if (c.status === "failed") return "failed";
  return ms(c.time?.median);
}

function kb(bytes: number | undefined): string {
  return bytes === undefined ? "–" : (bytes / 1024).toFixed(0);
}

/** Why a peer has no 2-thread row (found out, not assumed: see benchmarks/README.md). */
const NO_SECOND_THREAD: Record<string, string> = {
  "tfjs-wasm":
    "its threaded build does not run threaded in Node (tfjs turns WASM_HAS_MULTITHREAD_SUPPORT off under Node; forced on, getThreadsCount() stays 1)",
  "jax-js": "one thread in Node (its wasm device has no worker pool there)",
};

/** Issue #14's table: each system at 1 and 2 threads, and the speed-up of 2 over 1. */
function threadsTable(r: BenchReport): string[] {
  const find = (sys: string, w: string) => r.train.find((c) => c.system === sys && c.workload === w);
  const t = (c: TrainCase | undefined) => (c?.status === "ok" ? c.time : undefined);
  const cell = (c: TrainCase | undefined) =>
    !c ? "" : c.status !== "ok" ? c.status : `${ms(c.time?.median)} [${ms(c.time?.min)}–${ms(c.time?.max)}]`;
  const rows: string[][] = [];
  for (const w of r.workloads) {
    for (const sys of ["adjoint", "pytorch", "tfjs-wasm", "jax-js"]) {
      const one = find(sys, w.id);
      const two = find(`${sys}-2t`, w.id);
      if (!one && !two) continue;
      const a = t(one);
      const b = t(two);
      rows.push([
        w.id,
        sys,
        cell(one),
        two ? cell(two) : `– (${NO_SECOND_THREAD[sys] ?? "not run"})`,
        a && b ? `${(a.median / b.median).toFixed(2)}×` : "–",
      ]);
    }
    const ratio = (n: "" | "-2t") => {
      const a = t(find(`adjoint${n}`, w.id));
      const p = t(find(`pytorch${n}`, w.id));
      return a && p ? (a.median / p.median).toFixed(2) : "–";
    };
    if (find("adjoint", w.id) && find("pytorch", w.id))
      rows.push([w.id, "adjoint / pytorch", `${ratio("")}×`, `${ratio("-2t")}×`, ""]);
  }
  if (!rows.length) return [];
  const spread =
    r.rounds > 1
      ? `median over ${r.rounds} rounds (systems in alternating order), [min–max] of the round medians`
      : "median [min–max] over samples (one round: use --rounds N to interleave)";
  return [
    "## Threads: 1 and 2, speed-up of 2 over 1",
    "",
    `ms/step, ${spread}. The last row of a workload is Adjoint's time over PyTorch's at the same thread count.`,
    "",
    table(["workload", "system", "1 thread", "2 threads", "speed-up"], rows),
    "",
  ];
}

export function renderMarkdown(r: BenchReport): string {
  const out: string[] = [];
  const wids = r.workloads.map((w) => w.id);
  const systems = [...new Set(r.train.map((c) => c.system))];
  const find = (sys: string, w: string) => r.train.find((c) => c.system === sys && c.workload === w);

  out.push("# Adjoint benchmarks");
  out.push("");
  out.push(
    `${r.date} · ${r.mode} run · ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB · ` +
      `node ${r.machine.node} · ${r.machine.os} ${r.machine.arch} · ` +
      `load average ${r.machine.loadAverage.map((x) => x.toFixed(1)).join(" → ")} (start → end)`,
  );
  out.push("");
  out.push(
    "Every system runs single-threaded (those named -2t on two threads) on the same seeded data and Glorot-uniform weights. The machine's cores are " +
      "shared and noisy: compare ratios within this run, not absolute times across runs. Times are medians over " +
      "samples (tiny steps are batched several to a sample), ranges are min–max.",
  );
  out.push("");
  for (const w of r.workloads) out.push(`- **${w.id} ${w.name}**: ${w.description}`);
  out.push("");

  out.push("## Training step, median ms/step");
  out.push("");
  out.push(
    table(
      ["system", ...r.workloads.map((w) => `${w.id} ${w.name}`)],
      systems.map((s) => [s, ...wids.map((w) => cellOf(find(s, w)))]),
    ),
  );
  out.push("");
  const notes = new Map<string, string[]>();
  for (const c of r.train) {
    if (c.status === "ok") continue;
    const key = `${c.system}: ${c.status} — ${c.reason}`;
    notes.set(key, [...(notes.get(key) ?? []), c.workload]);
  }
  for (const [k, ws] of notes) out.push(`- ${k} (${ws.join(", ")})`);
  if (notes.size) out.push("");

  out.push(...threadsTable(r));

  out.push("## Training step, details");
  out.push("");
  out.push(
    `Ratio = median time / the baseline's median time (>1 is slower): the baseline is adjoint when it runs, ` +
      `else handwritten-js. GFLOP/s counts 2·m·n·k per matmul, forward once and backward twice.`,
  );
  out.push("");
  const detail: string[][] = [];
  for (const w of wids) {
    for (const s of systems) {
      const c = find(s, w);
      if (c?.status !== "ok") continue;
      detail.push([
        w,
        s,
        ms(c.time?.median),
        `${ms(c.time?.min)}–${ms(c.time?.max)}`,
        c.ratio === undefined
          ? "–"
          : `${c.ratio.toFixed(2)}× ${r.baseline[w] === s ? "(baseline)" : ""}`.trim(),
        gf(c.gflops),
        c.time ? `${c.time.samples}×${c.time.stepsPerSample || "auto"}` : "–",
        ms(c.setupMs),
        ms(c.firstStepMs),
      ]);
    }
  }
  out.push(
    table(
      [
        "workload",
        "system",
        "median ms",
        "range ms",
        "ratio",
        "GFLOP/s",
        "samples×steps",
        "setup ms",
        "1st step ms",
      ],
      detail,
    ),
  );
  out.push("");

  out.push("## Memory per 1,000 steps");
  out.push("");
  out.push(
    "JS heap growth (heapUsed after a forced GC, before vs after the steps), `external` growth (ArrayBuffers, " +
      "wasm memory), GC events and GC pause time seen by a PerformanceObserver('gc'), scaled to 1,000 steps. " +
      "Out-of-process systems (PyTorch) have no figures here.",
  );
  out.push("");
  const mem: string[][] = [];
  for (const w of wids) {
    for (const s of systems) {
      const m = find(s, w)?.memory;
      if (!m) continue;
      mem.push([
        w,
        s,
        kb(m.heapGrowthPer1kSteps),
        kb(m.externalGrowthPer1kSteps),
        num(m.gcEventsPer1kSteps, 0),
        num(m.gcMsPer1kSteps, 1),
        String(m.steps),
      ]);
    }
  }
  out.push(
    table(["workload", "system", "heap KB", "external KB", "GC events", "GC ms", "steps measured"], mem),
  );
  out.push("");

  out.push("## Correctness");
  out.push("");
  for (const c of r.correctness) {
    out.push(
      `${c.workload} loss of step ${c.steps}: the same start, one step on the fixed batch, then the stream's distinct ` +
        `batches of MNIST digits; each must equal the median of all systems to 3 significant digits ` +
        (c.sensitivity
          ? `or lie within ${c.sensitivity.spread.toExponential(1)} of it, this loss's resolution: one-float32-ulp changes of the first batch's pixels move Adjoint's own loss by that much (${c.sensitivity.perturbed.map((p) => p.loss).join(", ")} against ${c.sensitivity.base}) `
          : "") +
        `(a disagreeing peer is a note, below, not a problem of the run); rel diff = (loss − median) / median. ` +
        `${c.allAgree ? "All agree." : "**Some disagree.**"}`,
    );
    out.push("");
    out.push(
      table(
        ["system", "loss", "rel diff", "agrees"],
        [
          ...c.rows.map((x) => [
            x.system,
            String(x.loss),
            x.relDiff === undefined ? "–" : x.relDiff.toExponential(1),
            x.agrees ? "yes" : "**NO**",
          ]),
          ...(c.notRun ?? []).map((x) => [x.system, x.reason, "", ""]),
        ],
      ),
    );
    out.push("");
  }
  out.push("First-step loss of every workload (same check):");
  out.push("");
  out.push(
    table(
      ["system", ...wids],
      systems
        .filter((s) => wids.some((w) => r.firstLoss[w]?.some((x) => x.system === s)))
        .map((s) => [
          s,
          ...wids.map((w) => {
            const x = r.firstLoss[w]?.find((y) => y.system === s);
            return x ? `${x.loss.toPrecision(6)}${x.agrees ? "" : " **≠**"}` : "";
          }),
        ]),
    ),
  );
  out.push("");

  if (r.inference.length) {
    const iw = [...new Set(r.inference.map((c) => c.workload))];
    const isys = [...new Set(r.inference.map((c) => c.system))];
    out.push("## Forward only (inference), median ms");
    out.push("");
    out.push(
      "Logits of the workload's batch from the initial weights; `max rel diff` = max |logit − reference| / " +
        "max |reference logit|, the reference being handwritten-js (MLPs) or Adjoint's float64 interpreter (W5).",
    );
    out.push("");
    const rows: string[][] = [];
    for (const w of iw) {
      for (const s of isys) {
        const c = r.inference.find((x) => x.system === s && x.workload === w);
        if (!c) continue;
        if (c.status !== "ok") {
          rows.push([w, s, `${c.status}: ${c.reason ?? ""}`, "", "", "", ""]);
          continue;
        }
        rows.push([
          w,
          s,
          ms(c.time?.median),
          `${ms(c.time?.min)}–${ms(c.time?.max)}`,
          c.ratio === undefined ? "–" : `${c.ratio.toFixed(2)}×`,
          gf(c.gflops),
          c.maxRelDiff === undefined ? "–" : c.maxRelDiff.toExponential(1),
        ]);
      }
    }
    out.push(
      table(["workload", "system", "median ms", "range ms", "ratio", "GFLOP/s", "max rel diff"], rows),
    );
    out.push("");
  }

  out.push(`## Matmul ${r.matmul.n}³, GFLOP/s (median)`);
  out.push("");
  out.push("A·B; Aᵀ·B with A stored transposed; A·Bᵀ with B stored transposed. One thread each.");
  out.push("");
  out.push(
    table(
      ["system", "A·B", "Aᵀ·B", "A·Bᵀ", "note"],
      [
        ...r.matmul.rows.map((m) => [
          m.system,
          ...ORIENTATIONS.map((o) => num(m.gflops[o], 1)),
          m.note ?? "",
        ]),
        ...r.matmul.skipped.map((m) => [m.system, "skipped", "", "", m.reason]),
      ],
    ),
  );
  out.push("");

  out.push("## Systems");
  out.push("");
  for (const [name, d] of Object.entries(r.systems)) out.push(`- **${name}**: ${d || "—"}`);
  out.push("");

  if (r.notes?.length) {
    out.push("## Notes on the peers");
    out.push("");
    for (const n of r.notes) out.push(`- ${n}`);
    out.push("");
  }
  if (r.problems.length) {
    out.push("## Problems");
    out.push("");
    for (const p of r.problems) out.push(`- ${p}`);
    out.push("");
  }
  return `${out.join("\n")}\n`;
}
