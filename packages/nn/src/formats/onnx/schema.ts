/**
 * The ONNX protobuf schema, with protobufjs (the most used protobuf library for JavaScript, runs in the
 * browser and in Node alike): its light build loads the JSON descriptor generated from the official
 * onnx.proto (schema.generated.ts), so no .proto parser and no file access ship with the library.
 * Messages are plain objects with the schema's snake_case field names.
 */
import protobuf from "protobufjs/light.js";
import { ONNX_SCHEMA } from "./schema.generated";

export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } as const;
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** An int64 as protobufjs decodes it (a Long when the long package is present) or as we write it. */
export type Int64 = number | { toNumber(): number; toString(): string };

export interface TensorProto {
  dims?: Int64[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: Int64[];
  double_data?: number[];
  name?: string;
  raw_data?: Uint8Array;
  data_location?: number;
}
export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: Int64[];
}
export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: AttributeProto[];
}
export interface DimProto {
  dim_value?: Int64;
  dim_param?: string;
}
export interface ValueInfoProto {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: DimProto[] } } };
}
export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
}
export interface ModelProto {
  ir_version?: Int64;
  opset_import?: { domain?: string; version?: Int64 }[];
  producer_name?: string;
  producer_version?: string;
  graph?: GraphProto;
  doc_string?: string;
}

let modelType: protobuf.Type | null = null;

function model(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(ONNX_SCHEMA as protobuf.INamespace).lookupType("onnx.ModelProto");
  return modelType;
}

export function encodeModel(m: ModelProto): Uint8Array {
  const t = model();
  const err = t.verify(m);
  if (err) throw new Error(`the ModelProto does not fit the ONNX schema: ${err}`);
  return t.encode(t.fromObject(m)).finish();
}

/** Decodes; throws whatever protobufjs throws on malformed bytes (the importer wraps it). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return model().decode(bytes) as unknown as ModelProto;
}
