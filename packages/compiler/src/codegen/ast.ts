/**
 * ESTree statement builders for codegen (expressions come from core's estree.ts). The generated
 * function is built as a tree and printed by astring; nothing is glued together from strings, and the
 * only text that reaches a comment is sanitized (see `note`).
 */
import { bin, type Expr, id, index, num } from "@adjoint/core";

export type Stmt = Record<string, unknown> & { type: string; comments?: Comment[] };
type Comment = { type: "Line"; value: string };

export const F = id("F");

export function load(floatIndex: Expr): Expr {
  return index(F, floatIndex);
}

/** base + Σ vars[d]·strides[d], folded: zero strides vanish, unit strides need no multiply. */
export function affine(base: number, vars: readonly Expr[], strides: readonly number[]): Expr {
  let e: Expr | null = base !== 0 ? num(base) : null;
  vars.forEach((v, d) => {
    const s = strides[d];
    if (s === 0) return;
    const term = s === 1 ? v : bin("*", v, num(s));
    e = e ? bin("+", e, term) : term;
  });
  return e ?? num(0);
}

export function constDecl(name: string, init: Expr): Stmt {
  return {
    type: "VariableDeclaration",
    kind: "const",
    declarations: [{ type: "VariableDeclarator", id: id(name), init }],
  };
}

export function letDecl(name: string, init: Expr): Stmt {
  return {
    type: "VariableDeclaration",
    kind: "let",
    declarations: [{ type: "VariableDeclarator", id: id(name), init }],
  };
}

export function assign(target: Expr, value: Expr, operator = "="): Stmt {
  return {
    type: "ExpressionStatement",
    expression: { type: "AssignmentExpression", operator, left: target, right: value },
  };
}

export function block(body: Stmt[]): Stmt {
  return { type: "BlockStatement", body };
}

/** for (let v = from; v < to; v += step) body */
export function forLoop(v: string, from: Expr, to: Expr, body: Stmt[], step = 1): Stmt {
  return {
    type: "ForStatement",
    init: letDecl(v, from),
    test: bin("<", id(v), to),
    update:
      step === 1
        ? { type: "UpdateExpression", operator: "++", prefix: false, argument: id(v) }
        : { type: "AssignmentExpression", operator: "+=", left: id(v), right: num(step) },
    body: block(body),
  };
}

/** Nested loops over `dims` with variables `${prefix}0..`; `inner` gets the loop variables. */
export function loopNest(prefix: string, dims: readonly number[], inner: (vars: Expr[]) => Stmt[]): Stmt[] {
  const vars = dims.map((_, d) => id(`${prefix}${d}`));
  let body = inner(vars);
  for (let d = dims.length - 1; d >= 0; d--) body = [forLoop(`${prefix}${d}`, num(0), num(dims[d]), body)];
  return body;
}

/** loopNest over explicit [from, to) ranges (a thread's share of a loop): constants or expressions. */
export function rangeNest(
  prefix: string,
  ranges: readonly (readonly [number | Expr, number | Expr])[],
  inner: (vars: Expr[]) => Stmt[],
): Stmt[] {
  const vars = ranges.map((_, d) => id(`${prefix}${d}`));
  const bound = (b: number | Expr) => (typeof b === "number" ? num(b) : b);
  let body = inner(vars);
  for (let d = ranges.length - 1; d >= 0; d--)
    body = [forLoop(`${prefix}${d}`, bound(ranges[d][0]), bound(ranges[d][1]), body)];
  return body;
}

export function ifStmt(test: Expr, consequent: Stmt[], alternate?: Stmt[]): Stmt {
  return {
    type: "IfStatement",
    test,
    consequent: block(consequent),
    alternate: alternate ? block(alternate) : null,
  };
}

export function ret(argument: Expr): Stmt {
  return { type: "ReturnStatement", argument };
}

export function exprStmt(expression: Expr): Stmt {
  return { type: "ExpressionStatement", expression };
}

/** Attaches line comments (sanitized: no line breaks, so no text can escape a comment). */
export function note<T extends Stmt>(stmt: T, ...lines: string[]): T {
  stmt.comments = [
    ...(stmt.comments ?? []),
    ...lines.map((l) => ({ type: "Line" as const, value: ` ${sanitize(l)}` })),
  ];
  return stmt;
}

export function sanitize(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]/g, " ").replace(/[^\x20-\x7e\u00a0-\uffff]/g, "?");
}

export function call(callee: Expr, args: Expr[] = []): Expr {
  return { type: "CallExpression", callee, arguments: args, optional: false } as unknown as Expr;
}
