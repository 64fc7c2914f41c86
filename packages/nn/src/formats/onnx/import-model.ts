/**
 * From untrusted bytes to a checked, plain description of an ONNX graph: decoded by protobufjs (any
 * decoder exception becomes an importOnnx error), then every field the importer reads is checked: the
 * opset, int64s (safe integers), dims (whole numbers, a bounded element count), initializer data (its
 * length agrees with its shape), names (present, unique producers). Nothing here allocates more than
 * the file's own size, apart from what the limits allow.
 */
import { OnnxImportError as E, errorText } from "./errors";
import {
  AttrType,
  type AttributeProto,
  DataType,
  decodeModel,
  type Int64,
  type ModelProto,
  type TensorProto,
  type ValueInfoProto,
} from "./schema";

export const MIN_IMPORT_OPSET = 13;
export const MAX_IMPORT_OPSET = 18;

/** Limits that keep a hostile or broken ONNX file from exhausting memory. */
export interface ImportLimits {
  /** The largest file accepted, in bytes (default 1 GiB). */
  maxBytes: number;
  /** The most nodes in the graph (default 100,000). */
  maxNodes: number;
  /** The most elements of any one tensor, initializer or computed (default 2^26). */
  maxElements: number;
}

export const DEFAULT_LIMITS: ImportLimits = { maxBytes: 2 ** 30, maxNodes: 100_000, maxElements: 2 ** 26 };

/** A constant: float32 data, or int64 values (shapes, axes) kept as numbers. */
export interface ConstTensor {
  readonly dtype: "float" | "int";
  readonly dims: readonly number[];
  readonly data: Float32Array | readonly number[];
}

export type Attr =
  | { kind: "float"; value: number }
  | { kind: "int"; value: number }
  | { kind: "string"; value: string }
  | { kind: "floats"; value: number[] }
  | { kind: "ints"; value: number[] }
  | { kind: "tensor"; value: ConstTensor };

export interface OnnxNode {
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: ReadonlyMap<string, Attr>;
}

export interface OnnxInput {
  readonly name: string;
  /** A whole number, or the name of a symbolic dimension. */
  readonly dims: readonly (number | string)[];
}

export interface OnnxGraph {
  readonly opset: number;
  readonly inputs: readonly OnnxInput[];
  readonly outputs: readonly OnnxInput[];
  readonly initializers: ReadonlyMap<string, ConstTensor>;
  readonly nodes: readonly OnnxNode[];
}

export function int64(v: Int64 | bigint | undefined | null, what: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === "number" ? v : Number(typeof v === "bigint" ? v : v.toString());
  if (!Number.isSafeInteger(n)) throw new E(`${what}: ${String(v)} is not a safe integer`);
  return n;
}

/**
 * An int64 value of tensor data, clamped to ±(2^53 − 1): exporters write INT64_MAX and INT64_MIN as
 * "to the end" in Slice and similar, which no real index or size reaches.
 */
function saturated(v: Int64 | bigint): number {
  const n = typeof v === "number" ? v : Number(typeof v === "bigint" ? v : v.toString());
  if (Number.isNaN(n)) return 0;
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.trunc(n)));
}

export function checkedDims(raw: readonly Int64[] | undefined, what: string, limits: ImportLimits): number[] {
  const dims = (raw ?? []).map((d, i) => int64(d, `${what}: dimension ${i}`));
  if (dims.length > 32) throw new E(`${what}: rank ${dims.length} is more than 32`);
  let n = 1;
  for (const d of dims) {
    if (d < 0) throw new E(`${what}: dimension ${d} is negative (dims [${dims.join(",")}])`);
    n *= d;
    if (n > limits.maxElements) {
      throw new E(`${what}: dims [${dims.join(",")}] exceed the limit of ${limits.maxElements} elements`);
    }
  }
  return dims;
}

