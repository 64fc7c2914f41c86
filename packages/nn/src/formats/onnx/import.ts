/**
 * importOnnx: an ONNX model built into a graph. The file is decoded and checked (import-model.ts), then
 * built node by node (import-ops.ts) into a scratch graph, where every shape is inferred and every error
 * is raised; only a model that built completely is then copied into the caller's graph. So a bad file
 * leaves the caller's graph as it was, and every failure is one Error whose message starts "importOnnx:".
 */
import { Graph, markComposite, Tensor } from "@adjoint/core";
import { OnnxImportError as E, errorText } from "./errors";
import { type LeafFactory, NodeContext, type Value } from "./import-context";
import {
  type ConstTensor,
  DEFAULT_LIMITS,
  type ImportLimits,
  type OnnxGraph,
  readModel,
} from "./import-model";
import { CONV_BUILDERS } from "./import-conv";
import { BUILDERS as BASIC_BUILDERS } from "./import-ops";
import { SHAPE_BUILDERS } from "./import-shape";

const BUILDERS = { ...BASIC_BUILDERS, ...SHAPE_BUILDERS, ...CONV_BUILDERS };

/** Options of {@link importOnnx}. */
export interface ImportOnnxOptions {
  /** The size of a symbolic batch dimension (axis 0 of an input; default 1). */
  batch?: number;
  /** Default true: initializers become trainable params; false: constants. */
  trainable?: boolean;
  /** Bounds on what a file may make this allocate (bytes, nodes, elements per tensor). */
  limits?: Partial<ImportLimits>;
  /**
   * Tensors of the graph to use as the model's inputs (by ONNX name) instead of new input leaves: the
   * model is built on them (their shapes must fit; a symbolic batch takes theirs).
   */
  inputs?: Record<string, Tensor>;
  /**
   * Makes (or finds) the leaf of an initializer instead of a new param, e.g. a Module's param so that
   * every build of the model shares the weights (OnnxModel). `frozen`: read as statistics, never trained.
   */
  initializer?: (name: string, shape: readonly number[], data: Float32Array, frozen: boolean) => Tensor;
}

/** What {@link importOnnx} built: the inputs, outputs and params, by their ONNX names. */
export interface ImportedOnnx {
  /** The graph inputs (keys: the ONNX names). */
  inputs: Record<string, Tensor>;
  outputs: Record<string, Tensor>;
  /** The trainable params, one per float initializer the graph reads as data. */
  params: Record<string, Tensor>;
  /** Params read as statistics (BatchNormalization's running mean and variance): never trained. */
  frozen: Record<string, Tensor>;
  opset: number;
}

/**
 * Builds an ONNX model (bytes) into a graph, all or nothing; every failure is one Error starting
 * "importOnnx:".
 */
export function importOnnx(bytes: Uint8Array, graph: Graph, options: ImportOnnxOptions = {}): ImportedOnnx {
  if (!(graph instanceof Graph)) throw new E("the second argument must be a Graph to build the model into");
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const batch = options.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1 || batch > limits.maxElements) {
    throw new E(`batch must be a whole number >= 1, got ${batch}`);
  }
  for (const [name, t] of Object.entries(options.inputs ?? {})) {
    if (!(t instanceof Tensor) || t.graph !== graph) {
      throw new E(`inputs.${name} must be a tensor of the graph the model is built into`);
    }
  }
  const model = readModel(bytes, limits);
  let scratch: ImportedOnnx;
  try {
    scratch = build(model, new Graph(), batch, options.trainable ?? true, limits, options.inputs ?? {});
  } catch (e) {
    if (e instanceof E) throw e;
    throw new E(`the model does not build: ${errorText(e)}`);
  }
  try {
    return copyInto(scratch, graph, options);
  } catch (e) {
    if (e instanceof E) throw e;
    throw new E(`the model does not build into the graph: ${errorText(e)}`);
  }
}

