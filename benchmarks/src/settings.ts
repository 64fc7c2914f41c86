/** How long and how often to measure: the full run and the quick check (CI: does everything run?). */
import type { Settings } from "./types";

export const FULL: Settings = {
  timeMs: 2000,
  minSamples: 5,
  minSampleMs: 1,
  warmupMs: 300,
  warmupIterations: 2,
  calibrateMs: 100,
  maxCaseMs: 20_000,
  memBudgetMs: 1500,
  memMinSteps: 3,
  memMaxSteps: 1000,
  correctnessSteps: 200,
  correctnessEarlySteps: 50,
  correctnessMaxMs: 240_000,
  inferTimeMs: 1000,
  matmulN: 512,
  matmulTimeMs: 1000,
  matmulMinSamples: 5,
  reuseFirstStepMs: 0,
};

export const QUICK: Settings = {
  timeMs: 0,
  minSamples: 1,
  minSampleMs: 0,
  warmupMs: 0,
  warmupIterations: 0,
  calibrateMs: 0,
  maxCaseMs: 0,
  memBudgetMs: 0,
  memMinSteps: 0,
  memMaxSteps: 0,
  correctnessSteps: 3,
  correctnessEarlySteps: 2,
  correctnessMaxMs: 5_000,
  inferTimeMs: 0,
  matmulN: 128,
  matmulTimeMs: 0,
  matmulMinSamples: 1,
  reuseFirstStepMs: 250,
};
