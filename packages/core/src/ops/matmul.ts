/**
 * Matrix product: [m,k]·[k,n], batched [b,m,k]·[k,n], [b,m,k]·[b,k,n] and [m,k]·[b,k,n]. The VJP uses
 * transposes that the compiler never materializes: its matmul reads either operand through strides.
 */
import { formatShape, ShapeError } from "../shape";
import { matmul, swapLastAxes } from "./api";
import { defineOp } from "./registry";

defineOp({
  name: "matmul",
  kind: "matmul",
  shape([a, b]) {
    const fail = (why: string) => {
      throw new ShapeError(`matmul: ${why}: ${formatShape(a)} x ${formatShape(b)}`);
    };
    if (a.length < 2 || a.length > 3 || b.length < 2 || b.length > 3) {
      fail("operands must be 2-D (or 3-D for a batched product)");
    }
    const [m, k] = a.slice(-2);
    const [k2, n] = b.slice(-2);
    if (k !== k2) {
      const hint = k === n ? " (did you mean to transpose the second operand, e.g. W.transpose()?)" : "";
      throw new ShapeError(
        `matmul: inner dimensions differ: ${formatShape(a)} x ${formatShape(b)}: ${k} vs ${k2}${hint}`,
      );
    }
    if (a.length === 3 && b.length === 3 && a[0] !== b[0]) fail(`batch sizes differ (${a[0]} vs ${b[0]})`);
    const batch = a.length === 3 ? a[0] : b.length === 3 ? b[0] : null;
    return batch === null ? [m, n] : [batch, m, n];
  },
  evaluate([a, b], node) {
    const [sa, sb] = node.inputs.map((t) => t.shape);
    const [m, k] = sa.slice(-2);
    const n = sb[sb.length - 1];
    const batches = node.shape.length === 3 ? node.shape[0] : 1;
    const out = new Float64Array(node.size);
    for (let p = 0; p < batches; p++) {
      const ao = sa.length === 3 ? p * m * k : 0;
      const bo = sb.length === 3 ? p * k * n : 0;
      const oo = p * m * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let q = 0; q < k; q++) s += a[ao + i * k + q] * b[bo + q * n + j];
          out[oo + i * n + j] = s;
        }
      }
    }
    return out;
  },
  vjp(g, node) {
    const [a, b] = node.inputs;
    return [
      a.requiresGrad ? matmul(g, swapLastAxes(b)) : null,
      b.requiresGrad ? matmul(swapLastAxes(a), g) : null,
    ];
  },
});
