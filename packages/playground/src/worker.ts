/**
 * The training worker: owns the data and the Session, trains in slices of ~40 ms and answers the page's
 * messages between slices, so that neither the page nor its Pause button ever waits for a whole epoch.
 */
import { renderSvg, toDot, wasmStatus } from "adjoint";
import type { TrainConfig } from "./config";
import { loadDigits, type Splits, splitLikeCli } from "./data";
import { type FromWorker, sentence, type ToWorker } from "./protocol";
import { DivergedError, Session } from "./session";

const SLICE_MS = 40;

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker) => scope.postMessage(m);

let splits: Promise<Splits> | null = null;
let dataUrl = "";
let session: Session | null = null;
let running = false;
let graphRequest: { expanded: string[]; view: "modules" | "nodes" } = { expanded: [], view: "modules" };
let graphWanted = false;

function fail(error: unknown, fatal = false): void {
  running = false;
  // A diverged run cannot be resumed (its weights are ruined): the next Start builds a new one.
  if (error instanceof DivergedError) {
    void session?.dispose();
    session = null;
  }
  const message = error instanceof Error ? error.message : String(error);
  post({ type: "error", message: sentence(message), fatal });
  post({ type: "state", state: session && !session.done ? "paused" : "idle" });
}

function data(): Promise<Splits> {
  splits ??= loadDigits(dataUrl).then((all) => splitLikeCli(all, 0));
  return splits;
}

async function build(config: TrainConfig): Promise<Session> {
  const d = await data();
  // The previous run's worker threads end with it (a new run compiles new kernels).
  const old = session;
  session = null;
  await old?.dispose();
  const s = new Session(d, config);
  session = s;
  graphRequest = { ...graphRequest, expanded: [] }; // a new graph: its boxes open afresh
  const k = s.kernel;
  post({
    type: "built",
    info: {
      config: s.config,
      source: k.source,
      arenaBytes: k.memory.arenaBytes,
      naiveBytes: k.memory.naiveBytes,
      parameters: s.model.parameters().reduce((n, p) => n + p.size, 0),
      loopNests: k.groups,
      engine: wasmStatus(),
      trainSamples: d.train.n,
      valSamples: d.val.n,
      batchesPerEpoch: s.batchesPerEpoch,
      threads: s.threads.used,
      threadsNote: s.threads.note,
    },
  });
  graphWanted = true;
  return s;
}

async function drawGraph(s: Session): Promise<void> {
  graphWanted = false;
  const request = graphRequest;
  const dot = toDot(s.graph, {
    outputs: s.stepOutputs,
    groups: s.kernel.fusedGroups,
    title: "one training step: forward, gradients, optimizer update",
    view: request.view,
    expanded: request.expanded,
    moduleTypes: s.moduleTypes,
  });
  const svg = await renderSvg(dot);
  if (session === s) post({ type: "graph", svg, ...request });
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function train(): Promise<void> {
  const s = session!;
  running = true;
  post({ type: "state", state: "running" });
  let t0 = performance.now();
  let stepsSince = 0;
  let rate = 0;
  while (running && session === s && !s.done) {
    const report = s.runFor(SLICE_MS);
    stepsSince += report.steps;
    const now = performance.now();
    if (now - t0 > 250) {
      rate = (stepsSince * 1000) / (now - t0);
      t0 = now;
      stepsSince = 0;
    }
    post({ type: "slice", report, stepsPerSec: rate || report.steps / Math.max(report.seconds, 1e-6) });
    if (report.epochDone) post({ type: "epoch", report: s.endEpoch() });
    if (graphWanted) await drawGraph(s);
    await tick();
  }
  if (session === s) {
    running = false;
    if (s.done) post({ type: "test", ...s.test() });
    post({ type: "state", state: s.done ? "finished" : "paused" });
  }
}

const sameConfig = (a: TrainConfig, b: TrainConfig) => JSON.stringify(a) === JSON.stringify(b);

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case "init":
      dataUrl = m.dataUrl;
      return;
    case "start": {
      if (running) return;
      // Resume the paused run; changed settings (or a finished run) start a new one.
      if (!session || session.done || !sameConfig(session.config, m.config)) await build(m.config);
      await train();
      return;
    }
    case "pause":
      running = false;
      return;
    case "reset":
      running = false;
      await build(m.config);
      post({ type: "state", state: "idle" });
      await drawGraph(session!);
      return;
    case "predict":
      if (session) post({ type: "prediction", id: m.id, probs: session.predict(m.pixels) });
      return;
    case "graph":
      graphRequest = { expanded: m.expanded, view: m.view };
      if (session && !running) await drawGraph(session);
      else graphWanted = true;
      return;
  }
}

scope.onmessage = (event) => {
  handle(event.data).catch((error) => fail(error));
};
