/**
 * A static proof that the step allocates nothing: walks the AST of the generated step function (parsed
 * with acorn) and refuses `new`, array and object literals, closures, spread, strings and templates, and
 * any call other than Math.* or wasm.* (the generated WebAssembly kernels, which allocate nothing either)
 * and the thread pool's par.fork(job) / par.join() (hand-written with Atomics on preallocated words; the
 * zero-GC tests measure them). The workers' `function jobs(j, t)` is checked the same way (functionName).
 */
import { parse } from "acorn";

/** The verdict of {@link checkNoAllocation}: ok, or the constructs that would allocate. */
export interface StaticCheckResult {
  ok: boolean;
  violations: string[];
}

type Node = { type: string; start: number; [key: string]: unknown };

/**
 * Checks generated step source statically (acorn AST) for anything that could allocate: `new`, literals,
 * closures, spread, strings, calls other than Math.* and wasm.*.
 */
export function checkNoAllocation(
  source: string,
  allowedCalls: ReadonlySet<string> = new Set(),
  functionName = "step",
): StaticCheckResult {
  const ast = parse(source, { ecmaVersion: "latest", allowReturnOutsideFunction: true }) as unknown as Node;
  const step = findStep(ast, functionName);
  if (!step) return { ok: false, violations: [`no function named ${functionName}`] };
  const violations: string[] = [];
  const at = (n: Node) => `at offset ${n.start}`;
  const visit = (n: Node, isRoot: boolean) => {
    switch (n.type) {
      case "NewExpression":
        violations.push(`new ${at(n)}`);
        break;
      case "ArrayExpression":
      case "ObjectExpression":
        violations.push(`${n.type} ${at(n)}`);
        break;
      case "FunctionExpression":
      case "ArrowFunctionExpression":
      case "FunctionDeclaration":
        if (!isRoot) violations.push(`closure ${at(n)}`);
        break;
      case "SpreadElement":
      case "TemplateLiteral":
      case "TaggedTemplateExpression":
        violations.push(`${n.type} ${at(n)}`);
        break;
      case "Literal":
        if (typeof n.value === "string" || n.regex) violations.push(`string or regex literal ${at(n)}`);
        break;
      case "CallExpression": {
        const callee = n.callee as Node;
        const isMath =
          callee.type === "MemberExpression" &&
          (callee.object as Node).type === "Identifier" &&
          (callee.object as { name: string }).name === "Math" &&
          !callee.computed;
        const isExternal =
          (callee.type === "Identifier" && allowedCalls.has((callee as unknown as { name: string }).name)) ||
          (callee.type === "MemberExpression" &&
            (callee.object as Node).type === "Identifier" &&
            (callee.object as { name: string }).name === "wasm" &&
            !callee.computed) ||
          isPoolCall(callee);
        if (!isMath && !isExternal) violations.push(`call of a non-Math function ${at(n)}`);
        break;
      }
    }
    for (const [key, child] of Object.entries(n)) {
      if (key === "type" || !child || typeof child !== "object") continue;
      if (Array.isArray(child)) for (const c of child) c && typeof c.type === "string" && visit(c, false);
      else if (typeof (child as Node).type === "string") visit(child as Node, false);
    }
  };
  visit(step, true);
  return { ok: violations.length === 0, violations };
}

/** par.fork(...) or par.join(): the only methods of the thread pool a step may call. */
function isPoolCall(callee: Node): boolean {
  if (callee.type !== "MemberExpression" || callee.computed) return false;
  const object = callee.object as Node & { name?: string };
  const property = callee.property as Node & { name?: string };
  return (
    object.type === "Identifier" &&
    object.name === "par" &&
    (property.name === "fork" || property.name === "join")
  );
}

function findStep(n: Node, name: string): Node | null {
  if (
    (n.type === "FunctionExpression" || n.type === "FunctionDeclaration") &&
    (n.id as { name?: string } | null)?.name === name
  )
    return n;
  for (const child of Object.values(n)) {
    if (!child || typeof child !== "object") continue;
    const list = Array.isArray(child) ? child : [child];
    for (const c of list) {
      if (c && typeof c === "object" && typeof (c as Node).type === "string") {
        const found = findStep(c as Node, name);
        if (found) return found;
      }
    }
  }
  return null;
}
