/** The PyTorch-exported fixtures of scripts/make_onnx_fixtures.py. */
import { readdirSync, readFileSync } from "node:fs";

export interface Fixture {
  name: string;
  bytes: Uint8Array;
  opset: number;
  input: { name: string; shape: number[]; data: number[] };
  output: { name: string; shape: number[]; data: number[] };
  weights: number[];
  grads: Record<string, number[]>;
  dynamic: boolean;
}

const DIR = new URL("../fixtures/onnx/", import.meta.url);

export function fixtures(): Fixture[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith(".onnx"))
    .sort()
    .map((f) => {
      const name = f.slice(0, -5);
      const meta = JSON.parse(readFileSync(new URL(`${name}.json`, DIR), "utf8"));
      return { name, bytes: new Uint8Array(readFileSync(new URL(f, DIR))), ...meta };
    });
}