function build(
  model: OnnxGraph,
  g: Graph,
  batch: number,
  trainable: boolean,
  limits: ImportLimits,
  bound: Record<string, Tensor>,
): ImportedOnnx {
  const values = new Map<string, Value>();
  const missing = new Map<string, string>();
  const params: Record<string, Tensor> = {};
  const frozen: Record<string, Tensor> = {};
  const leaves = new Map<string, Tensor>();
  const factory: LeafFactory = {
    initializer(name: string, c: ConstTensor, isFrozen: boolean): Tensor {
      let t = leaves.get(name);
      if (!t) {
        const data = c.data as Float32Array;
        if (!trainable) t = c.dims.length === 0 ? g.scalar(data[0]) : g.constant(data, c.dims);
        else {
          t = g.param(name, c.dims, { init: (v) => v.set(data), requiresGrad: !isFrozen });
          (isFrozen ? frozen : params)[name] = t;
        }
        leaves.set(name, t);
      }
      return t;
    },
  };
  for (const [name, c] of model.initializers) values.set(name, { kind: "const", c, initializer: name });

  const inputs: Record<string, Tensor> = {};
  for (const name of Object.keys(bound)) {
    if (!model.inputs.some((i) => i.name === name)) {
      throw new E(
        `inputs.${name}: the model has no input "${name}" (its inputs: ${model.inputs.map((i) => i.name).join(", ")})`,
      );
    }
  }
  for (const inp of model.inputs) {
    if (values.has(inp.name)) throw new E(`input "${inp.name}" is declared twice`);
    const given = bound[inp.name];
    const dims = inp.dims.map((d, axis) => {
      if (typeof d === "number") return d;
      if (axis !== 0) {
        throw new E(
          `input "${inp.name}": symbolic dimension "${d}" at axis ${axis} (only axis 0, the batch, may be symbolic)`,
        );
      }
      return given ? (given.shape[0] ?? batch) : batch;
    });
    if (given && (given.rank !== dims.length || given.shape.some((d, i) => d !== dims[i]))) {
      throw new E(
        `input "${inp.name}" is [${inp.dims.join(",")}] in the file, the tensor given for it is [${given.shape.join(",")}]`,
      );
    }
    const t = g.input(inp.name, dims);
    checkSize(t, inp.name, limits);
    inputs[inp.name] = t;
    values.set(inp.name, { kind: "tensor", t });
  }

  for (const node of model.nodes) {
    const builder = Object.hasOwn(BUILDERS, node.op) ? BUILDERS[node.op] : undefined;
    if (!builder) {
      throw new E(
        `node "${node.name}": op ${node.op} (opset ${model.opset}) is not supported; supported: ${Object.keys(BUILDERS).sort().join(", ")}`,
      );
    }
    const ins = node.inputs.map((name) => {
      if (name === "") return null;
      const why = missing.get(name);
      if (why) throw new E(`node "${node.name}" (${node.op}) reads "${name}": ${why}`);
      const v = values.get(name);
      if (!v) {
        throw new E(
          `node "${node.name}" (${node.op}) reads "${name}", which no earlier node, input or initializer produces`,
        );
      }
      return v;
    });
    const ctx = new NodeContext(g, model.opset, node, ins, factory);
    let outs: Value[];
    try {
      outs = builder(ctx);
    } catch (e) {
      if (e instanceof E) throw e;
      throw ctx.fail(errorText(e));
    }
    node.outputs.forEach((name, i) => {
      if (name === "") return;
      if (values.has(name) || missing.has(name)) throw ctx.fail(`output "${name}" is produced twice`);
      const v = outs[i];
      if (!v) missing.set(name, `output ${i} of ${node.op} "${node.name}" is not supported`);
      else {
        if (v.kind === "tensor") checkSize(v.t, name, limits);
        values.set(name, v);
      }
    });
  }

  const outputs: Record<string, Tensor> = {};
  for (const out of model.outputs) {
    const v = values.get(out.name);
    if (!v)
      throw new E(
        `graph output "${out.name}" is not produced by any node${missing.has(out.name) ? ` (${missing.get(out.name)})` : ""}`,
      );
    const t = v.kind === "tensor" ? v.t : constTensor(g, v.c, out.name);
    const declared = out.dims;
    const fits =
      declared.length === 0 ||
      (declared.length === t.rank && declared.every((d, i) => typeof d !== "number" || d === t.shape[i]));
    if (!fits) {
      throw new E(
        `graph output "${out.name}": the file declares shape [${declared.join(",")}] but the nodes compute [${t.shape.join(",")}]`,
      );
    }
    outputs[out.name] = t;
  }
  return { inputs, outputs, params, frozen, opset: model.opset };
}

