import type { Expr } from "../estree";
import { broadcastIndexMap, broadcastShapes, type Shape, sameShape, sizeOf } from "../shape";
import type { Attrs, Tensor } from "../tensor";
import { defineOp, type ElementwiseDef } from "./registry";

type Scalar1 = (x: number, attrs: Attrs) => number;
type Scalar2 = (x: number, y: number, attrs: Attrs) => number;

/** A unary elementwise op: y = f(x). `vjp(g, x, y, attrs)` returns the cotangent of x. */
export function defineUnary(spec: {
  name: string;
  scalar: Scalar1;
  js: (x: Expr, attrs: Attrs) => Expr;
  vjp?: (g: Tensor, x: Tensor, y: Tensor, attrs: Attrs) => Tensor | null;
}): ElementwiseDef {
  const { vjp } = spec;
  return defineOp<ElementwiseDef>({
    name: spec.name,
    kind: "elementwise",
    arity: 1,
    shape: ([x]) => x,
    scalar: (x, _y, attrs) => spec.scalar(x, attrs),
    js: ([x], attrs) => spec.js(x, attrs),
    evaluate([x], node) {
      const out = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) out[i] = spec.scalar(x[i], node.attrs);
      return out;
    },
    vjp: vjp && ((g, node) => [vjp(g, node.inputs[0], node, node.attrs)]),
  });
}

/** A binary elementwise op with NumPy broadcasting: z = f(a, b). */
export function defineBinary(spec: {
  name: string;
  scalar: Scalar2;
  js: (a: Expr, b: Expr, attrs: Attrs) => Expr;
  vjp?: (g: Tensor, a: Tensor, b: Tensor, z: Tensor) => [Tensor | null, Tensor | null];
}): ElementwiseDef {
  const { vjp } = spec;
  return defineOp<ElementwiseDef>({
    name: spec.name,
    kind: "elementwise",
    arity: 2,
    shape: ([a, b]) => broadcastShapes(spec.name, a, b),
    scalar: spec.scalar,
    js: ([a, b], attrs) => spec.js(a, b, attrs),
    evaluate([a, b], node) {
      const [sa, sb] = node.inputs.map((t) => t.shape);
      const n = sizeOf(node.shape);
      const out = new Float64Array(n);
      const ia = indexer(sa, node.shape);
      const ib = indexer(sb, node.shape);
      for (let i = 0; i < n; i++) out[i] = spec.scalar(a[ia(i)], b[ib(i)], node.attrs);
      return out;
    },
    vjp: vjp && ((g, node) => vjp(g, node.inputs[0], node.inputs[1], node)),
  });
}

/** Flat index into a broadcast operand, for the interpreter. */
export function indexer(src: Shape, out: Shape): (i: number) => number {
  if (sameShape(src, out)) return (i) => i;
  if (sizeOf(src) === 1) return () => 0;
  const map = broadcastIndexMap(src, out);
  return (i) => map[i];
}
