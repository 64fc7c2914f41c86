import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RunFolder, writeFileAtomic } from "../../packages/cli/src/artifacts";
import { CliError } from "../../packages/cli/src/errors";
import { linePlot, niceTicks } from "../../packages/cli/src/plots";

const root = mkdtempSync(join(tmpdir(), "adjoint-cli-artifacts-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const listing = (dir: string) => readdirSync(dir).sort();

describe("RunFolder", () => {
  it("stages files and moves them all into the folder at commit", () => {
    const dir = join(root, "a", "run");
    const run = RunFolder.open(dir);
    run.write("one.txt", "1");
    run.write("two.txt", "2");
    expect(listing(dir)).toHaveLength(1); // only the staging folder so far
    expect(run.commit()).toEqual(["one.txt", "two.txt"]);
    expect(listing(dir)).toEqual(["one.txt", "two.txt"]);
    expect(readFileSync(join(dir, "two.txt"), "utf8")).toBe("2");
  });

  it("leaves an earlier run's files untouched when a run is aborted", () => {
    const dir = join(root, "b");
    const first = RunFolder.open(dir);
    first.write("metrics.csv", "old");
    first.commit();
    const second = RunFolder.open(dir);
    second.write("metrics.csv", "new");
    second.abort();
    expect(listing(dir)).toEqual(["metrics.csv"]);
    expect(readFileSync(join(dir, "metrics.csv"), "utf8")).toBe("old");
  });

  it("puts replaced files back when a rename fails midway", () => {
    const dir = join(root, "c");
    const first = RunFolder.open(dir);
    first.write("a.txt", "old a");
    first.commit();
    mkdirSync(join(dir, "b.txt")); // a folder where the new run wants a file
    const second = RunFolder.open(dir);
    second.write("a.txt", "new a");
    second.write("b.txt", "new b");
    expect(() => second.commit()).toThrow(CliError);
    expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("old a");
    expect(listing(dir)).toEqual(["a.txt", "b.txt"]); // no staging folder left behind
  });

  it("refuses a destination under a regular file, or that is a file, with a one-line error", () => {
    const file = join(root, "plain-file");
    writeFileSync(file, "x");
    expect(() => RunFolder.open(join(file, "run"))).toThrow(/plain-file is a file, not a folder/);
    expect(() => RunFolder.open(file)).toThrow(/exists and is not a folder/);
    expect(readFileSync(file, "utf8")).toBe("x");
  });

  it("removes staging folders of dead processes", () => {
    const dir = join(root, "d");
    mkdirSync(join(dir, ".staging-999999999-abcd"), { recursive: true });
    RunFolder.open(dir).abort();
    expect(listing(dir)).toEqual([]);
  });

  it("writeFileAtomic replaces a file whole", () => {
    const path = join(root, "atomic.txt");
    writeFileAtomic(path, "first");
    writeFileAtomic(path, "second");
    expect(readFileSync(path, "utf8")).toBe("second");
    expect(() => writeFileAtomic(join(root, "missing", "x.txt"), "y")).toThrow(CliError);
  });
});

describe("linePlot", () => {
  it("draws each series as a polyline with a legend, skipping non-finite points", () => {
    const svg = linePlot({
      title: "Loss <per> epoch",
      xLabel: "epoch",
      yLabel: "loss",
      series: [
        {
          name: "train",
          points: [
            [1, 1],
            [2, 0.5],
            [3, 0.25],
          ],
        },
        {
          name: "validation",
          points: [
            [1, 1.1],
            [2, Number.NaN],
            [3, 0.4],
          ],
          dashed: true,
        },
      ],
    });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("Loss &lt;per&gt; epoch");
    expect(svg.match(/<polyline/g)).toHaveLength(1); // validation has no two consecutive finite points
    expect(svg).toContain(">train</text>");
    expect(svg).toContain(">validation</text>");
    expect(svg).not.toContain("NaN");
  });

  it("copes with one point and with no data", () => {
    expect(
      linePlot({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "a", points: [[1, 2]] }] }),
    ).toContain("<circle");
    expect(linePlot({ title: "t", xLabel: "x", yLabel: "y", series: [] })).not.toContain("NaN");
  });

  it("picks round ticks", () => {
    expect(niceTicks(0, 1, 5, false)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(1, 10, 8, true)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(1, 5, 8, true)).toEqual([1, 2, 3, 4, 5]);
  });
});
