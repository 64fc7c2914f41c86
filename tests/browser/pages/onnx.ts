/**
 * ONNX in the browser (the library's formats/onnx has no Node built-in; protobufjs runs in the page):
 * `adjointOnnx(bytes, input)` imports a model file and evaluates it, then exports the imported graph and
 * imports that again; tests/browser/onnx.test.ts calls it in Chromium with a PyTorch-exported fixture.
 */
import { evaluate, exportOnnx, Graph, importOnnx } from "adjoint";

function run(bytes: number[], input: number[], batch: number) {
  const m = importOnnx(Uint8Array.from(bytes), new Graph(), { batch });
  const [inName] = Object.keys(m.inputs);
  const [outName] = Object.keys(m.outputs);
  const out = evaluate(m.outputs[outName], { [inName]: input });
  const again = exportOnnx(m.outputs, { opset: 17, dynamicBatch: true });
  const m2 = importOnnx(again, new Graph(), { batch });
  const out2 = evaluate(m2.outputs[outName], { [inName]: input });
  let rejected = "";
  try {
    importOnnx(Uint8Array.from(bytes).slice(0, bytes.length >> 1), new Graph());
  } catch (e) {
    rejected = (e as Error).message;
  }
  return { output: Array.from(out), roundTrip: Array.from(out2), exportedBytes: again.length, rejected };
}

declare global {
  interface Window {
    adjointOnnx: typeof run;
  }
}
window.adjointOnnx = run;
