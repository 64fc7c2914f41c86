import type { Tensor } from "@adjoint/core";
import { Module } from "./module";

/**
 * Modules applied in order; child i is named "i" (its params "i.weight", ... as in torch).
 * @example
 * ```ts
 * const net = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));
 * const logits = net.build(new Graph({ seed: 0 }).input("images", [64, 784])); // [64, 10]
 * Object.keys(net.stateDict()); // ["0.weight", "0.bias", "2.weight", "2.bias"]
 * ```
 */
export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(...layers: Module[]) {
    super();
    if (layers.length === 1 && Array.isArray(layers[0])) layers = layers[0] as unknown as Module[];
    for (const [i, m] of layers.entries()) this.addChild(String(i), m);
    this.layers = layers;
  }

  protected forward(x: Tensor): Tensor {
    let y = x;
    for (let i = 0; i < this.layers.length; i++) y = this.buildChild(String(i), y);
    return y;
  }
}
