/**
 * @adjoint/nn's Node-only parts (the package entry "adjoint/node"): checkpoints read from and written to the
 * file system (the bytes-in/bytes-out encoders they use are in the main entry), and the MNIST loader that
 * reads the `mnist` package's digit files. Everything else is in the main entry, which imports no Node
 * built-in and so also runs in browsers.
 */
export {
  loadCheckpointInto,
  loadSafetensorsInto,
  readCheckpoint,
  readSafetensors,
  saveCheckpoint,
  saveSafetensors,
} from "./formats/fs";
export { loadAllMnist, loadMnist, type MnistOptions } from "./data/mnist";
