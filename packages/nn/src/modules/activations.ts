import { normalizeAxis, softmax, type Tensor } from "@adjoint/core";
import { Module } from "./module";

/** The hyperbolic tangent as a layer. */
export class Tanh extends Module {
  protected forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** The logistic function as a layer. */
export class Sigmoid extends Module {
  protected forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** max(x, 0) as a layer. */
export class ReLU extends Module {
  protected forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** max(x, 0) + alpha·min(x, 0); alpha defaults to 0.01 (torch's negative_slope). */
export class LeakyReLU extends Module {
  constructor(readonly alpha = 0.01) {
    super();
    if (typeof alpha !== "number" || !Number.isFinite(alpha)) {
      throw new Error(`LeakyReLU: alpha must be a finite number, got ${alpha}`);
    }
  }
  protected forward(x: Tensor): Tensor {
    return x.leakyRelu(this.alpha);
  }
}

/** Softmax along an axis (default the last). For training, prefer crossEntropy on the logits. */
export class Softmax extends Module {
  constructor(readonly axis = -1) {
    super();
    if (!Number.isInteger(axis)) throw new Error(`Softmax: axis must be a whole number, got ${axis}`);
  }
  protected forward(x: Tensor): Tensor {
    return softmax(x, normalizeAxis("Softmax", this.axis, x.shape));
  }
}

/** GELU, tanh approximation (torch's GELU(approximate="tanh"); torch's default uses erf). */
export class GELU extends Module {
  protected forward(x: Tensor): Tensor {
    return x.gelu();
  }
}

/** Reshapes [N, ...] to [N, prod(...)]. */
export class Flatten extends Module {
  protected forward(x: Tensor): Tensor {
    if (x.rank < 1) throw new Error(`Flatten: needs at least a batch axis, got a scalar`);
    return x.reshape([x.shape[0], -1]);
  }
}
