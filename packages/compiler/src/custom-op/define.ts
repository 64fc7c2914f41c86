/**
 * defineElementwise: a user-defined elementwise op from a JS formula. The formula is parsed and checked
 * (parse.ts), registered with core as an ordinary elementwise op (so the compiler fuses it like any
 * other: `js` inlines the checked tree) and differentiated symbolically (differentiate.ts): each partial
 * derivative is itself a custom op ("swish'0"), created on first use and cached, so grad of grad works.
 */
import {
  type Attrs,
  broadcastIndexMap,
  broadcastShapes,
  defineOp,
  type ElementwiseDef,
  type Expr,
  getOp,
  type Shape,
  sameShape,
  sizeOf,
  Tensor,
} from "@adjoint/core";
import { differentiate, isConstant } from "./differentiate";
import { compileExpr, printExpr, printFunction, substitute } from "./expr";
import { parseElementwise } from "./parse";

/** A user-defined elementwise op: call it on tensors (or numbers, lifted to constants). */
export interface CustomElementwiseOp {
  (...operands: (Tensor | number)[]): Tensor;
  /** The op's name in the graph ("swish", or "swish'0" for a derivative). */
  readonly opName: string;
  readonly params: readonly string[];
  readonly arity: number;
  /** The checked formula, with the parameters as identifiers. */
  readonly body: Expr;
  /** The op registered with core. */
  readonly def: ElementwiseDef;
  /** The formula as JS source printed from the checked tree, e.g. "x => x / (1 + Math.exp(-x))". */
  toSource(): string;
  /** A one-line description, e.g. "swish(x) = x / (1 + Math.exp(-x))". */
  describe(): string;
  /** The value for one set of operand values (float64). */
  evaluateScalar(...values: number[]): number;
  /** ∂/∂params[i] as a simplified formula. */
  partial(i: number): Expr;
  /** The op computing ∂/∂params[i] (named `${opName}'${i}`), registered on first use and cached. */
  derivative(i: number): CustomElementwiseOp;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Every custom op (user-defined and derived), by name. */
const customOps = new Map<string, CustomElementwiseOp>();

function opExists(name: string): boolean {
  try {
    getOp(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Defines an elementwise op from a formula: `defineElementwise("swish", "x => x / (1 + Math.exp(-x))")`
 * or from a function (through its source). One operand per parameter, broadcast as in NumPy.
 */
export function defineElementwise(name: string, source: string | Function): CustomElementwiseOp {
  const context = `defineElementwise(${JSON.stringify(name)})`;
  if (typeof name !== "string" || !IDENTIFIER.test(name)) {
    throw new Error(
      `${context}: the name must be an identifier (letters, digits, _ and $, not starting with a digit)`,
    );
  }
  if (opExists(name)) throw new Error(`${context}: an op named "${name}" already exists`);
  const { params, body } = parseElementwise(source, { context });
  return register(name, params, body);
}

/** Flat index into a broadcast operand (as core's elementwise indexer). */
function indexer(src: Shape, out: Shape): (i: number) => number {
  if (sameShape(src, out)) return (i) => i;
  if (sizeOf(src) === 1) return () => 0;
  const map = broadcastIndexMap(src, out);
  return (i) => map[i];
}

/** The custom op of that name (user-defined or derived), if any. */
export function getCustomOp(name: string): CustomElementwiseOp | undefined {
  return customOps.get(name);
}

function register(name: string, params: readonly string[], body: Expr): CustomElementwiseOp {
  const arity = params.length;
  const fn = compileExpr(body, params);
  const partials: (Expr | undefined)[] = new Array(arity);
  const derived: (CustomElementwiseOp | undefined)[] = new Array(arity);

  const checkIndex = (i: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= arity) {
      throw new RangeError(`${name}: no parameter ${i} (the op takes ${params.join(", ")})`);
    }
  };
  const partial = (i: number): Expr => {
    checkIndex(i);
    partials[i] ??= differentiate(body, params[i]);
    return partials[i];
  };
  const derivative = (i: number): CustomElementwiseOp => {
    checkIndex(i);
    if (!derived[i]) {
      const dname = `${name}'${i}`;
      derived[i] = customOps.get(dname) ?? register(dname, params, partial(i));
    }
    return derived[i];
  };

  const def = defineOp<ElementwiseDef>({
    name,
    kind: "elementwise",
    arity,
    shape(inputs: readonly Shape[]) {
      if (inputs.length !== arity) {
        throw new Error(`${name}: expected ${arity} operand${arity === 1 ? "" : "s"}, got ${inputs.length}`);
      }
      return inputs.reduce((a, b) => broadcastShapes(name, a, b));
    },
    // ElementwiseDef's scalar has room for two operands. With three or more it cannot see them all: it
    // answers NaN (so constant folding, which keeps finite results only, leaves the node alone) and
    // evaluateScalar takes every operand.
    scalar(x: number, y: number, _attrs: Attrs) {
      if (arity > 2) return Number.NaN;
      return fn(arity === 1 ? [x] : [x, y]);
    },
    js(args: readonly Expr[]) {
      if (args.length !== arity) {
        throw new Error(`${name}: js() expected ${arity} argument expressions, got ${args.length}`);
      }
      return substitute(body, new Map(params.map((p, i) => [p, args[i]])));
    },
    evaluate(inputs, node) {
      const n = sizeOf(node.shape);
      const out = new Float64Array(n);
      const index = node.inputs.map((t) => indexer(t.shape, node.shape));
      const values = new Float64Array(arity);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < arity; k++) values[k] = inputs[k][index[k](i)];
        out[i] = fn(values);
      }
      return out;
    },
    // g · ∂f/∂xᵢ, the partial being a custom op itself (so it differentiates again); constants fold.
    vjp(g, node) {
      return node.inputs.map((input, i) => {
        if (!input.requiresGrad) return null;
        const d = partial(i);
        if (isConstant(d)) {
          const c = compileExpr(d, [])([]);
          if (c === 0) return null;
          if (Number.isFinite(c)) return c === 1 ? g : g.mul(c);
        }
        return g.mul(derivative(i)(...node.inputs));
      });
    },
  });

  const op = (...operands: (Tensor | number)[]): Tensor => {
    if (operands.length !== arity) {
      throw new Error(
        `${name}: expected ${arity} operand${arity === 1 ? "" : "s"} (${params.join(", ")}), got ${operands.length}`,
      );
    }
    const like = operands.find((x): x is Tensor => x instanceof Tensor);
    if (!like) {
      throw new TypeError(
        `${name}: at least one operand must be a Tensor (got ${operands.map(String).join(", ")})`,
      );
    }
    const inputs = operands.map((x) => {
      if (x instanceof Tensor) return x;
      if (typeof x !== "number")
        throw new TypeError(`${name}: operand ${String(x)} is not a Tensor or a number`);
      return like.graph.scalar(x);
    });
    return like.graph.addNode(name, inputs);
  };
  Object.defineProperty(op, "name", { value: name });
  const custom: CustomElementwiseOp = Object.assign(op, {
    opName: name,
    params: Object.freeze([...params]),
    arity,
    body,
    def,
    toSource: () => printFunction(params, body),
    describe: () => `${name}(${params.join(", ")}) = ${printExpr(body)}`,
    evaluateScalar(...values: number[]) {
      if (values.length !== arity) throw new Error(`${name}: expected ${arity} values, got ${values.length}`);
      return fn(values);
    },
    partial,
    derivative,
  });
  customOps.set(name, custom);
  return custom;
}
