/**
 * Reads the JS source of a user-defined elementwise op with acorn and checks it against a small
 * whitelist: the parameters, number literals, unary - + !, arithmetic (+ - * / % **), comparisons,
 * && ||, ternaries and Math.<function>(...) / Math.<constant>. Anything else is refused with an error
 * naming the construct and its line:column (1-based, as editors show). The checked tree is rebuilt as core's `Expr` (estree.ts):
 * the user's string itself is never evaluated.
 */
import { bin, cond, type Expr, id, MATH_CONSTANTS, MATH_FUNCTIONS, math, num } from "@adjoint/core";
import type { AnyNode, Expression, Pattern } from "acorn";
import { parseExpressionAt, tokenizer } from "acorn";
import { negExpr as neg } from "./expr";

export interface ParsedElementwise {
  /** The parameter names, in order: one per operand. */
  readonly params: readonly string[];
  /** The body, with the parameters as identifiers. */
  readonly body: Expr;
}

export interface ParseOptions {
  /** Prefixes error messages, e.g. `defineElementwise("swish")`. */
  context?: string;
}

/** Math functions with a fixed number of arguments other than 1 (hypot, max, min take one or more). */
const MATH_ARITY: Readonly<Record<string, number>> = { atan2: 2, pow: 2 };
const VARIADIC = new Set(["hypot", "max", "min"]);

const ARITHMETIC = new Set(["+", "-", "*", "/", "%", "**"]);
const COMPARISONS = new Set(["<", "<=", ">", ">=", "===", "!==", "==", "!="]);

const ACORN_OPTIONS = { ecmaVersion: "latest", locations: true } as const;

/** Parses and checks `source` (a string, or a function through its `.toString()`). */
export function parseElementwise(source: string | Function, options: ParseOptions = {}): ParsedElementwise {
  const context = options.context ?? "parseElementwise";
  let text: string;
  if (typeof source === "function") text = Function.prototype.toString.call(source);
  else if (typeof source === "string") text = source;
  else throw new TypeError(`${context}: the source must be a string or a function, got ${typeof source}`);
  return new Checker(text, context).run();
}

type Loc = { start: number; loc?: { start: { line: number; column: number } } | null };

class Checker {
  private params: string[] = [];

  constructor(
    private readonly src: string,
    private readonly context: string,
  ) {}

  run(): ParsedElementwise {
    if (/\{\s*\[native code\]\s*\}\s*$/.test(this.src)) {
      throw new Error(
        `${this.context}: a native or bound function has no readable source; pass the formula, e.g. "x => Math.exp(x)"`,
      );
    }
    const start = this.src.search(/\S/);
    if (start < 0) throw new Error(`${this.context}: the source is empty`);
    let node: Expression;
    try {
      node = parseExpressionAt(this.src, 0, ACORN_OPTIONS);
    } catch (e) {
      throw this.syntaxError(e, 0);
    }
    if (node.type !== "ArrowFunctionExpression" && node.type !== "FunctionExpression") {
      throw new Error(
        `${this.context}: expected an arrow function such as "x => x * x" or "function (x) { return x * x; }", ` +
          `got ${this.describe(node)} at ${this.pos(node)}`,
      );
    }
    this.checkTrailing(node.end);
    if (node.async) this.refuse(node, "an async function");
    if (node.generator) this.refuse(node, "a generator function");
    for (const p of node.params) this.param(p);
    if (this.params.length === 0) {
      throw new Error(`${this.context}: the function must take at least one parameter (one per operand)`);
    }
    let body: AnyNode = node.body;
    if (body.type === "BlockStatement") {
      const [first, ...rest] = body.body;
      if (!first) this.refuse(body, "an empty function body", "write x => <expression>");
      const extra = first.type === "ReturnStatement" ? rest[0] : first;
      if (extra) {
        this.refuse(
          extra,
          `statement "${this.snippet(extra)}" in the function body`,
          "the body must be an expression or a single return statement",
        );
      }
      if (first.type !== "ReturnStatement") throw new Error("unreachable");
      if (!first.argument) this.refuse(first, "a return without a value");
      body = first.argument;
    }
    return { params: this.params, body: this.expr(body) };
  }

