/**
 * The page: reads the controls, talks to the training worker, draws the curves, the graph, the kernel
 * source and the predictions. Everything heavy happens in the worker; this thread only paints.
 */
import {
  availableThreads,
  checkConfig,
  DEFAULT_CONFIG,
  DEFAULT_LAYERS,
  describeModel,
  MODELS,
  type ModelKind,
  OPTIMIZERS,
  type OptimizerName,
  parseLayers,
  type TrainConfig,
} from "./config";
import { DrawingPad, paintPreview } from "./draw";
import { drawChart, type Series } from "./plot";
import { type BuiltInfo, type FromWorker, sentence, type ToWorker } from "./protocol";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const select = (id: string) => $<HTMLSelectElement>(id);

// ------------------------------------------------------------------------------------------ errors

function showError(message: string | null): void {
  const slot = $("error-slot");
  slot.replaceChildren();
  if (!message) return;
  const div = document.createElement("div");
  div.className = "error";
  div.setAttribute("role", "alert");
  div.dataset.testid = "error";
  div.textContent = message;
  slot.append(div);
}

window.addEventListener("error", (e) => showError(`Something went wrong in the page: ${e.message}.`));
window.addEventListener("unhandledrejection", (e) =>
  showError(
    `Something went wrong in the page: ${e.reason instanceof Error ? e.reason.message : String(e.reason)}.`,
  ),
);

// ---------------------------------------------------------------------------------------- controls

const modelSelect = select("model");
for (const [name, label] of Object.entries(MODELS)) modelSelect.add(new Option(label, name));
modelSelect.value = DEFAULT_CONFIG.model;
modelSelect.addEventListener("change", () => {
  input("layers").value = DEFAULT_LAYERS[modelSelect.value as ModelKind].join(", ");
});
const optimizerSelect = select("optimizer");
for (const [name, o] of Object.entries(OPTIMIZERS)) optimizerSelect.add(new Option(o.label, name));
optimizerSelect.value = DEFAULT_CONFIG.optimizer;
optimizerSelect.addEventListener("change", () => {
  input("lr").value = String(OPTIMIZERS[optimizerSelect.value as OptimizerName].lr);
});
// Threads: the cores by default where the page is cross-origin isolated; else one, and the message says why.
const threadsHere = availableThreads(globalThis);
const threadsSelect = select("threads");
for (let n = 1; n <= (threadsHere.isolated ? Math.max(threadsHere.cores, 2) : 1); n++) {
  threadsSelect.add(new Option(String(n), String(n)));
}
threadsSelect.value = String(threadsHere.isolated ? threadsHere.cores : 1);
threadsSelect.disabled = !threadsHere.isolated;
function showThreadsMessage(text: string): void {
  const el = $("threads-message");
  el.textContent = text;
  el.hidden = text === "";
}
showThreadsMessage(threadsHere.reason);

select("schedule").addEventListener("change", () => {
  $("tau-row").hidden = select("schedule").value === "const";
});

function readConfig(): TrainConfig {
  const number = (id: string) => {
    const text = input(id).value.trim();
    return text === "" ? Number.NaN : Number(text);
  };
  return checkConfig({
    model: modelSelect.value as ModelKind,
    layers: parseLayers(input("layers").value),
    activation: select("activation").value as TrainConfig["activation"],
    optimizer: optimizerSelect.value as OptimizerName,
    lr: number("lr"),
    schedule: select("schedule").value as TrainConfig["schedule"],
    tau: number("tau"),
    batch: number("batch"),
    epochs: number("epochs"),
    seed: 0,
    threads: Number(threadsSelect.value),
  });
}

const startButton = $<HTMLButtonElement>("start");
const pauseButton = $<HTMLButtonElement>("pause");
const resetButton = $<HTMLButtonElement>("reset");
const form = $<HTMLFormElement>("settings");

// ---------------------------------------------------------------------------------------- curves

