/**
 * Small tools over core's elementwise `Expr` trees, shared by the parser, the differentiator and the op
 * definition: substitution, free identifiers, a tiny evaluator (no eval, no `new Function`) and printing
 * with astring.
 */
import type { Expr } from "@adjoint/core";
import { generate } from "astring";

/** A value of the expression language: numbers, and booleans from comparisons (JS semantics). */
type Value = number | boolean;
type Compiled = (values: ArrayLike<number>) => Value;

/** −a as an ESTree (core's index exports the tensor op `neg` under that name, not estree's builder). */
export function negExpr(argument: Expr): Expr {
  return { type: "UnaryExpression", operator: "-", prefix: true, argument };
}

/** Replaces identifiers by expressions (parameters by operands); everything else is copied as is. */
export function substitute(expr: Expr, bindings: ReadonlyMap<string, Expr>): Expr {
  switch (expr.type) {
    case "Identifier":
      return bindings.get(expr.name) ?? expr;
    case "Literal":
      return expr;
    case "UnaryExpression":
      return { ...expr, argument: substitute(expr.argument, bindings) };
    case "BinaryExpression":
      return { ...expr, left: substitute(expr.left, bindings), right: substitute(expr.right, bindings) };
    case "LogicalExpression":
      return { ...expr, left: substitute(expr.left, bindings), right: substitute(expr.right, bindings) };
    case "ConditionalExpression":
      return {
        ...expr,
        test: substitute(expr.test, bindings),
        consequent: substitute(expr.consequent, bindings),
        alternate: substitute(expr.alternate, bindings),
      };
    case "CallExpression":
      // The callee is always Math.<f>: never substituted.
      return { ...expr, arguments: expr.arguments.map((a) => substitute(a, bindings)) };
    case "MemberExpression":
      return expr;
  }
}

/** The identifiers an expression reads (the `Math` of `Math.f(...)` is not counted). */
export function freeIdentifiers(expr: Expr, out = new Set<string>()): Set<string> {
  switch (expr.type) {
    case "Identifier":
      out.add(expr.name);
      break;
    case "Literal":
    case "MemberExpression":
      break;
    case "UnaryExpression":
      freeIdentifiers(expr.argument, out);
      break;
    case "BinaryExpression":
    case "LogicalExpression":
      freeIdentifiers(expr.left, out);
      freeIdentifiers(expr.right, out);
      break;
    case "ConditionalExpression":
      freeIdentifiers(expr.test, out);
      freeIdentifiers(expr.consequent, out);
      freeIdentifiers(expr.alternate, out);
      break;
    case "CallExpression":
      for (const a of expr.arguments) freeIdentifiers(a, out);
      break;
  }
  return out;
}

export function dependsOn(expr: Expr, name: string): boolean {
  return freeIdentifiers(expr).has(name);
}

/**
 * Turns a checked expression into a number function of the parameters' values, as a tree of closures: a
 * tiny evaluator with exactly JavaScript's semantics for the allowed constructs (booleans from
 * comparisons included), so the interpreter agrees with the code generator that inlines the same tree.
 */
export function compileExpr(expr: Expr, params: readonly string[]): (values: ArrayLike<number>) => number {
  const f = compileNode(expr, params);
  return (values) => Number(f(values));
}