function constTensor(g: Graph, c: ConstTensor, name: string): Tensor {
  if (c.dtype !== "float")
    throw new E(`graph output "${name}" is an int64 constant (only float outputs are supported)`);
  return c.dims.length === 0
    ? g.scalar((c.data as Float32Array)[0])
    : g.constant(c.data as Float32Array, c.dims);
}

function checkSize(t: Tensor, name: string, limits: ImportLimits) {
  if (t.size > limits.maxElements) {
    throw new E(
      `"${name}" has shape [${t.shape.join(",")}], more than the limit of ${limits.maxElements} elements`,
    );
  }
}

/**
 * Copies a model built in a scratch graph into the caller's graph, node for node; bound inputs and
 * initializers made by the caller's factory take the place of the scratch leaves.
 */
function copyInto(m: ImportedOnnx, h: Graph, options: ImportOnnxOptions): ImportedOnnx {
  const scratch = Object.values(m.outputs)[0].graph;
  const bound = options.inputs ?? {};
  for (const t of scratch.nodes) {
    const own = (t.role === "input" && !bound[t.name!]) || (t.role === "param" && !options.initializer);
    if (own && h.has(t.name!)) {
      throw new E(`the graph already has a leaf named "${t.name}" (import into a graph without it)`);
    }
  }
  const made = new Map<number, Tensor>();
  for (const t of scratch.nodes) {
    if (t.role !== "param" || !options.initializer) continue;
    const c = options.initializer(t.name!, t.shape, Float32Array.from(t.value), !t.requiresGrad);
    if (
      !(c instanceof Tensor) ||
      c.graph !== h ||
      c.rank !== t.rank ||
      c.shape.some((d, i) => d !== t.shape[i])
    ) {
      throw new E(`the initializer factory gave ${String(c)} for "${t.name}" [${t.shape.join(",")}]`);
    }
    made.set(t.id, c);
  }
  const map = new Map<number, Tensor>();
  for (const t of scratch.nodes) {
    let c: Tensor;
    if (t.role === "input") c = bound[t.name!] ?? h.input(t.name!, t.shape);
    else if (t.role === "param") {
      const value = t.value;
      c =
        made.get(t.id) ??
        h.param(t.name!, t.shape, { init: (v) => v.set(value), requiresGrad: t.requiresGrad });
    } else if (t.role === "const") {
      c =
        t.attrs.data === undefined
          ? h.scalar(t.attrs.value as number)
          : h.constant(t.attrs.data as Float32Array, t.shape);
    } else
      c = h.addNode(
        t.op,
        t.inputs.map((x) => map.get(x.id)!),
        t.attrs,
      );
    // The composite marks (conv2d, pools, norms) come along, so the model exports back to the same ops.
    if (t.composite) {
      const { op, inputs, attrs } = t.composite;
      markComposite(
        c,
        op,
        inputs.map((x) => map.get(x.id)!),
        attrs,
      );
    }
    map.set(t.id, c);
  }
  const remap = (r: Record<string, Tensor>) =>
    Object.fromEntries(Object.entries(r).map(([k, t]) => [k, map.get(t.id)!]));
  return {
    inputs: remap(m.inputs),
    outputs: remap(m.outputs),
    params: remap(m.params),
    frozen: remap(m.frozen),
    opset: m.opset,
  };
}
