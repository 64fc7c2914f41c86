/** What a lowering is: the IR tensors it reads and how it writes ONNX nodes from their names. */
import type { Tensor } from "@adjoint/core";
import { fail } from "./batch-axis";
import type { AttributeProto } from "./schema";

export interface EmitContext {
  readonly opset: number;
  /** Adds a node; returns its output name (`out`, or a fresh name). */
  node(op: string, inputs: readonly string[], attrs?: AttributeProto[], out?: string): string;
  /** An int64 constant (shapes, axes, pads). */
  ints(values: readonly number[], dims?: readonly number[]): string;
  /** A float scalar constant. */
  float(value: number): string;
  /** A float constant tensor. */
  floats(values: ArrayLike<number>, dims: readonly number[]): string;
  /** The batch axis of a tensor when exporting with dynamicBatch (else null). */
  batchAxis(t: Tensor): number | null;
}

export interface Lowering {
  reads: readonly Tensor[];
  emit(ctx: EmitContext, inputs: readonly string[], out: string): void;
  /**
   * A pattern's batch-axis rule (dynamicBatch), from the axes of what it reads; throws via `fail` when it
   * would mix rows. Primitives have none: batch-axis.ts applies their op's rule.
   */
  batchAxis?(readAxes: readonly (number | null)[]): number | null;
}

export const attrInt = (name: string, i: number): AttributeProto => ({ name, type: 2, i });
export const attrFloat = (name: string, f: number): AttributeProto => ({ name, type: 1, f });
export const attrInts = (name: string, ints: readonly number[]): AttributeProto => ({
  name,
  type: 7,
  ints: [...ints],
});

/** The batch axis of a pattern that works along `over` axes of its input: kept, unless it is one of them. */
export function keepsBatch(t: Tensor, axis: number | null, over: readonly number[]): number | null {
  if (axis !== null && over.includes(axis)) fail(t, "works along the batch axis");
  return axis;
}
