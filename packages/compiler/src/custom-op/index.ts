/** User-defined elementwise ops from JS formulas: parsed, checked, differentiated symbolically. */
export { type CustomElementwiseOp, defineElementwise, getCustomOp } from "./define";
export { differentiate } from "./differentiate";
export { compileExpr, printExpr, printFunction } from "./expr";
export { type ParsedElementwise, type ParseOptions, parseElementwise } from "./parse";