  private param(p: Pattern): void {
    if (p.type === "Identifier") {
      if (p.name === "Math") this.refuse(p, `parameter "Math"`, "it would hide Math");
      if (this.params.includes(p.name)) this.refuse(p, `duplicate parameter "${p.name}"`);
      this.params.push(p.name);
      return;
    }
    const kind =
      p.type === "AssignmentPattern"
        ? "default parameter"
        : p.type === "RestElement"
          ? "rest parameter"
          : p.type === "ObjectPattern" || p.type === "ArrayPattern"
            ? "destructured parameter"
            : "parameter";
    this.refuse(p, `${kind} "${this.snippet(p)}"`, "parameters must be plain names");
  }

  private expr(node: AnyNode): Expr {
    switch (node.type) {
      case "Literal":
        if (typeof node.value === "number") return num(node.value);
        return this.refuse(node, this.describe(node), "only number literals");
      case "Identifier":
        if (this.params.includes(node.name)) return id(node.name);
        if (node.name === "Math") {
          return this.refuse(
            node,
            `identifier "Math" on its own`,
            "only Math.<function>(...) and Math.<constant>",
          );
        }
        return this.refuse(node, `identifier "${node.name}"`, `only ${this.paramList()} and Math`);
      case "UnaryExpression": {
        const op = node.operator;
        if (op !== "-" && op !== "+" && op !== "!") {
          return this.refuse(node, `unary operator "${op}"`, "only - + and !");
        }
        const argument = this.expr(node.argument);
        return op === "-" ? neg(argument) : { type: "UnaryExpression", operator: op, prefix: true, argument };
      }
      case "BinaryExpression": {
        const op = node.operator;
        if (!ARITHMETIC.has(op) && !COMPARISONS.has(op)) {
          return this.refuse(node, `operator "${op}"`, "only + - * / % ** and comparisons");
        }
        if (node.left.type === "PrivateIdentifier") return this.refuse(node.left, "a private name");
        return bin(op as Parameters<typeof bin>[0], this.expr(node.left), this.expr(node.right));
      }
      case "LogicalExpression": {
        if (node.operator === "??") return this.refuse(node, `operator "??"`, "only && and ||");
        const operator = node.operator;
        return {
          type: "LogicalExpression",
          operator,
          left: this.expr(node.left),
          right: this.expr(node.right),
        };
      }
      case "ConditionalExpression":
        return cond(this.expr(node.test), this.expr(node.consequent), this.expr(node.alternate));
      case "CallExpression":
        return this.call(node);
      case "MemberExpression": {
        if (node.object.type === "ThisExpression" || node.object.type === "Super")
          return this.expr(node.object);
        const name = this.mathMember(node);
        if (name !== undefined && MATH_CONSTANTS.has(name)) {
          return num((Math as unknown as Record<string, number>)[name]);
        }
        const hint =
          name !== undefined && MATH_FUNCTIONS.has(name)
            ? `Math.${name} must be called`
            : "only Math.<function> and Math.<constant>";
        return this.refuse(node, `member access "${this.snippet(node)}"`, hint);
      }
      case "ChainExpression":
        return this.refuse(node, `optional chaining "${this.snippet(node)}"`);
      case "ThisExpression":
        return this.refuse(node, `"this"`);
      case "Super":
        return this.refuse(node, `"super"`);
      case "AssignmentExpression":
        return this.refuse(node, `assignment "${this.snippet(node)}"`);
      case "UpdateExpression":
        return this.refuse(node, `update expression "${this.snippet(node)}"`);
      case "NewExpression":
        return this.refuse(node, `"new" expression "${this.snippet(node)}"`);
      case "ArrayExpression":
        return this.refuse(node, "an array literal");
      case "ObjectExpression":
        return this.refuse(node, "an object literal");
      case "SpreadElement":
        return this.refuse(node, `spread "${this.snippet(node)}"`);
      case "SequenceExpression":
        return this.refuse(node, "a sequence expression (comma operator)");
      case "TemplateLiteral":
        return this.refuse(node, "a template literal");
      case "TaggedTemplateExpression":
        return this.refuse(node, "a tagged template");
      case "ArrowFunctionExpression":
      case "FunctionExpression":
        return this.refuse(node, "a nested function");
      case "ClassExpression":
        return this.refuse(node, "a class");
      case "AwaitExpression":
        return this.refuse(node, `"await"`);
      case "YieldExpression":
        return this.refuse(node, `"yield"`);
      case "MetaProperty":
        return this.refuse(node, `"${this.snippet(node)}"`);
      case "ImportExpression":
        return this.refuse(node, "a dynamic import");
      default:
        return this.refuse(node, this.describe(node));
    }
  }

