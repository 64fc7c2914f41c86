/** Index arithmetic of reductions: the reduced shape, and which output element each input element feeds. */
import { type Shape, sizeOf, stridesOf } from "../shape";

/** The shape of a reduction's result over `axes` (kept as 1s with keepdims). */
export function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** For each flat input index, the flat index of the output element it reduces into. */
export function reductionMap(shape: Shape, axes: readonly number[]): Int32Array {
  const keep = reducedShape(shape, axes, true);
  const outStrides = stridesOf(keep);
  const inStrides = stridesOf(shape);
  const map = new Int32Array(sizeOf(shape));
  for (let flat = 0; flat < map.length; flat++) {
    let rem = flat;
    let o = 0;
    for (let d = 0; d < shape.length; d++) {
      const c = Math.floor(rem / inStrides[d]);
      rem -= c * inStrides[d];
      if (!axes.includes(d)) o += c * outStrides[d];
    }
    map[flat] = o;
  }
  return map;
}
