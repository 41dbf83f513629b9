// Reads and writes ONNX model files with protobufjs from the minimal subset of the ONNX IR that
// Nova needs (model, graph, node, attribute, tensor, value info). The schema text is embedded so
// nothing is fetched; field numbers follow onnx/onnx.proto (IR version 8), which is stable.
import protobuf from 'protobufjs';

const ONNX_SUBSET_PROTO = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  optional string name = 1;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}
`;

/** TensorProto.DataType numbers of the element types Nova writes or reads back. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

const root = protobuf.parse(ONNX_SUBSET_PROTO, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');

export interface OnnxValueInfo {
  name: string;
  /** TensorProto.DataType of the elements (1 = float32). */
  elemType: number;
  /** A number for a fixed dimension, a string for a symbolic one (e.g. "batch"). */
  shape: Array<number | string>;
}

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** Integer, float or int-list attributes, the only kinds Nova's graphs use. */
  attributes?: Record<string, { int: number } | { float: number } | { ints: number[] }>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array;
}

export interface OnnxModel {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  modelVersion: number;
  docString: string;
  graphName: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  metadata: Record<string, string>;
}

function valueInfo(v: OnnxValueInfo): object {
  return {
    name: v.name,
    type: {
      tensor_type: {
        elem_type: v.elemType,
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function attribute(name: string, a: NonNullable<OnnxNode['attributes']>[string]): object {
  if ('int' in a) return { name, type: 2, i: a.int };
  if ('float' in a) return { name, type: 1, f: a.float };
  return { name, type: 7, ints: a.ints };
}

/** Serialises a model; float initializers are stored as little-endian raw_data. */
export function encodeOnnxModel(m: OnnxModel): Uint8Array {
  const message = {
    ir_version: m.irVersion,
    opset_import: [{ domain: '', version: m.opsetVersion }],
    producer_name: m.producerName,
    producer_version: m.producerVersion,
    model_version: m.modelVersion,
    doc_string: m.docString,
    metadata_props: Object.entries(m.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: m.graphName,
      node: m.nodes.map((n, i) => ({
        name: n.name ?? `${n.opType.toLowerCase()}_${i}`,
        op_type: n.opType,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([k, a]) => attribute(k, a)),
      })),
      initializer: m.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        data_type: ONNX_FLOAT,
        raw_data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      })),
      input: m.inputs.map(valueInfo),
      output: m.outputs.map(valueInfo),
    },
  };
  const err = ModelProto.verify(message);
  if (err) throw new Error(`invalid ONNX model: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(message)).finish();
}

interface DecodedTensor {
  name?: string;
  dims?: number[];
  data_type?: number;
  float_data?: number[];
  raw_data?: Uint8Array;
}

interface DecodedValueInfo {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: Array<{ dim_value?: number; dim_param?: string }> } } };
}

function floatData(t: DecodedTensor): Float32Array {
  if (t.raw_data && t.raw_data.byteLength > 0) {
    // Copy: the decoded buffer's offset need not be 4-byte aligned.
    const copy = new Uint8Array(t.raw_data);
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  return Float32Array.from(t.float_data ?? []);
}

function readValueInfo(v: DecodedValueInfo): OnnxValueInfo {
  const tt = v.type?.tensor_type;
  return {
    name: v.name ?? '',
    elemType: tt?.elem_type ?? 0,
    shape: (tt?.shape?.dim ?? []).map((d) => (d.dim_param !== undefined && d.dim_param !== '' ? d.dim_param : Number(d.dim_value ?? 0))),
  };
}

/** Parses a model file. Only float initializers are returned (the ones Nova's models hold). */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModel {
  const obj = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false, arrays: true }) as {
    ir_version?: number;
    opset_import?: Array<{ domain?: string; version?: number }>;
    producer_name?: string;
    producer_version?: string;
    model_version?: number;
    doc_string?: string;
    metadata_props?: Array<{ key?: string; value?: string }>;
    graph?: {
      name?: string;
      node?: Array<{ op_type?: string; input?: string[]; output?: string[]; name?: string }>;
      initializer?: DecodedTensor[];
      input?: DecodedValueInfo[];
      output?: DecodedValueInfo[];
    };
  };
  const g = obj.graph ?? {};
  const initNames = new Set((g.initializer ?? []).map((t) => t.name));
  return {
    irVersion: obj.ir_version ?? 0,
    opsetVersion: (obj.opset_import ?? []).find((o) => !o.domain)?.version ?? 0,
    producerName: obj.producer_name ?? '',
    producerVersion: obj.producer_version ?? '',
    modelVersion: obj.model_version ?? 0,
    docString: obj.doc_string ?? '',
    graphName: g.name ?? '',
    // Older exporters list initializers among the inputs too; they are not real inputs.
    inputs: (g.input ?? []).filter((v) => !initNames.has(v.name)).map(readValueInfo),
    outputs: (g.output ?? []).map(readValueInfo),
    nodes: (g.node ?? []).map((n) => ({ opType: n.op_type ?? '', inputs: n.input ?? [], outputs: n.output ?? [], name: n.name })),
    initializers: (g.initializer ?? [])
      .filter((t) => (t.data_type ?? ONNX_FLOAT) === ONNX_FLOAT)
      .map((t) => ({ name: t.name ?? '', dims: (t.dims ?? []).map(Number), data: floatData(t) })),
    metadata: Object.fromEntries((obj.metadata_props ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
  };
}
