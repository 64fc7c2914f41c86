#!/usr/bin/env node
/**
 * The `adjoint` command:
 *   adjoint train   train an MLP (default: 784→128→10 on MNIST digits) and write a run folder
 *   adjoint dump    the graph, program and kernel dumps of a model's training step, without training
 *   adjoint eval    evaluate a saved checkpoint on its test split
 *   adjoint export  write a checkpoint's model as ONNX
 *   adjoint bench   the benchmark harness
 * Errors are one line on stderr and a non-zero exit (2 for bad options, 1 otherwise), never a stack trace
 * (set ADJOINT_DEBUG=1 to see one).
 */
import { Command, CommanderError } from "commander";
import { CliError, oneLine, UsageError } from "./errors";
import {
  definitions,
  resolveBenchOptions,
  resolveDumpOptions,
  resolveEvalOptions,
  resolveExportOptions,
  resolveTrainOptions,
} from "./options";

const out = (line: string) => {
  process.stdout.write(`${line}\n`);
};

function buildProgram(): Command {
  const program = new Command("adjoint")
    .description(
      "Adjoint: a define-then-run graph compiler for neural networks; each training step runs as one generated, allocation-free JS function.",
    )
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => {} });

  const command = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .allowExcessArguments(false)
      .exitOverride()
      .configureOutput({ outputError: () => {} });

  definitions
    .train(
      command(
        "train",
        "train an MLP classifier and write its run folder (metrics, plots, dumps, checkpoint)",
      ),
    )
    .action(async (raw: Record<string, unknown>) => {
      const opts = resolveTrainOptions(raw);
      // The commands load the compiler and the data only once the options are known to be good.
      const { runTrain } = await import("./commands/train");
      await runTrain(opts, { out, tty: process.stdout.isTTY === true });
    });
  definitions
    .dump(
      command(
        "dump",
        "write the dumps of a model's training step (graph.txt/.dot/.svg, program.txt, kernel.js) without training",
      ),
    )
    .action(async (raw: Record<string, unknown>) => {
      const opts = resolveDumpOptions(raw);
      const { runDump } = await import("./commands/dump");
      await runDump(opts, out);
    });
  definitions
    .eval(command("eval", "evaluate a checkpoint written by `adjoint train` on its test split"))
    .action(async (raw: Record<string, unknown>) => {
      const opts = resolveEvalOptions(raw);
      const { runEval } = await import("./commands/eval");
      await runEval(opts, out);
    });
  definitions
    .export(command("export", "write a checkpoint's model as an ONNX file (for ONNX Runtime, Triton, ...)"))
    .action(async (raw: Record<string, unknown>) => {
      const opts = resolveExportOptions(raw);
      const { runExport } = await import("./commands/export");
      await runExport(opts, out);
    });
  definitions
    .bench(command("bench", "run the benchmark harness (benchmarks/src/main.ts)"))
    .action(async (raw: Record<string, unknown>) => {
      const opts = resolveBenchOptions(raw);
      const { runBenchCommand } = await import("./commands/bench");
      await runBenchCommand(opts, out);
    });
  return program;
}

/** Runs the CLI on argv (the words after `adjoint`); returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length === 0) {
    process.stdout.write(program.helpInformation());
    return 0;
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.exitCode === 0
      ) {
        return 0;
      }
      if (error.code === "commander.help") return 0;
      report(argv, new UsageError(oneLine(error.message)));
      return 2;
    }
    report(argv, error);
    return error instanceof CliError ? error.exitCode : 1;
  }
}

function report(argv: readonly string[], error: unknown): void {
  const name = ["train", "dump", "eval", "bench"].includes(argv[0]) ? `adjoint ${argv[0]}` : "adjoint";
  const hint = error instanceof UsageError ? ` (see ${name} --help)` : "";
  process.stderr.write(`${name}: error: ${oneLine(error)}${hint}\n`);
  if (process.env.ADJOINT_DEBUG && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`adjoint: error: ${oneLine(error)}\n`);
    process.exitCode = 1;
  },
);