const DTYPE_NAMES: Record<number, string> = {
  1: "FLOAT",
  2: "UINT8",
  3: "INT8",
  5: "INT16",
  6: "INT32",
  7: "INT64",
  9: "BOOL",
  10: "FLOAT16",
  11: "DOUBLE",
  16: "BFLOAT16",
};

/**
 * A tensor's data, checked against its dims. `finite`: refuse NaN and ±Infinity (initializers: they
 * become params); a Constant node may hold −Infinity (the fill of a max pool's padding).
 */
export function tensorOf(t: TensorProto, what: string, limits: ImportLimits, finite = true): ConstTensor {
  if (t.data_location === 1) throw new E(`${what}: external data (a separate file) is not supported`);
  const dims = checkedDims(t.dims, what, limits);
  const n = dims.reduce((a, b) => a * b, 1);
  const type = t.data_type ?? 0;
  const raw = t.raw_data && t.raw_data.length > 0 ? t.raw_data : null;
  const expectLength = (got: number, unit: string) => {
    if (got !== n) {
      throw new E(`${what}: ${got} ${unit} for dims [${dims.join(",")}] (expected ${n})`);
    }
  };
  if (type === DataType.FLOAT || type === DataType.DOUBLE) {
    const size = type === DataType.FLOAT ? 4 : 8;
    let data: Float32Array;
    if (raw) {
      expectLength(raw.length / size, "values in raw_data");
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      data = new Float32Array(n);
      for (let i = 0; i < n; i++)
        data[i] = size === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
    } else {
      const list = type === DataType.FLOAT ? (t.float_data ?? []) : (t.double_data ?? []);
      expectLength(list.length, "values");
      data = Float32Array.from(list);
    }
    for (let i = 0; finite && i < n; i++) {
      if (!Number.isFinite(data[i])) throw new E(`${what}: value [${i}] = ${data[i]} is not finite`);
    }
    return { dtype: "float", dims, data };
  }
  if (type === DataType.INT64 || type === DataType.INT32) {
    const values: number[] = [];
    if (raw) {
      const size = type === DataType.INT64 ? 8 : 4;
      expectLength(raw.length / size, "values in raw_data");
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < n; i++) {
        const v = size === 8 ? view.getBigInt64(i * 8, true) : BigInt(view.getInt32(i * 4, true));
        values.push(saturated(v));
      }
    } else {
      const list = type === DataType.INT64 ? (t.int64_data ?? []) : (t.int32_data ?? []);
      expectLength(list.length, "values");
      for (let i = 0; i < n; i++) values.push(saturated(list[i]));
    }
    return { dtype: "int", dims, data: values };
  }
  throw new E(
    `${what}: data type ${DTYPE_NAMES[type] ?? type} is not supported (FLOAT, DOUBLE, INT64, INT32)`,
  );
}

function attrOf(a: AttributeProto, what: string, limits: ImportLimits): Attr {
  switch (a.type) {
    case AttrType.FLOAT:
      return { kind: "float", value: a.f ?? 0 };
    case AttrType.INT:
      return { kind: "int", value: int64(a.i, what) };
    case AttrType.STRING:
      return { kind: "string", value: new TextDecoder().decode(a.s ?? new Uint8Array()) };
    case AttrType.FLOATS:
      return { kind: "floats", value: [...(a.floats ?? [])] };
    case AttrType.INTS:
      return { kind: "ints", value: (a.ints ?? []).map((v, i) => int64(v, `${what} [${i}]`)) };
    case AttrType.TENSOR:
      if (!a.t) throw new E(`${what}: a TENSOR attribute without a tensor`);
      return { kind: "tensor", value: tensorOf(a.t, what, limits, false) };
    default:
      throw new E(
        `${what}: attribute type ${a.type} is not supported (graphs, sparse tensors, strings lists)`,
      );
  }
}

