/** Text IR and Graphviz dumps: a reviewed snapshot of a small MLP and its gradient graph, valid DOT, SVG, deep graphs. */
import { evaluate, Graph, grad, linear, mseLoss, renderSvg, type Tensor } from "adjoint";
import { describe, expect, it } from "vitest";

/** x [2,3] → linear(W1 [4,3], b1 [4]) → tanh → linear(W2 [1,4], b2 [1]) → mseLoss against t [2,1]. */
function mlp() {
  const g = new Graph();
  const x = g.input("x", [2, 3]);
  const t = g.input("t", [2, 1]);
  const W1 = g.param("W1", [4, 3]);
  const b1 = g.param("b1", [4]);
  const W2 = g.param("W2", [1, 4]);
  const b2 = g.param("b2", [1]);
  const h = linear(x, W1, b1).tanh();
  const loss = mseLoss(linear(h, W2, b2), t);
  const [dW1, db1, dW2, db2] = grad(loss, [W1, b1, W2, b2]);
  return { g, x, t, W1, b1, W2, b2, loss, dW1, db1, dW2, db2 };
}

/** A structural check of DOT: statements, balanced braces, unique node ids, edges between declared nodes. */
function parseDot(dot: string) {
  const lines = dot.trimEnd().split("\n");
  const problems: string[] = [];
  if (lines[0] !== "digraph adjoint {") problems.push(`first line: ${lines[0]}`);
  if (lines[lines.length - 1] !== "}") problems.push(`last line: ${lines[lines.length - 1]}`);
  let depth = 0;
  const nodes = new Map<string, string>();
  const edges: [string, string][] = [];
  for (const line of lines) {
    const s = line.trim();
    if (s.endsWith("{")) depth++;
    else if (s === "}") depth--;
    else {
      if (!s.endsWith(";")) problems.push(`statement without ';': ${s}`);
      const edge = /^(n\d+) -> (n\d+);$/.exec(s);
      const node = /^(n\d+) \[(.*)\];$/.exec(s);
      if (edge) edges.push([edge[1], edge[2]]);
      else if (node) {
        if (nodes.has(node[1])) problems.push(`node ${node[1]} declared twice`);
        nodes.set(node[1], node[2]);
      }
    }
    if (depth < 0) problems.push("unbalanced '}'");
  }
  if (depth !== 0) problems.push(`unbalanced braces (depth ${depth} at the end)`);
  for (const [a, b] of edges) {
    if (!nodes.has(a)) problems.push(`edge from undeclared ${a}`);
    if (!nodes.has(b)) problems.push(`edge to undeclared ${b}`);
  }
  expect(problems).toEqual([]);
  return { nodes, edges };
}

