/**
 * The Node-only entry, `import { saveCheckpoint, loadMnist } from "adjoint/node"`: checkpoints on the file
 * system and the MNIST loader that reads the `mnist` package's files. Everything else is in "adjoint", which
 * imports no Node built-in and so also runs in browsers and bundles for them.
 *
 * @packageDocumentation
 * @module adjoint/node
 */
export * from "../../nn/src/node";