function inputOf(v: ValueInfoProto, what: string, limits: ImportLimits): OnnxInput {
  const name = v.name ?? "";
  if (!name) throw new E(`${what}: a graph input or output without a name`);
  const tt = v.type?.tensor_type;
  if (!tt) throw new E(`${what} "${name}": not a tensor (sequences and maps are not supported)`);
  if (tt.elem_type !== undefined && tt.elem_type !== DataType.FLOAT) {
    throw new E(
      `${what} "${name}": element type ${DTYPE_NAMES[tt.elem_type] ?? tt.elem_type} (only FLOAT is supported)`,
    );
  }
  const raw = tt.shape?.dim ?? [];
  if (raw.length > 32) throw new E(`${what} "${name}": rank ${raw.length} is more than 32`);
  const dims = raw.map((d, i) => {
    if (d.dim_param) return d.dim_param;
    if (d.dim_value === undefined || d.dim_value === null) return "?";
    const n = int64(d.dim_value, `${what} "${name}" dimension ${i}`);
    if (n < 0 || n > limits.maxElements)
      throw new E(`${what} "${name}": dimension ${i} = ${n} is out of range`);
    return n;
  });
  return { name, dims };
}

/** Decodes and checks a model; every failure is an OnnxImportError. */
export function readModel(bytes: Uint8Array, limits: ImportLimits): OnnxGraph {
  if (!(bytes instanceof Uint8Array))
    throw new E(`expected the model's bytes as a Uint8Array, got ${typeof bytes}`);
  if (bytes.length === 0) throw new E("the file is empty");
  if (bytes.length > limits.maxBytes) {
    throw new E(`the file has ${bytes.length} bytes, more than the limit of ${limits.maxBytes} (maxBytes)`);
  }
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new E(`not a valid ONNX file (truncated or corrupted protobuf: ${errorText(e)})`);
  }
  const g = model.graph;
  if (!g) throw new E("not an ONNX model: no graph (is this an ONNX file?)");
  const opsets = (model.opset_import ?? []).filter((o) => !o.domain || o.domain === "ai.onnx");
  if (opsets.length === 0) throw new E("the model imports no version of the default ONNX opset");
  const opset = int64(opsets[0].version, "opset version");
  if (opset < MIN_IMPORT_OPSET || opset > MAX_IMPORT_OPSET) {
    throw new E(
      `opset ${opset} is not supported (${MIN_IMPORT_OPSET} to ${MAX_IMPORT_OPSET}; re-export with opset_version=17)`,
    );
  }
  const nodesRaw = g.node ?? [];
  if (nodesRaw.length > limits.maxNodes)
    throw new E(`${nodesRaw.length} nodes, more than the limit of ${limits.maxNodes}`);

  const initializers = new Map<string, ConstTensor>();
  for (const [i, t] of (g.initializer ?? []).entries()) {
    const name = t.name ?? "";
    if (!name) throw new E(`initializer ${i} has no name`);
    if (initializers.has(name)) throw new E(`two initializers are named "${name}"`);
    initializers.set(name, tensorOf(t, `initializer "${name}"`, limits));
  }
  const inputs = (g.input ?? [])
    .filter((v) => !initializers.has(v.name ?? ""))
    .map((v) => inputOf(v, "input", limits));
  const outputs = (g.output ?? []).map((v) => inputOf(v, "output", limits));
  if (outputs.length === 0) throw new E("the graph has no outputs");

  const nodes: OnnxNode[] = nodesRaw.map((n, i) => {
    const op = n.op_type ?? "";
    const name = n.name || `#${i}`;
    if (!op) throw new E(`node ${name} has no op_type`);
    if (n.domain && n.domain !== "ai.onnx") {
      throw new E(
        `node "${name}": op ${n.domain}::${op} is not supported (only the default ONNX domain, opset ${opset})`,
      );
    }
    const attrs = new Map<string, Attr>();
    for (const a of n.attribute ?? []) {
      const an = a.name ?? "";
      if (attrs.has(an)) throw new E(`node "${name}" (${op}): attribute "${an}" is given twice`);
      attrs.set(an, attrOf(a, `node "${name}" (${op}) attribute "${an}"`, limits));
    }
    return { op, name, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs };
  });
  return { opset, inputs, outputs, initializers, nodes };
}