  private call(node: AnyNode & { type: "CallExpression" }): Expr {
    const callee = node.callee;
    const name = callee.type === "MemberExpression" ? this.mathMember(callee) : undefined;
    const what = `call of "${this.snippet(callee)}"`;
    if (name === undefined) return this.refuse(node, what, "only Math.<function>(...)");
    if (!MATH_FUNCTIONS.has(name)) {
      return this.refuse(node, what, `Math.${name} is not one of the allowed Math functions`);
    }
    if (node.optional) return this.refuse(node, `optional call "${this.snippet(node)}"`);
    const args = node.arguments.map((a) => this.expr(a));
    const expected = MATH_ARITY[name] ?? 1;
    if (VARIADIC.has(name) ? args.length === 0 : args.length !== expected) {
      const want = VARIADIC.has(name)
        ? "at least 1 argument"
        : `${expected} argument${expected === 1 ? "" : "s"}`;
      throw new Error(`${this.context}: Math.${name} takes ${want}, got ${args.length} at ${this.pos(node)}`);
    }
    return math(name, ...args);
  }

  /** The property name of a plain `Math.name` (undefined for anything else, e.g. Math["exp"] or a.b). */
  private mathMember(node: AnyNode & { type: "MemberExpression" }): string | undefined {
    if (node.computed || node.optional) return undefined;
    if (node.object.type !== "Identifier" || node.object.name !== "Math") return undefined;
    return node.property.type === "Identifier" ? node.property.name : undefined;
  }

  /** Only whitespace, comments and one semicolon may follow the function. */
  private checkTrailing(end: number): void {
    const rest = this.src.slice(end);
    try {
      let semicolons = 0;
      for (const token of tokenizer(rest, ACORN_OPTIONS)) {
        if (token.type.label === ";" && semicolons++ === 0) continue;
        const at = this.posOf(end + token.start);
        throw new Error(
          `${this.context}: unexpected "${this.clip(rest.slice(token.start))}" after the function at ${at}`,
        );
      }
    } catch (e) {
      if (e instanceof SyntaxError) throw this.syntaxError(e, end);
      throw e;
    }
  }

  private syntaxError(e: unknown, offset: number): Error {
    if (!(e instanceof SyntaxError)) return e instanceof Error ? e : new Error(String(e));
    const raisedAt = (e as SyntaxError & { pos?: number }).pos;
    const message = e.message.replace(/\s*\(\d+:\d+\)$/, "");
    const where = typeof raisedAt === "number" ? ` at ${this.posOf(offset + raisedAt)}` : "";
    return new Error(`${this.context}: syntax error: ${message}${where}`);
  }

  private refuse(node: Loc, what: string, hint?: string): never {
    throw new Error(
      `${this.context}: ${what} is not allowed at ${this.pos(node)}${hint ? ` (${hint})` : ""}`,
    );
  }

  private pos(node: Loc): string {
    const start = node.loc?.start;
    return start ? `${start.line}:${start.column + 1}` : this.posOf(node.start);
  }

  private posOf(offset: number): string {
    const before = this.src.slice(0, offset).split(/\r\n?|\n|\u2028|\u2029/);
    return `${before.length}:${before[before.length - 1].length + 1}`;
  }

  private paramList(): string {
    return `the parameter${this.params.length === 1 ? "" : "s"} ${this.params.join(", ")}`;
  }

  private snippet(node: { start: number; end: number }): string {
    return this.clip(this.src.slice(node.start, node.end));
  }

  private clip(text: string): string {
    const s = text.replace(/\s+/g, " ").trim();
    return s.length > 40 ? `${s.slice(0, 37)}...` : s;
  }

  private describe(node: AnyNode): string {
    if (node.type === "Literal") {
      const v = node.value;
      if (typeof v === "string") return `string literal ${this.snippet(node)}`;
      if (typeof v === "boolean") return `boolean literal ${v}`;
      if (v === null) return "null";
      if (typeof v === "bigint" || node.bigint !== undefined) return `BigInt literal ${this.snippet(node)}`;
      if (node.regex) return `regular expression ${this.snippet(node)}`;
      return `literal ${this.snippet(node)}`;
    }
    const words = node.type.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
    return `${/^[aeiou]/.test(words) ? "an" : "a"} ${words} "${this.snippet(node)}"`;
  }
}
