/**
 * What an op builder sees while importing one node: its inputs as values (tensors of the scratch graph,
 * or constants not yet made into leaves), its checked attributes, and failures that name the node.
 */
import type { Graph, Tensor } from "@adjoint/core";
import { OnnxImportError } from "./errors";
import type { Attr, ConstTensor, OnnxNode } from "./import-model";

/** A value of the ONNX graph: a tensor, or a constant (an initializer or a Constant node's value). */
export type Value = { kind: "tensor"; t: Tensor } | { kind: "const"; c: ConstTensor; initializer?: string };

/** Builds one ONNX node: its output values, in order (import-ops.ts, import-shape.ts, import-conv.ts). */
export type Builder = (ctx: NodeContext) => Value[];

export interface LeafFactory {
  /** The leaf of an initializer (made once): a param (trainable unless frozen) or a constant. */
  initializer(name: string, c: ConstTensor, frozen: boolean): Tensor;
}

export class NodeContext {
  private readonly readAttrs = new Set<string>();

  constructor(
    readonly g: Graph,
    readonly opset: number,
    readonly node: OnnxNode,
    private readonly values: readonly (Value | null)[],
    private readonly leaves: LeafFactory,
  ) {}

  fail(message: string): OnnxImportError {
    return new OnnxImportError(`node "${this.node.name}" (${this.node.op}, opset ${this.opset}): ${message}`);
  }

  get inputCount(): number {
    return this.values.length;
  }

  has(i: number): boolean {
    return this.values[i] !== null && this.values[i] !== undefined;
  }

  value(i: number): Value {
    const v = this.values[i];
    if (!v) throw this.fail(`input ${i} is required`);
    return v;
  }

  /** Input i as a tensor; an initializer becomes a param (frozen: one gradients never update). */
  tensor(i: number, options: { frozen?: boolean } = {}): Tensor {
    const v = this.value(i);
    if (v.kind === "tensor") return v.t;
    if (v.c.dtype !== "float") {
      throw this.fail(
        `input ${i} ("${this.node.inputs[i]}") is an int64 tensor, where float data is expected`,
      );
    }
    if (v.initializer !== undefined)
      return this.leaves.initializer(v.initializer, v.c, options.frozen ?? false);
    const data = v.c.data as Float32Array;
    return v.c.dims.length === 0 ? this.g.scalar(data[0]) : this.g.constant(data, v.c.dims);
  }

  /** Input i as constant int64 values (a shape, axes, pads): it must not depend on the graph's inputs. */
  ints(i: number): number[] {
    const v = this.value(i);
    if (v.kind !== "const") throw this.fail(`input ${i} ("${this.node.inputs[i]}") must be a constant`);
    if (v.c.dtype !== "int") throw this.fail(`input ${i} ("${this.node.inputs[i]}") must be int64`);
    return [...(v.c.data as readonly number[])];
  }

  /** Input i as a constant float scalar (an exponent). */
  scalar(i: number): number {
    const v = this.value(i);
    if (v.kind !== "const" || v.c.data.length !== 1) {
      throw this.fail(`input ${i} ("${this.node.inputs[i]}") must be a constant scalar`);
    }
    return Number(v.c.data[0]);
  }

  /** Declares the attributes this builder understands: any other one is an error (never ignored). */
  allow(...names: string[]): void {
    for (const n of names) this.readAttrs.add(n);
    for (const n of this.node.attrs.keys()) {
      if (!this.readAttrs.has(n)) throw this.fail(`attribute "${n}" is not supported`);
    }
  }

  private attr(name: string, kind: Attr["kind"]): Attr | undefined {
    const a = this.node.attrs.get(name);
    if (a && a.kind !== kind) throw this.fail(`attribute "${name}" must be ${kind}, got ${a.kind}`);
    return a;
  }

  int(name: string, fallback: number, allowed?: readonly number[]): number {
    const a = this.attr(name, "int");
    const v = a ? (a.value as number) : fallback;
    if (allowed && !allowed.includes(v)) {
      throw this.fail(`attribute ${name} = ${v} is not supported (supported: ${allowed.join(", ")})`);
    }
    return v;
  }

  float(name: string, fallback: number): number {
    const a = this.attr(name, "float");
    const v = a ? (a.value as number) : fallback;
    if (!Number.isFinite(v)) throw this.fail(`attribute ${name} = ${v} is not finite`);
    return v;
  }

  intList(name: string): number[] | undefined {
    const a = this.attr(name, "ints");
    return a ? [...(a.value as number[])] : undefined;
  }

  string(name: string, fallback: string): string {
    const a = this.attr(name, "string");
    return a ? (a.value as string) : fallback;
  }

  /** An axis attribute or value, checked against a rank and made non-negative. */
  axis(a: number, rank: number, what = "axis"): number {
    if (!Number.isInteger(a) || a < -rank || a >= Math.max(rank, 1)) {
      throw this.fail(`${what} ${a} is out of range for rank ${rank}`);
    }
    return a < 0 ? a + rank : a;
  }
}