interface Curves {
  trainLoss: [number, number][];
  trainAcc: [number, number][];
  valLoss: [number, number][];
  valAcc: [number, number][];
  epochs: number;
}
let curves: Curves = { trainLoss: [], trainAcc: [], valLoss: [], valAcc: [], epochs: DEFAULT_CONFIG.epochs };
let chartQueued = false;

function redrawCharts(): void {
  if (chartQueued) return;
  chartQueued = true;
  requestAnimationFrame(() => {
    chartQueued = false;
    const line = (points: [number, number][], color: string, dots = false): Series => ({
      points,
      color,
      dots,
    });
    drawChart(
      $<HTMLCanvasElement>("loss-chart"),
      [line(curves.trainLoss, "#2f6fde"), line(curves.valLoss, "#e0731f", true)],
      {
        xMax: curves.epochs,
        yMin: 0,
        yLabel: (v) => v.toFixed(v < 1 ? 2 : 1),
      },
    );
    drawChart(
      $<HTMLCanvasElement>("acc-chart"),
      [line(curves.trainAcc, "#2f6fde"), line(curves.valAcc, "#e0731f", true)],
      {
        xMax: curves.epochs,
        yMax: 1,
        yLabel: (v) => v.toFixed(2),
      },
    );
  });
}
window.addEventListener("resize", redrawCharts);

/** Train curves as running means over ~1/8 epoch windows, so the line is readable and still live. */
class Smoother {
  private loss = 0;
  private acc = 0;
  private n = 0;
  add(x: number, loss: number, acc: number, steps: number, window: number): void {
    this.loss += loss * steps;
    this.acc += acc * steps;
    this.n += steps;
    if (this.n >= window) this.flush(x);
  }
  flush(x: number): void {
    if (this.n === 0) return;
    curves.trainLoss.push([x, this.loss / this.n]);
    curves.trainAcc.push([x, this.acc / this.n]);
    this.loss = this.acc = this.n = 0;
  }
}
let smoother = new Smoother();

// ---------------------------------------------------------------------------------------- worker

/** The training worker, or null (the reason shown) when this browser cannot run it. */
function createWorker(): Worker | null {
  try {
    if (typeof WebAssembly !== "object" || typeof WebAssembly.validate !== "function") {
      throw new Error(
        "This browser has no WebAssembly, which Adjoint needs for its memory and kernels: open the page in a current Chrome, Firefox or Safari.",
      );
    }
    return new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  } catch (error) {
    showError(error instanceof Error ? error.message : String(error));
    return null;
  }
}
const worker = createWorker();
const send = (m: ToWorker) => worker?.postMessage(m);
worker?.addEventListener("error", (e) =>
  showError(`The training worker failed: ${e.message || "it could not be loaded"}.`),
);

let built: BuiltInfo | null = null;
let state: "idle" | "running" | "paused" | "finished" = "idle";