function compileNode(expr: Expr, params: readonly string[]): Compiled {
  const c = (e: Expr) => compileNode(e, params);
  switch (expr.type) {
    case "Literal": {
      const v = expr.value;
      return () => v;
    }
    case "Identifier": {
      const i = params.indexOf(expr.name);
      if (i < 0)
        throw new Error(`custom op: unknown identifier "${expr.name}" (parameters: ${params.join(", ")})`);
      return (v) => v[i];
    }
    case "UnaryExpression": {
      const a = c(expr.argument);
      switch (expr.operator) {
        case "-":
          return (v) => -Number(a(v));
        case "+":
          return (v) => Number(a(v));
        case "!":
          return (v) => !a(v);
      }
      break;
    }
    case "BinaryExpression": {
      const l = c(expr.left);
      const r = c(expr.right);
      // Number() is what JS's operators do to booleans, except === and !== (which compare types too).
      switch (expr.operator) {
        case "+":
          return (v) => Number(l(v)) + Number(r(v));
        case "-":
          return (v) => Number(l(v)) - Number(r(v));
        case "*":
          return (v) => Number(l(v)) * Number(r(v));
        case "/":
          return (v) => Number(l(v)) / Number(r(v));
        case "%":
          return (v) => Number(l(v)) % Number(r(v));
        case "**":
          return (v) => Number(l(v)) ** Number(r(v));
        case "<":
          return (v) => Number(l(v)) < Number(r(v));
        case "<=":
          return (v) => Number(l(v)) <= Number(r(v));
        case ">":
          return (v) => Number(l(v)) > Number(r(v));
        case ">=":
          return (v) => Number(l(v)) >= Number(r(v));
        case "==":
          return (v) => Number(l(v)) === Number(r(v));
        case "!=":
          return (v) => Number(l(v)) !== Number(r(v));
        case "===":
          return (v) => l(v) === r(v);
        case "!==":
          return (v) => l(v) !== r(v);
        // Bitwise operators (int32): never produced by the parser, evaluated for completeness.
        case "&":
          return (v) => Number(l(v)) & Number(r(v));
        case "|":
          return (v) => Number(l(v)) | Number(r(v));
        case "^":
          return (v) => Number(l(v)) ^ Number(r(v));
        case "<<":
          return (v) => Number(l(v)) << Number(r(v));
        case ">>":
          return (v) => Number(l(v)) >> Number(r(v));
        case ">>>":
          return (v) => Number(l(v)) >>> Number(r(v));
      }
      break;
    }
    case "LogicalExpression": {
      const l = c(expr.left);
      const r = c(expr.right);
      return expr.operator === "&&" ? (v) => l(v) && r(v) : (v) => l(v) || r(v);
    }
    case "ConditionalExpression": {
      const t = c(expr.test);
      const a = c(expr.consequent);
      const b = c(expr.alternate);
      return (v) => (t(v) ? a(v) : b(v));
    }
    case "CallExpression": {
      const fn = mathFunctionOf(expr);
      const args = expr.arguments.map(c);
      if (args.length === 1) {
        const [a] = args;
        return (v) => fn(Number(a(v)));
      }
      if (args.length === 2) {
        const [a, b] = args;
        return (v) => fn(Number(a(v)), Number(b(v)));
      }
      return (v) => fn(...args.map((a) => Number(a(v))));
    }
    case "MemberExpression": {
      const value = mathConstantOf(expr);
      return () => value;
    }
  }
  throw new Error(`custom op: cannot evaluate ${generate(expr)}`);
}

function mathName(expr: Expr): string | undefined {
  if (expr.type !== "MemberExpression" || expr.computed) return undefined;
  if (expr.object.type !== "Identifier" || expr.object.name !== "Math") return undefined;
  return expr.property.type === "Identifier" ? expr.property.name : undefined;
}

function mathFunctionOf(expr: Expr & { type: "CallExpression" }): (...xs: number[]) => number {
  const name = mathName(expr.callee);
  const fn = name === undefined ? undefined : (Math as unknown as Record<string, unknown>)[name];
  if (typeof fn !== "function") throw new Error(`custom op: ${generate(expr.callee)} is not a Math function`);
  return fn as (...xs: number[]) => number;
}

function mathConstantOf(expr: Expr): number {
  const name = mathName(expr);
  const value = name === undefined ? undefined : (Math as unknown as Record<string, unknown>)[name];
  if (typeof value !== "number") throw new Error(`custom op: ${generate(expr)} is not a Math constant`);
  return value;
}

/** JS source of an expression, printed from the tree with astring. */
export function printExpr(expr: Expr): string {
  return generate(expr);
}

/** `x => ...` / `(x, y) => ...`: the op as an arrow function (parseElementwise reads it back). */
export function printFunction(params: readonly string[], body: Expr): string {
  const arrow = {
    type: "ArrowFunctionExpression",
    params: params.map((name) => ({ type: "Identifier", name })),
    body,
    expression: true,
    async: false,
    generator: false,
  };
  return generate(arrow);
}
