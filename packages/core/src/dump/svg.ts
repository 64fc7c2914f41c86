/** DOT to SVG through Graphviz compiled to WebAssembly (an npm package: no system binary needed). */
import { Graphviz } from "@hpcc-js/wasm-graphviz";

let graphviz: Promise<Graphviz> | null = null;

/**
 * Renders DOT to SVG with Graphviz compiled to WebAssembly (loaded once, on first use; works in Node and in
 * browsers).
 */
export async function renderSvg(dot: string): Promise<string> {
  graphviz ??= Graphviz.load();
  return (await graphviz).dot(dot, "svg");
}
