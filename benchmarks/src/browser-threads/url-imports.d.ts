/** Vite's `?url` imports (tfjs-worker.ts): the URL of the file in the built page. */
declare module "*.wasm?url" {
  const url: string;
  export default url;
}
