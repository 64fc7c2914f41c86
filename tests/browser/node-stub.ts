/**
 * For pages built by build-pages.ts: benchmarks/src/workloads.ts imports node:fs and node:path for a
 * function (writing the workloads for the PyTorch script) that a page never calls.
 */
const unavailable =
  (name: string) =>
  (..._args: unknown[]): never => {
    throw new Error(`${name} is a Node.js function and is not available in the browser`);
  };

export const mkdirSync = unavailable("mkdirSync");
export const writeFileSync = unavailable("writeFileSync");
export const join = unavailable("join");
export default {};
