/**
 * toDot's module-level view of a training step: one box per module (forward), per module gradient and
 * per parameter update; boxes open on request; every node of the node-level dump is in exactly one box or
 * drawn on its own; the DOT is valid and Graphviz keeps the box ids that the playground clicks on.
 */
import {
  crossEntropy,
  Graph,
  Linear,
  optim,
  ReLU,
  renderSvg,
  Sequential,
  stateUpdates,
  type Tensor,
  toDot,
  trainStep,
} from "adjoint";
import { describe, expect, it } from "vitest";

function adamStep() {
  const net = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 3));
  const g = new Graph({ seed: 0 });
  const x = g.input("x", [5, 4]);
  const t = g.input("t", [5]);
  const y = net.build(x);
  const step = trainStep(crossEntropy(y, t), optim.adam({ lr: 1e-3 }), { outputs: { y } });
  const outputs: Record<string, Tensor> = { loss: step.loss, y };
  for (const u of [...step.update.updates, ...stateUpdates([step.loss, y])])
    outputs[`update(${u.inputs[0].name})`] = u;
  const kernel = (step.kernel as unknown as { compiled: { fusedGroups: ReadonlyMap<number, string> } })
    .compiled;
  return { g, outputs, groups: kernel.fusedGroups };
}

/** Statements of a DOT text: node ids with their attributes, edges, cluster ids; balanced braces. */
function statements(dot: string) {
  const nodes = new Map<string, string>();
  const edges: [string, string][] = [];
  const clusterIds: string[] = [];
  let depth = 0;
  for (const line of dot.trimEnd().split("\n").slice(1, -1)) {
    const s = line.trim();
    if (s.endsWith("{")) depth++;
    else if (s === "}") depth--;
    const edge = /^(\w+) -> (\w+);$/.exec(s);
    const node = /^(n\d+|b\d+) \[(.*)\];$/.exec(s);
    const cluster = /^id="(box:[^"]+)"; label=/.exec(s);
    if (edge) edges.push([edge[1], edge[2]]);
    else if (node) {
      expect(nodes.has(node[1]), `${node[1]} declared twice`).toBe(false);
      nodes.set(node[1], node[2]);
    } else if (cluster) clusterIds.push(cluster[1]);
    expect(depth).toBeGreaterThanOrEqual(0);
  }
  expect(depth).toBe(0);
  for (const [a, b] of edges) {
    expect(nodes.has(a), `edge from undeclared ${a}`).toBe(true);
    expect(nodes.has(b), `edge to undeclared ${b}`).toBe(true);
  }
  const boxIds = [...nodes.values()].map((attrs) => /id="(box:[^"]+)"/.exec(attrs)?.[1]).filter(Boolean);
  return { nodes, edges, boxIds, clusterIds };
}

describe("toDot view: modules", () => {
  it("opens on one box per module, per module gradient and per parameter update", () => {
    const { g, outputs, groups } = adamStep();
    const dot = toDot(g, {
      outputs,
      groups,
      view: "modules",
      moduleTypes: { "0": "Linear", "1": "ReLU", "2": "Linear" },
    });
    const { nodes, boxIds, edges } = statements(dot);
    expect(new Set(boxIds)).toEqual(
      new Set([
        "box:m:0",
        "box:m:1",
        "box:m:2",
        "box:m:",
        "box:g:0",
        "box:g:1",
        "box:g:2",
        "box:g:",
        "box:u:0.weight",
        "box:u:0.bias",
        "box:u:2.weight",
        "box:u:2.bias",
        "box:u:optim.step",
      ]),
    );
    // Besides the boxes, only the sources are drawn: the inputs, the params and the lr buffer.
    const loose = [...nodes.entries()]
      .filter(([id]) => id.startsWith("n"))
      .map(([, a]) => /label="([^\\"]+)/.exec(a)![1]);
    expect(loose.sort()).toEqual(["0.bias", "0.weight", "2.bias", "2.weight", "optim.lr", "t", "x"]);
    expect(dot).toContain('label="0: Linear\\n3 ops: permute matmul add\\n→ [5,8]');
    expect(dot).toMatch(/label="update 0\.weight\\n\d+ ops, 2 state buffers/);
    // The forward chain: x -> module 0 -> module 1 -> module 2 -> loss box; module 0's weight feeds its update.
    const byBox = (key: string) => [...nodes.entries()].find(([, a]) => a.includes(`id="box:${key}"`))![0];
    const has = (a: string, b: string) => edges.some(([p, q]) => p === a && q === b);
    expect(has(byBox("m:0"), byBox("m:1"))).toBe(true);
    expect(has(byBox("m:1"), byBox("m:2"))).toBe(true);
    expect(has(byBox("m:2"), byBox("m:"))).toBe(true);
    expect(has(byBox("g:0"), byBox("u:0.weight"))).toBe(true);
    expect(edges.length).toBe(new Set(edges.map((e) => e.join())).size);
  });

  it("opened boxes show their nodes (and fused groups); all opened shows every node of the node view", () => {
    const { g, outputs, groups } = adamStep();
    const one = statements(toDot(g, { outputs, groups, view: "modules", expanded: ["u:0.weight"] }));
    expect(one.clusterIds).toEqual(["box:u:0.weight"]);
    expect(one.boxIds).not.toContain("box:u:0.weight");
    const full = statements(toDot(g, { outputs, groups }));
    const keys = [
      "m:0",
      "m:1",
      "m:2",
      "m:",
      "g:0",
      "g:1",
      "g:2",
      "g:",
      "u:0.weight",
      "u:0.bias",
      "u:2.weight",
      "u:2.bias",
      "u:optim.step",
    ];
    const all = toDot(g, { outputs, groups, view: "modules", expanded: keys });
    const opened = statements(all);
    expect(opened.boxIds).toEqual([]);
    expect(new Set(opened.nodes.keys())).toEqual(new Set(full.nodes.keys()));
    expect(new Set(opened.edges.map((e) => e.join()))).toEqual(new Set(full.edges.map((e) => e.join())));
    expect(all).toContain("fused ");
  });

  it("renders through Graphviz with the box ids kept on the SVG elements", async () => {
    const { g, outputs, groups } = adamStep();
    const svg = await renderSvg(toDot(g, { outputs, groups, view: "modules", expanded: ["m:0"] }));
    expect(svg).toContain('<g id="box:u:0.weight" class="node"');
    expect(svg).toContain('<g id="box:m:0" class="cluster"');
    // Subgraphs inherit graph attributes: every element id must still be unique (a fused group inside an
    // opened box once repeated the box's id).
    const ids = [...svg.matchAll(/<g id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(10);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it("the default view is unchanged by the new options' absence", () => {
    const { g, outputs, groups } = adamStep();
    expect(toDot(g, { outputs, groups, view: "nodes" })).toBe(toDot(g, { outputs, groups }));
  });
});
