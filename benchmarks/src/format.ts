/** Numbers and workloads as the progress log and the report print them. */
import { isLenet, type Workload } from "./workloads";

export function fmtGflops(v: number): string {
  return v >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

export function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

export function describeWorkload(w: Workload): string {
  const o = w.optimizer;
  const opt =
    o.kind === "sgd"
      ? `SGD lr ${o.lr}`
      : o.kind === "momentum"
        ? `SGD momentum ${o.momentum} lr ${o.lr}`
        : `Adam lr ${o.lr}`;
  const loss = {
    "mse-mean": "MSE (mean)",
    "mse-sum": "MSE (sum)",
    "softmax-ce": "softmax cross-entropy (mean)",
  }[w.loss];
  const net = isLenet(w)
    ? "LeNet-5 (conv 1→6 5×5 pad 2, ReLU, max pool 2, conv 6→16 5×5, ReLU, max pool 2, 400→120→84→10)"
    : `${w.sizes.join("→")}, ${w.activation}`;
  return `${net}, ${loss}, batch ${w.batch}, ${opt}`;
}
