export { OnnxExportError, OnnxImportError } from "./errors";
export { type ExportOnnxOptions, exportOnnx, exportOnnxModel } from "./export";
