/** What fit minimizes and measures: the loss by name, the objective built into the graph, and accuracy. */
import type { Graph, Tensor } from "@adjoint/core";
import { type Dataset, shapeSize } from "../data/dataset";
import { uniqueName } from "../graph-utils";
import { binaryCrossEntropyWithLogits, crossEntropy, mseLoss } from "../losses";
import type { Module } from "../modules/module";
import type { FitOptions } from "./options";

/** The loss function for a name, fitting targets to the output's shape where only the layout differs. */
export function lossFunction(loss: FitOptions["loss"]): (y: Tensor, t: Tensor) => Tensor {
  if (typeof loss === "function") return loss;
  const fit = (y: Tensor, t: Tensor) =>
    y.shape.join() !== t.shape.join() && y.size === t.size ? t.reshape(y.shape) : t;
  switch (loss) {
    case "crossEntropy":
      return (y, t) => crossEntropy(y, t);
    case "mse":
      return (y, t) => mseLoss(y, fit(y, t));
    case "bce":
      return (y, t) => binaryCrossEntropyWithLogits(y, fit(y, t));
    default:
      throw new Error(
        `fit: loss must be "crossEntropy", "mse", "bce" or a function, got ${JSON.stringify(loss)}`,
      );
  }
}

/** One build of the model for `rows` rows: the names of its inputs and the tensors a kernel outputs. */
export interface Built {
  x: string;
  t: string;
  kernelOutputs: { loss: Tensor; y: Tensor };
}

export function buildObjective(
  model: Module,
  g: Graph,
  rows: number,
  ds: Dataset,
  lossFn: (y: Tensor, t: Tensor) => Tensor,
  penalty: FitOptions["penalty"],
): Built {
  const x = g.input(uniqueName(g, "x"), [rows, ...ds.xShape]);
  const t = g.input(uniqueName(g, "t"), [rows, ...ds.yShape]);
  const y = model.build(x);
  let loss = lossFn(y, t);
  if (loss?.size !== 1) throw new Error(`fit: the loss must be a scalar tensor, got ${loss?.describe()}`);
  if (penalty) {
    const p = penalty(model.parameters());
    if (p?.size !== 1) throw new Error(`fit: penalty must return a scalar tensor, got ${p?.describe()}`);
    loss = loss.add(p.reshape(loss.shape));
  }
  return { x: x.name!, t: t.name!, kernelOutputs: { loss, y } };
}

export type AccuracyKind = "classIndex" | "probabilities" | "binary" | null;

export function accuracyKind(
  option: FitOptions["accuracy"],
  loss: FitOptions["loss"],
  y: Tensor,
  ds: Dataset,
): AccuracyKind {
  if (option === false) return null;
  const perRow = y.rank >= 1 && y.shape[0] > 0 ? y.size / y.shape[0] : 1;
  const ySize = shapeSize(ds.yShape);
  let kind: AccuracyKind = null;
  if (loss === "bce") {
    if (perRow === 1 && ySize === 1) kind = "binary";
  } else if ((loss !== "mse" || option === true) && y.rank === 2 && perRow > 1) {
    if (ds.yShape.length === 0) kind = "classIndex";
    else if (ySize === perRow) kind = "probabilities";
  }
  if (option === true && kind === null) {
    throw new Error(
      `fit: accuracy: cannot tell classes from an output [${y.shape.join(",")}] and targets of shape [${ds.yShape.join(",")}]`,
    );
  }
  return kind;
}

/** Correct predictions among `count` rows. */
export function countCorrect(
  kind: AccuracyKind,
  y: Float32Array,
  t: Float32Array,
  count: number,
  classes: number,
): number {
  let correct = 0;
  for (let r = 0; r < count; r++) {
    if (kind === "binary") {
      if (y[r] > 0 === t[r] > 0.5) correct++;
      continue;
    }
    let best = 0;
    for (let c = 1; c < classes; c++) if (y[r * classes + c] > y[r * classes + best]) best = c;
    let label: number;
    if (kind === "classIndex") {
      label = t[r];
    } else {
      label = 0;
      for (let c = 1; c < classes; c++) if (t[r * classes + c] > t[r * classes + label]) label = c;
    }
    if (best === label) correct++;
  }
  return correct;
}