describe("toText", () => {
  it("a small MLP and its gradient graph (snapshot reviewed by hand)", () => {
    const { g, loss, dW1, db1, dW2, db2 } = mlp();
    // Read: linear = matmul by the permuted weight, then add; mseLoss = sum of squares times 1/2. The
    // backward pass: seed 1, ·½, broadcast to [2,1], ·2(y − t); db2 sums over the batch; dW2 = (hᵀ·g)ᵀ;
    // tanh' = 1 − tanh²; db1 sums over the batch; dW1 = (xᵀ·g)ᵀ. Nothing is computed for x or t.
    expect(g.toText({ outputs: { loss, dW1, db1, dW2, db2 } })).toMatchInlineSnapshot(`
      "%0 = input "x" : f32[2,3]
      %1 = input "t" : f32[2,1]
      %2 = param "W1" : f32[4,3]
      %3 = param "b1" : f32[4]
      %4 = param "W2" : f32[1,4]
      %5 = param "b2" : f32[1]
      %6 = permute[perm=[1,0]] %2 : f32[3,4]
      %7 = matmul %0, %6 : f32[2,4]
      %8 = add %7, %3 : f32[2,4]
      %9 = tanh %8 : f32[2,4]
      %10 = permute[perm=[1,0]] %4 : f32[4,1]
      %11 = matmul %9, %10 : f32[2,1]
      %12 = add %11, %5 : f32[2,1]
      %13 = sub %12, %1 : f32[2,1]
      %14 = square %13 : f32[2,1]
      %15 = sum[axes=[0,1] keepdims=false] %14 : f32[]
      %16 = const 0.5 : f32[]
      %17 = mul %15, %16 : f32[]
      %18 = const 1 : f32[]
      %19 = mul %18, %16 : f32[]                        # grad
      %20 = reshape[shape=[1,1]] %19 : f32[1,1]         # grad
      %21 = broadcastTo[shape=[2,1]] %20 : f32[2,1]     # grad
      %22 = const 2 : f32[]
      %23 = mul %13, %22 : f32[2,1]                     # grad
      %24 = mul %21, %23 : f32[2,1]                     # grad
      %25 = sum[axes=[0] keepdims=true] %24 : f32[1,1]  # grad
      %26 = reshape[shape=[1]] %25 : f32[1]             # grad
      %27 = permute[perm=[1,0]] %10 : f32[1,4]          # grad
      %28 = matmul %24, %27 : f32[2,4]                  # grad
      %29 = permute[perm=[1,0]] %9 : f32[4,2]           # grad
      %30 = matmul %29, %24 : f32[4,1]                  # grad
      %31 = permute[perm=[1,0]] %30 : f32[1,4]          # grad
      %32 = square %9 : f32[2,4]                        # grad
      %33 = sub %18, %32 : f32[2,4]                     # grad
      %34 = mul %28, %33 : f32[2,4]                     # grad
      %35 = sum[axes=[0] keepdims=true] %34 : f32[1,4]  # grad
      %36 = reshape[shape=[4]] %35 : f32[4]             # grad
      %37 = permute[perm=[1,0]] %0 : f32[3,2]           # grad
      %38 = matmul %37, %34 : f32[3,4]                  # grad
      %39 = permute[perm=[1,0]] %38 : f32[4,3]          # grad
      return loss=%17, dW1=%39, db1=%36, dW2=%31, db2=%26
      "
    `);
  });

  it("without outputs shows every node, leaves first, and the numbering is stable", () => {
    const { g } = mlp();
    const text = g.toText();
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(g.nodes.length);
    expect(lines.slice(0, 6).map((l) => l.split(" : ")[0])).toEqual([
      '%0 = input "x"',
      '%1 = input "t"',
      '%2 = param "W1"',
      '%3 = param "b1"',
      '%4 = param "W2"',
      '%5 = param "b2"',
    ]);
    expect(lines.every((l, i) => l.startsWith(`%${i} = `))).toBe(true);
    expect(mlp().g.toText()).toBe(text);
  });

  it("with outputs shows only what they depend on", () => {
    const g = new Graph();
    const a = g.input("a", [2]);
    const b = g.input("b", [2], { requiresGrad: true });
    const used = a.exp();
    b.tanh(); // not shown
    expect(g.toText({ outputs: [used] })).toBe(
      '%0 = input "a" : f32[2]\n%1 = exp %0 : f32[2]\nreturn 0=%1\n',
    );
    expect(g.toText({ outputs: { y: b.sum() } })).toBe(
      '%0 = input "b" requiresGrad : f32[2]\n%1 = sum[axes=[0] keepdims=false] %0 : f32[]\nreturn y=%1\n',
    );
  });

  it("notes module scopes", () => {
    const g = new Graph();
    const x = g.input("x", [2]);
    const y = g.scope("encoder", () => g.scope("fc1", () => x.exp()));
    expect(g.toText({ outputs: { y } })).toMatch(/\n%1 = exp %0 : f32\[2\] +# encoder\.fc1\n/);
  });
});

describe("toDot", () => {
  it("is valid DOT: params and inputs with their shapes, gradient nodes colored, outputs named", () => {
    const { g, loss, dW1, db1, dW2, db2, W1, b1, W2, b2 } = mlp();
    const dot = g.toDot({ outputs: { loss, dW1, db1, dW2, db2 } });
    const { nodes, edges } = parseDot(dot);
    expect(nodes.get(`n${W1.id}`)).toBe('label="W1\\n[4,3]", fillcolor=lightblue, shape=box');
    expect(nodes.get(`n${b1.id}`)).toBe('label="b1\\n[4]", fillcolor=lightblue, shape=box');
    expect(nodes.get(`n${W2.id}`)).toContain('label="W2\\n[1,4]"');
    expect(nodes.get(`n${b2.id}`)).toContain('label="b2\\n[1]"');
    expect(nodes.get("n0")).toBe('label="x\\n[2,3]", fillcolor=lightgray, shape=box');
    expect(nodes.get(`n${loss.id}`)).toMatch(/^label="loss\\nmul\\n\[\]", fillcolor=darkolivegreen1/);
    expect(nodes.get(`n${dW1.id}`)).toMatch(/^label="dW1\\npermute\\nperm=\[1,0\]\\n\[4,3\]"/);
    // Every gradient node (except the named outputs) is orange, every primal op is not.
    for (const n of g.nodes) {
      const line = nodes.get(`n${n.id}`);
      if (!line || [loss, dW1, db1, dW2, db2].includes(n)) continue;
      if (n.isGradient) expect(line).toContain("fillcolor=orange");
      else expect(line).not.toContain("orange");
    }
    const gradientOps = g.nodes.filter((n) => n.isGradient && n.op !== "const");
    expect(gradientOps.length).toBeGreaterThan(10);
    // Edges are the graph's: one per operand of each shown node.
    const expected = g.nodes
      .filter((n) => nodes.has(`n${n.id}`))
      .flatMap((n) => n.inputs.map((i) => `n${i.id}->n${n.id}`));
    expect(edges.map(([a, b]) => `${a}->${b}`).sort()).toEqual(expected.sort());
  });

  it("renders to SVG with every node drawn", async () => {
    const { g, loss, dW1, db1, dW2, db2 } = mlp();
    const dot = g.toDot({ outputs: { loss, dW1, db1, dW2, db2 }, title: 'MLP "demo"' });
    const svg = await renderSvg(dot);
    expect(svg.startsWith("<?xml") || svg.includes("<svg")).toBe(true);
    expect(svg).toContain("<svg");
    const { nodes } = parseDot(dot);
    expect((svg.match(/class="node"/g) ?? []).length).toBe(nodes.size);
    expect(svg).toContain("W1");
  });

  it("renderSvg rejects DOT with a syntax error (so rendering checks validity)", async () => {
    await expect(renderSvg("digraph { a -> ; }")).rejects.toThrow(/syntax error/);
  });

  it("groups module scopes into clusters", async () => {
    const g = new Graph();
    const x = g.input("x", [2, 3]);
    const W = g.scope("encoder", () => g.param("W", [4, 3]));
    const y = g.scope("encoder", () => linear(x, W).tanh());
    const dot = g.toDot({ outputs: { y } });
    parseDot(dot);
    expect(dot).toContain('label="encoder"');
    expect(dot).toMatch(/subgraph cluster_0 \{/);
    expect(await renderSvg(dot)).toContain('class="cluster"');
  });

  it("draws a constant by its value, as plain text", () => {
    const g = new Graph();
    const x = g.input("x", [2]);
    const y = x.mul(0.5);
    const c = y.inputs[1];
    const dot = g.toDot({ outputs: { y } });
    expect(dot).toContain(`n${c.id} [label="0.5", fillcolor=white, shape=plaintext];`);
  });
});

describe("constants in dumps", () => {
  it("a constant is a const node, not tagged as a gradient even when grad created it first", () => {
    const g = new Graph();
    const x = g.input("x", [2], { requiresGrad: true });
    grad(x.sum(), [x]); // creates the constant 1 (the seed) while marking gradient nodes
    const y = x.sub(1); // the primal reuses that constant
    const one = y.inputs[1];
    expect(one.op).toBe("const");
    expect(one.role).toBe("const");
    expect(one.isGradient).toBe(false);
    expect(g.toText({ outputs: { y } })).not.toContain("# grad");
  });
});

describe("a deep chain", () => {
  function chain(depth: number) {
    const g = new Graph();
    const x = g.input("x", [2], { requiresGrad: true });
    let y: Tensor = x;
    for (let i = 0; i < depth; i++) y = i % 2 === 0 ? y.mul(0.999) : y.sin();
    return { g, x, y };
  }

  it("of 5,000 ops dumps to text and DOT without a stack overflow", () => {
    const { g, y } = chain(5000);
    expect(g.nodes.length).toBeGreaterThanOrEqual(5001);
    const text = g.toText({ outputs: { y } });
    expect(text.trimEnd().split("\n")).toHaveLength(g.nodes.length + 1);
    expect(text.trimEnd().endsWith(`return y=%${g.nodes.length - 1}`)).toBe(true);
    const dot = g.toDot({ outputs: { y } });
    const { nodes, edges } = parseDot(dot);
    expect(nodes.size).toBe(g.nodes.length);
    expect(edges.length).toBe(g.nodes.reduce((n, t) => n + t.inputs.length, 0));
  });

  it("of 250,000 ops dumps to text (no call with one argument per node)", () => {
    const { g, y } = chain(250_000);
    const text = g.toText({ outputs: { y } });
    expect(text.trimEnd().endsWith(`return y=%${g.nodes.length - 1}`)).toBe(true);
  });

  it("of 5,000 ops differentiates, evaluates and dumps its gradient graph", () => {
    const { g, x, y } = chain(5000);
    const [dx] = grad(y.sum(), [x]);
    const [vy, vdx] = evaluate([y, dx], { x: [0.5, -1] });
    expect(Number.isFinite(vy[0])).toBe(true);
    expect(Number.isFinite(vdx[0])).toBe(true);
    const text = g.toText({ outputs: { dx } });
    expect(text.split("\n").length).toBeGreaterThan(10000);
    expect(() => g.toDot({ outputs: { dx } })).not.toThrow();
  });
});
