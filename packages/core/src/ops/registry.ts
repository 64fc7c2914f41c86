import type { Expr } from "../estree";
import type { Shape } from "../shape";
import type { Attrs, Tensor } from "../tensor";

/** What kind of op a definition is; the compiler schedules each kind its own way. */
export type OpKind = "leaf" | "elementwise" | "reduce" | "matmul" | "layout" | "update";

/**
 * Everything about one op, in one place: its shape rule, its reference semantics (float64, plain and
 * obviously correct) and its VJP rule, written with differentiable ops of the IR so that gradients of
 * gradients work. An op without a VJP is not differentiable: its result does not require grad.
 */
export interface OpDef {
  readonly name: string;
  readonly kind: OpKind;
  /** Attributes that may be ±Infinity (pad's fill value); every other number attribute must be finite. */
  readonly infiniteAttrs?: readonly string[];
  /** The output shape for these input shapes and attributes; throws a ShapeError on bad operands. */
  shape(inputs: readonly Shape[], attrs: Attrs): Shape;
  /** The float64 reference semantics: the output values from the input values. */
  evaluate(inputs: readonly Float64Array[], node: Tensor): Float64Array;
  /**
   * Cotangents of the inputs given the cotangent `g` of the output (null: zero). A cotangent may have the
   * output's broadcast shape: grad sums it back to the input's shape.
   */
  vjp?(g: Tensor, node: Tensor): readonly (Tensor | null)[];
}

/** An elementwise op also states its scalar formula, twice: as a number function and as an ESTree. */
export interface ElementwiseDef extends OpDef {
  readonly kind: "elementwise";
  readonly arity: number;
  /** The formula on one element (y is ignored by unary ops), in float64. */
  scalar(x: number, y: number, attrs: Attrs): number;
  /** The formula as an ESTree expression over the operands' element expressions, for generated code. */
  js(args: readonly Expr[], attrs: Attrs): Expr;
}

const registry = new Map<string, OpDef>();

/** Registers an op definition (a name may be defined once). */
export function defineOp<T extends OpDef>(def: T): T {
  if (registry.has(def.name)) throw new Error(`op "${def.name}" is defined twice`);
  registry.set(def.name, def);
  return def;
}

/** The definition of a registered op (an error naming unknown ones). */
export function getOp(name: string): OpDef {
  const def = registry.get(name);
  if (!def) throw new Error(`unknown op "${name}"`);
  return def;
}

export function hasOp(name: string): boolean {
  return registry.has(name);
}

/** Whether an op definition is elementwise (and so has scalar and js formulas). */
export function isElementwise(def: OpDef): def is ElementwiseDef {
  return def.kind === "elementwise";
}

/** Every registered op definition. */
export function allOps(): OpDef[] {
  return [...registry.values()];
}
