export { compile, type CompileOptions } from "./compile";
export { Kernel, type KernelMemory } from "./runtime/kernel";
export { checkNoAllocation, type StaticCheckResult } from "./codegen/static-check";
export { extract, type Program, type PNode } from "./program";
export { cse, dce, simplify, runPasses, type PassOptions } from "./passes";
export { fuse, type Group, type Schedule } from "./schedule/fuse";
export { planMemory, type MemoryPlan } from "./memory/plan";
export { generateStep } from "./codegen/step";
export { programText, fusedGroups } from "./dump";
