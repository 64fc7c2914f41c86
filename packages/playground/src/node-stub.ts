/**
 * What the page gets for the Node built-ins that the library's main entry still imports (checkpoint files,
 * the mnist package's file loader, a V8 flag): functions that say so when called. The page never calls
 * them; the digits come from a bundled asset instead.
 */
const unavailable =
  (name: string) =>
  (..._args: unknown[]): never => {
    throw new Error(`${name} is a Node.js function and is not available in the browser`);
  };

export const readFileSync = unavailable("readFileSync");
export const writeFileSync = unavailable("writeFileSync");
export const renameSync = unavailable("renameSync");
export const mkdirSync = unavailable("mkdirSync");
export const openSync = unavailable("openSync");
export const closeSync = unavailable("closeSync");
export const fsyncSync = unavailable("fsyncSync");
export const writeSync = unavailable("writeSync");
export const unlinkSync = unavailable("unlinkSync");
export const existsSync = unavailable("existsSync");
export const statSync = unavailable("statSync");
export const createRequire = unavailable("createRequire");
export const randomBytes = unavailable("randomBytes");
export const dirname = unavailable("dirname");
export const basename = unavailable("basename");
export const join = unavailable("join");
export const setFlagsFromString = (_flags: string): void => {};
export const gzipSync = unavailable("gzipSync");
export const gunzipSync = unavailable("gunzipSync");
export const deflateSync = unavailable("deflateSync");
export const inflateSync = unavailable("inflateSync");
export default {};
/** zlib.crc32 exists only on newer Node: absent here, the library uses its portable CRC-32. */
export const crc32 = undefined;
