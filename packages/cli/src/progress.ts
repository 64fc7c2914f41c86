/**
 * Training progress: on a terminal, a live cli-progress bar per epoch (running loss and accuracy, steps/s,
 * ETA) that ends as a one-line summary of the epoch with its validation metrics; elsewhere (a pipe, a file,
 * CI) one plain line per epoch.
 */

import type { BatchEvent, EpochLog } from "adjoint";
import { SingleBar } from "cli-progress";

export interface Progress {
  onBatchEnd(e: BatchEvent): void;
  onEpochEnd(log: EpochLog): void;
  /** Stops a bar left running (after an error). */
  close(): void;
}

export interface ProgressOptions {
  epochs: number;
  /** Draw bars (stdout is a terminal); otherwise one line per epoch. */
  tty: boolean;
  write?: (line: string) => void;
  stream?: NodeJS.WriteStream;
}

const f4 = (v: number | null) => (v === null || !Number.isFinite(v) ? "  -   " : v.toFixed(4));

export function epochLine(log: EpochLog, epochs: number): string {
  const width = String(epochs).length;
  const parts = [
    `epoch ${String(log.epoch + 1).padStart(width)}/${epochs}`,
    `loss ${f4(log.loss)}`,
    `acc ${f4(log.acc)}`,
  ];
  if (log.valLoss !== null) parts.push(`val_loss ${f4(log.valLoss)}`, `val_acc ${f4(log.valAcc)}`);
  parts.push(
    `lr ${Number(log.lr.toPrecision(4))}`,
    `${Math.round(log.stepsPerSec)} steps/s`,
    `${log.seconds.toFixed(1)} s`,
  );
  return parts.join("  ");
}

export function createProgress(options: ProgressOptions): Progress {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (!options.tty) {
    return {
      onBatchEnd() {},
      onEpochEnd: (log) => write(epochLine(log, options.epochs)),
      close() {},
    };
  }
  const width = String(options.epochs).length;
  let bar: SingleBar | null = null;
  let lossSum = 0;
  let rows = 0;
  let correct = 0;
  let haveCorrect = false;
  const stop = () => {
    if (bar) bar.stop();
    bar = null;
  };
  return {
    onBatchEnd(e) {
      if (e.batch === 0 || !bar) {
        stop();
        bar = new SingleBar({
          format: `epoch {ep}/${options.epochs} {bar} {value}/{total} | loss {loss}{acc}{val} | {sps} steps/s | {tail}`,
          barsize: 24,
          hideCursor: false,
          gracefulExit: false,
          stream: options.stream ?? process.stdout,
          clearOnComplete: false,
          stopOnComplete: false,
          etaBuffer: 50,
          fps: 10,
        });
        lossSum = 0;
        rows = 0;
        correct = 0;
        haveCorrect = false;
        bar.start(e.batches, 0, {
          ep: String(e.epoch + 1).padStart(width),
          loss: "  -   ",
          acc: "",
          val: "",
          sps: "-",
          tail: "ETA -",
        });
      }
      lossSum += e.loss * e.size;
      rows += e.size;
      if (e.acc !== null) {
        correct += e.acc * e.size;
        haveCorrect = true;
      }
      const sps = e.stepsPerSec;
      const left = sps > 0 && Number.isFinite(sps) ? (e.batches - e.batch - 1) / sps : 0;
      bar!.update(e.batch + 1, {
        loss: f4(lossSum / rows),
        acc: haveCorrect ? ` | acc ${f4(correct / rows)}` : "",
        sps: sps > 0 && Number.isFinite(sps) ? String(Math.round(sps)) : "-",
        tail: `ETA ${formatSeconds(left)}`,
      });
    },
    onEpochEnd(log) {
      if (!bar) {
        write(epochLine(log, options.epochs));
        return;
      }
      const val = log.valLoss !== null ? ` | val loss ${f4(log.valLoss)} acc ${f4(log.valAcc)}` : "";
      bar.update(bar.getTotal(), {
        loss: f4(log.loss),
        acc: log.acc === null ? "" : ` | acc ${f4(log.acc)}`,
        val,
        sps: String(Math.round(log.stepsPerSec)),
        tail: `${log.seconds.toFixed(1)} s`,
      });
      bar.render();
      stop();
    },
    close: stop,
  };
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "-";
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.ceil(s - m * 60)).padStart(2, "0")}s`;
}
