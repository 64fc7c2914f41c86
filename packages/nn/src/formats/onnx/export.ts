/**
 * exportOnnx: an inference graph, from its inputs to the named outputs, as ONNX model bytes. Params and
 * buffers become initializers (float32), inputs become graph inputs; each op node the outputs need is
 * written by its lowering (export-ops.ts). Nodes are chosen from the outputs backwards, so that a
 * recognized composite (Gemm, Softmax) leaves its inner nodes unwritten when nothing else reads them.
 */
import { dependencies, type Tensor } from "@adjoint/core";
import { batchAxes } from "./batch-axis";
import { OnnxExportError } from "./errors";
import { type EmitContext, type Lowering, lower } from "./export-ops";
import {
  type AttributeProto,
  AttrType,
  DataType,
  encodeModel,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "./schema";

/** Options of {@link exportOnnx}: the opset and a symbolic batch axis. */
export interface ExportOnnxOptions {
  /** The ONNX opset (default 17; 13 to 18 are written and tested). */
  opset?: number;
  /** Write the batch axis (axis 0 of every input) as a symbolic dimension "batch" (default false). */
  dynamicBatch?: boolean;
  /** The ONNX graph's name (default "adjoint"). */
  name?: string;
}

export const MIN_OPSET = 13;
export const MAX_OPSET = 18;

/**
 * An inference graph, from its inputs to the named outputs, as ONNX model bytes (params as float32
 * initializers).
 * @example
 * ```ts
 * const bytes = exportOnnx({ logits: net.build(g.input("x", [1, 784])) }, { opset: 17, dynamicBatch: true });
 * ```
 */
export function exportOnnx(outputs: Record<string, Tensor>, options: ExportOnnxOptions = {}): Uint8Array {
  return encodeModel(exportOnnxModel(outputs, options));
}

/** The ModelProto (a plain object) exportOnnx encodes. */
export function exportOnnxModel(
  outputs: Record<string, Tensor>,
  options: ExportOnnxOptions = {},
): ModelProto {
  const opset = options.opset ?? 17;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OnnxExportError(`opset ${opset} is not supported (${MIN_OPSET} to ${MAX_OPSET})`);
  }
  const entries = Object.entries(outputs ?? {});
  if (entries.length === 0) throw new OnnxExportError("no outputs given (pass { name: tensor })");
  for (const [k, t] of entries) {
    if (!t || typeof t !== "object" || !("graph" in t) || t.graph !== entries[0][1].graph) {
      throw new OnnxExportError(`output "${k}" is not a tensor of the same graph as "${entries[0][0]}"`);
    }
  }
  const graph = entries[0][1].graph;
  const cut = [...dependencies(entries.map(([, t]) => t))].sort((a, b) => a - b).map((id) => graph.nodes[id]);
  const leafNames = new Set(cut.filter((t) => t.role !== "op" && t.name).map((t) => t.name!));
  for (const [k] of entries) {
    if (leafNames.has(k)) throw new OnnxExportError(`output name "${k}" is also an input's or param's name`);
  }
  // Choose lowerings from the outputs backwards: a node is written only if a chosen lowering reads it.
  const lowerings = new Map<number, Lowering>();
  const needed = new Set(entries.map(([, t]) => t.id));
  for (let i = cut.length - 1; i >= 0; i--) {
    const t = cut[i];
    if (!needed.has(t.id) || t.role !== "op") continue;
    const l = lower(t, opset);
    if (!l) throw unsupported(t);
    lowerings.set(t.id, l);
    for (const r of l.reads) needed.add(r.id);
  }
  const written = cut.filter((t) => needed.has(t.id));
  const axes = options.dynamicBatch
    ? batchAxes(written, (t, known) => {
        const rule = lowerings.get(t.id)?.batchAxis;
        return rule ? rule(lowerings.get(t.id)!.reads.map((r) => known.get(r.id) ?? null)) : undefined;
      })
    : null;
  const w = new Writer(opset, (t) => axes?.get(t.id) ?? null);
  for (const n of [...leafNames, ...entries.map(([k]) => k)]) w.reserve(n);

  const names = new Map<number, string>();
  const outputOf = new Map<number, string>();
  for (const [k, t] of entries) if (t.role === "op" && !outputOf.has(t.id)) outputOf.set(t.id, k);
  for (const t of cut) {
    if (!needed.has(t.id)) continue;
    if (t.role === "op") {
      const out = outputOf.get(t.id) ?? w.fresh(`${t.scope ? `${t.scope}/` : ""}${t.op}_${t.id}`);
      lowerings.get(t.id)!.emit(
        w,
        lowerings.get(t.id)!.reads.map((r) => names.get(r.id)!),
        out,
      );
      names.set(t.id, out);
    } else {
      names.set(t.id, w.leaf(t));
    }
  }
  const graphOutputs: ValueInfoProto[] = entries.map(([k, t]) => {
    if (names.get(t.id) !== k) w.node("Identity", [names.get(t.id)!], [], k);
    return valueInfo(k, t.shape, axes?.get(t.id) ?? null);
  });
  const graphInputs = cut
    .filter((t) => t.role === "input" && needed.has(t.id))
    .map((t) => valueInfo(t.name!, t.shape, axes?.get(t.id) ?? null));
  return {
    ir_version: opset >= 14 ? 8 : 7,
    producer_name: "adjoint",
    opset_import: [{ domain: "", version: opset }],
    graph: {
      name: options.name ?? "adjoint",
      node: w.nodes,
      initializer: w.initializers,
      input: graphInputs,
      output: graphOutputs,
    },
  };
}

