export { OnnxExportError, OnnxImportError } from "./errors";
export { type ExportOnnxOptions, exportOnnx, exportOnnxModel } from "./export";
export { type ImportedOnnx, type ImportOnnxOptions, importOnnx } from "./import";
export type { ImportLimits } from "./import-model";
export { OnnxModel } from "./module";
