/**
 * Tiny builders for the ESTree expressions that elementwise ops give the code generator. Each
 * elementwise op states its scalar formula once as an expression tree; codegen inlines it into fused
 * loops and astring prints it. No code is ever glued together from strings.
 */
export type Expr =
  | { type: "Literal"; value: number }
  | { type: "Identifier"; name: string }
  | { type: "UnaryExpression"; operator: "-" | "+" | "!"; prefix: true; argument: Expr }
  | { type: "BinaryExpression"; operator: BinaryOp; left: Expr; right: Expr }
  | { type: "LogicalExpression"; operator: "&&" | "||"; left: Expr; right: Expr }
  | { type: "ConditionalExpression"; test: Expr; consequent: Expr; alternate: Expr }
  | { type: "CallExpression"; callee: MemberExpr; arguments: Expr[]; optional: false }
  | MemberExpr;

/** An ESTree member expression (`a.b`, `a[i]`). */
export type MemberExpr = {
  type: "MemberExpression";
  object: Expr;
  property: Expr;
  computed: boolean;
  optional: false;
};

/** The binary operators generated code and elementwise formulas may use. */
export type BinaryOp =
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "**"
  | "<"
  | "<="
  | ">"
  | ">="
  | "==="
  | "!=="
  | "=="
  | "!="
  // Bitwise (int32 semantics): integer hashing, e.g. the counter-based RNG of ops/random.ts.
  | "^"
  | "|"
  | "&"
  | "<<"
  | ">>"
  | ">>>";

/** Math functions an elementwise formula may call (also the whitelist for user-defined ops). */
export const MATH_FUNCTIONS = new Set([
  "abs",
  "acos",
  "acosh",
  "asin",
  "asinh",
  "atan",
  "atan2",
  "atanh",
  "cbrt",
  "ceil",
  "cos",
  "cosh",
  "exp",
  "expm1",
  "floor",
  "fround",
  "hypot",
  "log",
  "log10",
  "log1p",
  "log2",
  "max",
  "min",
  "pow",
  "round",
  "sign",
  "sin",
  "sinh",
  "sqrt",
  "tan",
  "tanh",
  "trunc",
]);
/** Math constants an elementwise formula may read (Math.PI, ...). */
export const MATH_CONSTANTS = new Set(["E", "PI", "LN2", "LN10", "LOG2E", "LOG10E", "SQRT1_2", "SQRT2"]);

/** An ESTree numeric literal (negative numbers as a unary minus). */
export function num(value: number): Expr {
  // ESTree literals print finite numbers only: astring would write Infinity as null.
  if (Number.isNaN(value)) return id("NaN");
  if (value === Number.POSITIVE_INFINITY) return id("Infinity");
  if (value === Number.NEGATIVE_INFINITY) return neg(id("Infinity"));
  if (value < 0 || Object.is(value, -0))
    return { type: "UnaryExpression", operator: "-", prefix: true, argument: num(-value) };
  return { type: "Literal", value };
}
/** An ESTree identifier. */
export function id(name: string): Expr {
  return { type: "Identifier", name };
}
/** An ESTree binary expression. */
export function bin(operator: BinaryOp, left: Expr, right: Expr): Expr {
  return { type: "BinaryExpression", operator, left, right };
}
/** An ESTree logical expression (&&, ||). */
export function logical(operator: "&&" | "||", left: Expr, right: Expr): Expr {
  return { type: "LogicalExpression", operator, left, right };
}
/** An ESTree unary minus. */
export function neg(argument: Expr): Expr {
  return { type: "UnaryExpression", operator: "-", prefix: true, argument };
}
/** An ESTree conditional expression (test ? a : b). */
export function cond(test: Expr, consequent: Expr, alternate: Expr): Expr {
  return { type: "ConditionalExpression", test, consequent, alternate };
}
/** An ESTree property access, object.property. */
export function member(object: Expr, property: string): MemberExpr {
  return { type: "MemberExpression", object, property: id(property), computed: false, optional: false };
}
/** An ESTree computed member access, object[i]. */
export function index(object: Expr, i: Expr): MemberExpr {
  return { type: "MemberExpression", object, property: i, computed: true, optional: false };
}
/** A call of Math.fn(...args). */
export function math(fn: string, ...args: Expr[]): Expr {
  if (!MATH_FUNCTIONS.has(fn)) throw new Error(`estree: Math.${fn} is not an allowed Math function`);
  return { type: "CallExpression", callee: member(id("Math"), fn), arguments: args, optional: false };
}
