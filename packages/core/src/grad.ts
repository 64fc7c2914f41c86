/**
 * Reverse-mode autodiff as a graph-to-graph transform: grad(y, xs) appends the adjoint graph to y's graph
 * and returns symbolic gradients. Every VJP rule is written in differentiable ops, so the result can be
 * differentiated again. Only nodes on a path from some x to y are differentiated; an unreached cotangent
 * is a symbolic zero (absent), never a materialized zero tensor.
 */
import { sumTo } from "./ops/api";
import { getOp } from "./ops/registry";
import { formatShape, sameShape } from "./shape";
import { Tensor } from "./tensor";
import { dependencies } from "./walk";

/** Options of {@link grad}. */
export interface GradOptions {
  /** The cotangent of y (default: ones). */
  seed?: Tensor;
}

/**
 * The symbolic gradients of y (a scalar, or any tensor with `seed` as its cotangent) with respect to each of
 * xs: reverse mode, appended to y's graph as ordinary nodes, so they can be printed, compiled and
 * differentiated again. An x that y does not depend on gets zeros.
 * @example
 * ```ts
 * const g = new Graph();
 * const x = g.input("x", [3], { requiresGrad: true });
 * const y = x.mul(x).mul(x).sum();          // Σ x³
 * const [dy] = grad(y, [x]);                // 3x²
 * const [d2y] = grad(dy.sum(), [x]);        // 6x: gradients of gradients
 * evaluate(d2y, { x: [1, 2, 3] });          // Float64Array [6, 12, 18]
 * ```
 */
export function grad(y: Tensor, xs: readonly Tensor[], options: GradOptions = {}): Tensor[] {
  if (!(y instanceof Tensor)) throw new TypeError(`grad: the output must be a Tensor, got ${String(y)}`);
  const g = y.graph;
  if (!Array.isArray(xs)) throw new TypeError("grad: the inputs must be an array of Tensors");
  if (y.size !== 1 && !options.seed) {
    throw new Error(
      `grad: the output must be a scalar, got ${y.describe()} (reduce it first, e.g. y.sum(), or pass a seed cotangent)`,
    );
  }
  for (const x of xs) {
    if (!(x instanceof Tensor)) throw new TypeError(`grad: ${String(x)} is not a Tensor`);
    if (x.graph !== g) throw new Error(`grad: ${x.describe()} belongs to another graph than the output`);
    if (!x.requiresGrad) {
      const hint = x.role === "input" ? " (create it with { requiresGrad: true })" : "";
      throw new Error(`grad: ${x.describe()} does not require grad${hint}`);
    }
  }
  if (options.seed && !sameShape(options.seed.shape, y.shape)) {
    throw new Error(
      `grad: seed ${formatShape(options.seed.shape)} does not match the output ${formatShape(y.shape)}`,
    );
  }

  const onPath = nodesOnPath(y, xs);
  const cotangent = new Map<number, Tensor>();
  g.markGradients(() => {
    cotangent.set(y.id, options.seed ?? (y.rank === 0 ? g.scalar(1) : g.scalar(1).broadcastTo(y.shape)));
    for (let id = y.id; id >= 0; id--) {
      const node = g.nodes[id];
      const ct = cotangent.get(id);
      if (!ct || !onPath[id] || node.inputs.length === 0) continue;
      const rule = getOp(node.op).vjp;
      if (!rule) continue;
      g.inScope(node.scope, () => {
        const cts = rule(ct, node);
        node.inputs.forEach((input, i) => {
          const c = cts[i];
          if (!c || !onPath[input.id]) return;
          const fitted = sumTo(c, input.shape);
          const prev = cotangent.get(input.id);
          cotangent.set(input.id, prev ? prev.add(fitted) : fitted); // fan-out: accumulate
        });
      });
    }
  });
  return xs.map((x) => cotangent.get(x.id) ?? g.markGradients(() => g.zeros(x.shape)));
}

/** Marks nodes that depend on some x (through differentiable ops) and that y depends on. */
function nodesOnPath(y: Tensor, xs: readonly Tensor[]): boolean[] {
  const nodes = y.graph.nodes;
  const fromX = new Array<boolean>(y.id + 1).fill(false);
  for (const x of xs) if (x.id <= y.id) fromX[x.id] = true;
  for (let id = 0; id <= y.id; id++) {
    const n = nodes[id];
    if (!fromX[id] && n.requiresGrad && n.inputs.some((t) => fromX[t.id])) fromX[id] = true;
  }
  const toY = new Array<boolean>(y.id + 1).fill(false);
  toY[y.id] = true;
  for (let id = y.id; id >= 0; id--) {
    if (!toY[id]) continue;
    for (const t of nodes[id].inputs) toY[t.id] = true;
  }
  return fromX.map((f, i) => f && toY[i]);
}

/**
 * PyTorch's loss.backward(), symbolically: sets (or accumulates into) `.grad` of every param that
 * requires grad and that the loss depends on, and returns those params.
 */
export function backward(loss: Tensor): Tensor[] {
  const dependsOn = dependencies([loss]);
  const params = loss.graph.params.filter((p) => p.requiresGrad && dependsOn.has(p.id));
  const grads = grad(loss, params);
  params.forEach((p, i) => {
    p.grad = p.grad ? p.graph.markGradients(() => p.grad!.add(grads[i])) : grads[i];
  });
  return params;
}