function unsupported(t: Tensor): OnnxExportError {
  const hint =
    t.op === "hashUniform"
      ? " (a Dropout built in training mode: build the model in eval mode, model.eval(), to export it)"
      : t.op === "assign"
        ? " (an optimizer update: export the inference outputs, not a training step)"
        : "";
  const ins = t.inputs.map((x) => x.describe()).join(", ");
  return new OnnxExportError(`${t.describe()} (inputs ${ins}) has no ONNX lowering${hint}`);
}

function valueInfo(name: string, shape: readonly number[], batchAxis: number | null): ValueInfoProto {
  const dim = shape.map((d, i) => (i === batchAxis ? { dim_param: "batch" } : { dim_value: d }));
  return { name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim } } } };
}

/** float32 (or int64) values as little-endian raw_data, whatever the host's byte order. */
function rawFloat32(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return bytes;
}
function rawInt64(values: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]), true);
  return bytes;
}

class Writer implements EmitContext {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly intCache = new Map<string, string>();
  private readonly floatCache = new Map<number, string>();

  constructor(
    readonly opset: number,
    readonly batchAxis: (t: Tensor) => number | null,
  ) {}

  /** Names taken before any node is written: leaves keep theirs, outputs get their keys. */
  reserve(name: string): void {
    this.used.add(name);
  }

  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  node(op: string, inputs: readonly string[], attrs: AttributeProto[] = [], out?: string): string {
    const output = out ?? this.fresh(`${op}_${this.nodes.length}`);
    this.used.add(output);
    this.nodes.push({
      op_type: op,
      name: `${op}_${this.nodes.length}`,
      input: [...inputs],
      output: [output],
      attribute: attrs,
    });
    return output;
  }

  ints(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `${dims.join(",")}:${values.join(",")}`;
    let name = this.intCache.get(key);
    if (!name) {
      name = this.constant({ data_type: DataType.INT64, dims: [...dims], raw_data: rawInt64(values) });
      this.intCache.set(key, name);
    }
    return name;
  }

  floats(values: ArrayLike<number>, dims: readonly number[]): string {
    return this.constant({ data_type: DataType.FLOAT, dims: [...dims], raw_data: rawFloat32(values) });
  }

  float(value: number): string {
    let name = this.floatCache.get(value);
    if (!name) {
      name = this.constant({ data_type: DataType.FLOAT, dims: [], raw_data: rawFloat32([value]) });
      this.floatCache.set(value, name);
    }
    return name;
  }

  /** A Constant node: constants stay apart from initializers, which are the params (an importer trains those). */
  private constant(value: TensorProto): string {
    return this.node("Constant", [], [{ name: "value", type: AttrType.TENSOR, t: value }]);
  }

  /** A leaf's value name: inputs keep theirs; params, buffers and constants become initializers. */
  leaf(t: Tensor): string {
    if (t.role === "input") return t.name!;
    if (t.role === "const") {
      if (t.attrs.data === undefined) return this.float(t.attrs.value as number);
      return this.constant({
        data_type: DataType.FLOAT,
        dims: [...t.shape],
        raw_data: rawFloat32(t.attrs.data as Float32Array),
      });
    }
    const name = t.name!;
    this.initializers.push({
      name,
      data_type: DataType.FLOAT,
      dims: [...t.shape],
      raw_data: rawFloat32(t.value),
    });
    return name;
  }
}
