/**
 * The training step of a model as the compiler sees it, and its dumps:
 *   graph.txt    toText of the step: forward, loss, gradient graph (# grad) and optimizer updates, each node
 *                annotated with its module and the fused group (loop nest) the compiler put it in;
 *   graph.dot    toDot with the module clusters and, inside them, the fused groups as dashed clusters;
 *   graph.svg    that DOT rendered by Graphviz (WebAssembly);
 *   graph.modules.svg  the module-level view: each module, its gradient and each parameter's update as one box;
 *   program.txt  the program after the passes (simplify, CSE, DCE), one line per node with its group;
 *   kernel.js    the one generated JavaScript function that runs the whole step.
 */
import {
  CompiledKernel,
  crossEntropy,
  Graph,
  type Module,
  type optim,
  renderSvg,
  stateUpdates,
  type Tensor,
  type TrainStep,
  toDot,
  toText,
  trainStep,
} from "adjoint";

/** What the dumps need of a training step. */
export interface StepGraph {
  graph: Graph;
  /** The loss the step reports, and the model's output (logits) it also returns. */
  loss: Tensor;
  y: Tensor;
  step: TrainStep;
}

/**
 * Builds a model's training step the way fit() does (inputs "x" and "t", cross-entropy on the logits, the
 * optimizer's updates, lr set by the caller), in a new graph seeded with `seed`: what `adjoint dump` shows.
 */
export function buildTrainStep(
  model: Module,
  options: { inputShape: readonly number[]; batch: number; seed: number; optimizer: optim.Optimizer },
): StepGraph {
  const graph = new Graph({ seed: options.seed });
  const x = graph.input("x", [options.batch, ...options.inputShape]);
  const t = graph.input("t", [options.batch]);
  const y = model.build(x);
  const loss = crossEntropy(y, t);
  const step = trainStep(loss, options.optimizer, { outputs: { y }, autoSchedule: false });
  return { graph, loss: step.loss, y, step };
}

/** The compiler's Kernel behind a train step (the step of the compiled engine has one). */
export function compiledKernel(step: TrainStep) {
  if (!(step.kernel instanceof CompiledKernel)) throw new Error("the training step is not a compiled kernel");
  return step.kernel.compiled;
}

/** The step's updates, as trainStep compiles them: the optimizer's assigns, then registered state updates. */
function stepUpdates(s: StepGraph): Tensor[] {
  return [...s.step.update.updates, ...stateUpdates([s.loss, s.y])];
}

export interface Dumps {
  "graph.txt": string;
  "graph.dot": string;
  "graph.svg": string;
  "graph.modules.svg": string;
  "program.txt": string;
  "kernel.js": string;
  "kernel.wasm.txt": string;
}

export async function makeDumps(s: StepGraph, title: string): Promise<Dumps> {
  const kernel = compiledKernel(s.step);
  // Only the step's nodes (the graph also holds validation and test builds of the model).
  const outputs: Record<string, Tensor> = { loss: s.loss, y: s.y };
  for (const u of stepUpdates(s)) outputs[`update(${u.inputs[0].name})`] = u;
  const groups = kernel.fusedGroups;
  const text = toText(s.graph, {
    outputs,
    annotate: (n) => {
      const g = groups.get(n.id);
      return g === undefined ? undefined : `fused ${g}`;
    },
  });
  const header = [
    `# ${title}`,
    "# One training step: forward, loss, the gradient graph (nodes marked grad) and the optimizer's updates.",
    "# After each node: its module, the composite op whose result it is, e.g. (conv2d), grad for gradient nodes,",
    "# and the fused group (loop nest) the compiler put it in.",
    "",
  ].join("\n");
  const dot = toDot(s.graph, { outputs, groups, title });
  const svg = await renderSvg(dot);
  const modules = await renderSvg(toDot(s.graph, { outputs, groups, title, view: "modules" }));
  return {
    "graph.txt": header + text,
    "graph.dot": dot,
    "graph.svg": svg,
    "graph.modules.svg": modules,
    "program.txt": kernel.programText,
    "kernel.js": kernel.source,
    "kernel.wasm.txt":
      kernel.wasmListing || ";; no WebAssembly kernels: every matmul of this step runs in JS\n",
  };
}
