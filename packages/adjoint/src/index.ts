/** The one import users write: `import { Graph, grad, compile, trainStep, optim, init } from "adjoint"`. */
export * from "@adjoint/core";
export * from "@adjoint/compiler";
export * from "@adjoint/nn";
