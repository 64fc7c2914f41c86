import { Graph, type Tensor } from "@adjoint/core";
import { uniqueName } from "../graph-utils";
import type { Module } from "./module";

/** Options of {@link buildModel}. */
export interface BuildModelOptions {
  /** The shape of one sample, e.g. [784]. */
  inputShape: readonly number[];
  /** Rows per batch (the leading axis of the input). */
  batch: number;
  /** Build into this graph (default: the model's graph if it was built before, else a new one). */
  graph?: Graph;
  /** The new graph's seed (initializers, dropout masks); default 0. */
  seed?: number;
  /** The input's name (default "x", or "x_1", ... if taken). */
  inputName?: string;
}

/** What {@link buildModel} returns: the graph, its input and the model's output. */
export interface BuiltModel {
  graph: Graph;
  /** The input [batch, ...inputShape]. */
  x: Tensor;
  /** The model's output (logits, for a classifier). */
  y: Tensor;
}

/**
 * Builds a model for inputs of a given shape: a graph (the model's own if it already has one, so that
 * every build shares the same weights), an input x and the output y.
 */
export function buildModel(model: Module, options: BuildModelOptions): BuiltModel {
  const { inputShape, batch } = options;
  if (!Number.isInteger(batch) || batch < 1) {
    throw new Error(`buildModel: batch must be a whole number >= 1, got ${batch}`);
  }
  if (!Array.isArray(inputShape))
    throw new Error(`buildModel: inputShape must be an array, got ${inputShape}`);
  if (options.graph && model.graph && options.graph !== model.graph) {
    throw new Error("buildModel: the model is already built in another graph (its params live there)");
  }
  const graph = options.graph ?? model.graph ?? new Graph({ seed: options.seed ?? 0 });
  const x = graph.input(options.inputName ?? uniqueName(graph, "x"), [batch, ...inputShape]);
  const y = model.build(x);
  return { graph, x, y };
}