function setState(s: typeof state): void {
  state = s;
  const el = $("state");
  el.textContent = s;
  el.className = `state ${s}`;
  startButton.disabled = s === "running" || !built;
  startButton.textContent = s === "paused" ? "Resume" : s === "finished" ? "Restart" : "Start";
  pauseButton.disabled = s !== "running";
  resetButton.disabled = !built;
}

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MB` : `${(n / 1024).toFixed(1)} kB`;
}

function showBuilt(info: BuiltInfo): void {
  built = info;
  fitNext = true;
  expanded = [];
  curves = { trainLoss: [], trainAcc: [], valLoss: [], valAcc: [], epochs: info.config.epochs };
  smoother = new Smoother();
  redrawCharts();
  $("epoch").textContent = "0";
  $("epochs-total").textContent = String(info.config.epochs);
  $("epoch-bar").style.width = "0%";
  for (const id of ["val-accuracy", "val-loss", "train-loss", "train-acc", "steps", "test-accuracy"]) {
    $(id).textContent = "–";
  }
  $("arena").textContent = formatBytes(info.arenaBytes);
  $("arena").title =
    `planned arena ${info.arenaBytes} bytes; one buffer per intermediate would take ${info.naiveBytes} bytes`;
  $("model-line").textContent =
    `${describeModel(info.config)}: ${info.parameters.toLocaleString("en")} parameters; ${info.trainSamples.toLocaleString("en")} training digits, ${info.valSamples} for validation, ${info.batchesPerEpoch} steps per epoch.`;
  $("kernel-source").textContent = info.source;
  $("source-line").textContent =
    `${info.source.split("\n").length} lines, ${info.loopNests} loop nests, arena ${formatBytes(info.arenaBytes)}`;
  $("engine").innerHTML = "";
  const b = document.createElement("b");
  b.textContent = info.engine;
  const threads = info.threads === 1 ? "one thread" : `${info.threads} threads`;
  $("engine").append("matmuls: ", b, ` · step compiled to JavaScript · ${threads}`);
  // Fewer threads than chosen: the library's reason (no product or loop large enough to split, no isolation).
  showThreadsMessage(threadsHere.reason || (info.threadsNote ? sentence(info.threadsNote) : ""));
}

worker?.addEventListener("message", (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  switch (m.type) {
    case "built":
      showBuilt(m.info);
      setState("idle");
      requestPrediction();
      return;
    case "state":
      setState(m.state);
      return;
    case "slice": {
      const r = m.report;
      const x = r.epoch + r.batch / r.batches;
      smoother.add(x, r.loss, r.acc, r.steps, Math.max(4, Math.round(r.batches / 8)));
      $("epoch-bar").style.width = `${(100 * r.batch) / r.batches}%`;
      $("train-loss").textContent = r.loss.toFixed(4);
      $("train-acc").textContent = r.acc.toFixed(4);
      $("steps").textContent = Math.round(m.stepsPerSec).toLocaleString("en");
      // How many product slices the other threads computed (the tests read it: threads really ran).
      $("steps").dataset.workerSlices = String(r.workerSlices);
      redrawCharts();
      return;
    }
    case "epoch": {
      const e = m.report;
      curves.valLoss.push([e.epoch + 1, e.valLoss]);
      curves.valAcc.push([e.epoch + 1, e.valAcc]);
      $("epoch").textContent = String(e.epoch + 1);
      $("val-accuracy").textContent = e.valAcc.toFixed(4);
      $("val-loss").textContent = e.valLoss.toFixed(4);
      redrawCharts();
      requestPrediction();
      return;
    }
    case "test":
      $("test-accuracy").textContent = m.acc.toFixed(4);
      $("test-accuracy").title = `${m.n} test digits, loss ${m.loss.toFixed(4)}`;
      return;
    case "graph":
      showGraph(m.svg);
      return;
    case "prediction":
      if (m.id === predictionId) showPrediction(m.probs);
      return;
    case "error":
      showError(m.message);
      return;
    case "log":
      console.info(m.text);
      return;
  }
});

startButton.addEventListener("click", () => {
  let config: TrainConfig;
  try {
    config = readConfig();
  } catch (error) {
    showError((error as Error).message);
    return;
  }
  showError(null);
  if (
    state === "finished" ||
    (built && JSON.stringify(built.config) !== JSON.stringify(config) && state !== "paused")
  ) {
    built = null;
  }
  send({ type: "start", config });
  setState("running");
});
pauseButton.addEventListener("click", () => send({ type: "pause" }));
resetButton.addEventListener("click", () => {
  let config: TrainConfig;
  try {
    config = readConfig();
  } catch (error) {
    showError((error as Error).message);
    return;
  }
  showError(null);
  send({ type: "reset", config });
});
form.addEventListener("submit", (e) => e.preventDefault());
form.addEventListener("input", () => {
  try {
    readConfig();
    for (const el of form.querySelectorAll("input")) el.removeAttribute("aria-invalid");
  } catch {
    // shown on Start
  }
});

// ---------------------------------------------------------------------------------------- drawing

const probsList = $("probs");
const bars: HTMLLIElement[] = [];
for (let d = 0; d < 10; d++) {
  const li = document.createElement("li");
  li.innerHTML = `<span>${d}</span><span class="track"><span class="fill"></span></span><span class="p">–</span>`;
  probsList.append(li);
  bars.push(li);
}
let predictionId = 0;
let lastPredict = 0;
const pad = new DrawingPad($<HTMLCanvasElement>("draw"), (final) => {
  const now = performance.now();
  if (final || now - lastPredict > 80) {
    lastPredict = now;
    requestPrediction();
  }
});
$("clear").addEventListener("click", () => {
  pad.clear();
  predictionId++;
  paintPreview($<HTMLCanvasElement>("preview"), new Float32Array(784));
  $("prediction").textContent = "";
  for (const li of bars) {
    li.classList.remove("top");
    (li.querySelector(".fill") as HTMLElement).style.width = "0";
    (li.querySelector(".p") as HTMLElement).textContent = "–";
  }
});

function requestPrediction(): void {
  if (pad.empty || !built) return;
  const pixels = pad.toMnist();
  paintPreview($<HTMLCanvasElement>("preview"), pixels);
  send({ type: "predict", id: ++predictionId, pixels });
}

function showPrediction(probs: Float32Array): void {
  let best = 0;
  for (let d = 1; d < 10; d++) if (probs[d] > probs[best]) best = d;
  $("prediction").textContent = String(best);
  bars.forEach((li, d) => {
    li.classList.toggle("top", d === best);
    (li.querySelector(".fill") as HTMLElement).style.width = `${(probs[d] * 100).toFixed(1)}%`;
    (li.querySelector(".p") as HTMLElement).textContent = probs[d].toFixed(3);
  });
}

// ------------------------------------------------------------------------------------------- graph

let expanded: string[] = [];
let view: "modules" | "nodes" = "modules";
let zoom = 1;
/** A new run's graph opens fitted to the pane's width (never enlarged, never below 60%). */
let fitNext = true;

function showGraph(svg: string): void {
  const pane = $("graph");
  pane.innerHTML = svg;
  const el = pane.querySelector("svg");
  if (!el) return;
  el.removeAttribute("width");
  el.removeAttribute("height");
  el.dataset.w = String(el.viewBox.baseVal.width);
  if (fitNext) {
    fitNext = false;
    zoom = Math.max(0.6, Math.min(1, (pane.clientWidth - 16) / el.viewBox.baseVal.width));
  }
  applyZoom();
  for (const g of el.querySelectorAll<SVGGElement>('g[id^="box:"]')) {
    g.addEventListener("click", () => {
      const key = g.id.slice(4);
      expanded = expanded.includes(key) ? expanded.filter((k) => k !== key) : [...expanded, key];
      send({ type: "graph", expanded, view });
    });
  }
}

function applyZoom(): void {
  const el = $("graph").querySelector("svg");
  if (el) el.style.width = `${Number(el.dataset.w) * zoom}px`;
}
$("zoom-in").addEventListener("click", () => {
  zoom = Math.min(4, zoom * 1.25);
  applyZoom();
});
$("zoom-out").addEventListener("click", () => {
  zoom = Math.max(0.2, zoom / 1.25);
  applyZoom();
});
$("graph-view").addEventListener("click", () => {
  view = view === "modules" ? "nodes" : "modules";
  $("graph-view").textContent = view === "modules" ? "Show every node" : "Module view";
  send({ type: "graph", expanded, view });
});

// -------------------------------------------------------------------------------------------- boot

send({ type: "init", dataUrl: new URL("mnist-digits.bin", document.baseURI).href });
send({ type: "reset", config: { ...DEFAULT_CONFIG, threads: Number(threadsSelect.value) } });
$("graph").innerHTML = worker
  ? '<p class="empty">Building the training step…</p>'
  : '<p class="empty">No training graph: this browser cannot run the training step.</p>';
if (!worker) $("engine").textContent = "no WebAssembly";
redrawCharts();
