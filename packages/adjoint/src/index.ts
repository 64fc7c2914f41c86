/**
 * The one import users write: `import { Graph, grad, compile, trainStep, optim, init } from "adjoint"`.
 * It imports no Node built-in, so it runs in Node and in browsers alike; the Node-only parts (file-system
 * checkpoints, the MNIST loader) are in "adjoint/node". The workspace packages are re-exported by relative
 * path: this facade is bundled into the published package, which has no @adjoint/* dependencies.
 *
 * @packageDocumentation
 * @module adjoint
 */
export * from "../../core/src/index";
export * from "../../compiler/src/index";
export * from "../../nn/src/index";
