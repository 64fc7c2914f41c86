/**
 * jax-js (wasm device, one thread in Node): lax.convGeneralDilated (NCHW, torch's weight layout), the 2×2
 * max pools as a reshape and a max over the window axes (it has no max-pool op; for non-overlapping windows
 * that is the same function), the step as jit(valueAndGrad + Adam) as in the harness's jax-js system.
 */
import type * as JaxNs from "@jax-js/jax";
import { BATCH, LR, PARAMS, type W5Data, type W5Runner } from "./data";

type Arr = JaxNs.numpy.Array;

export async function jaxRunner(data: W5Data): Promise<W5Runner> {
  const jax = await import("@jax-js/jax");
  const devices = await jax.init("wasm");
  if (!devices.includes("wasm"))
    throw new Error(`jax-js wasm backend unavailable (got ${devices.join(", ")})`);
  jax.defaultDevice("wasm");
  const { numpy: np, nn, lax, tree } = jax;
  const pool = (h: Arr, C: number, S: number) => h.reshape([BATCH, C, S / 2, 2, S / 2, 2]).max([3, 5]);
  const forward = (p: Arr[], x: Arr): Arr => {
    let h = nn.relu(
      lax
        .convGeneralDilated(
          x,
          p[0],
          [1, 1],
          [
            [2, 2],
            [2, 2],
          ],
        )
        .add(p[1].reshape([6, 1, 1])),
    );
    h = pool(h, 6, 28);
    h = nn.relu(lax.convGeneralDilated(h, p[2], [1, 1], "VALID").add(p[3].reshape([16, 1, 1])));
    h = pool(h, 16, 10).reshape([BATCH, 400]);
    h = nn.relu(np.dot(h, p[4].transpose()).add(p[5]));
    h = nn.relu(np.dot(h, p[6].transpose()).add(p[7]));
    return np.dot(h, p[8].transpose()).add(p[9]);
  };
  const lossFn = (p: Arr[], x: Arr, y: Arr): Arr =>
    nn
      .logSoftmax(forward(p, x))
      .mul(y)
      .sum()
      .mul(-1 / BATCH);
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  type State = { count: Arr; m: Arr[]; v: Arr[] };
  const trainStep = jax.jit((p: Arr[], s: State, x: Arr, y: Arr) => {
    const [loss, g] = jax.valueAndGrad(lossFn)(tree.ref(p), x, y);
    const count = s.count.add(1);
    const bc1 = np.subtract(1, np.power(beta1, count.ref));
    const bc2 = np.subtract(1, np.power(beta2, count.ref));
    const newP: Arr[] = [];
    const m2: Arr[] = [];
    const v2: Arr[] = [];
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      const m = s.m[i].mul(beta1).add(gi.ref.mul(1 - beta1));
      const v = s.v[i].mul(beta2).add(np.square(gi).mul(1 - beta2));
      newP.push(
        p[i].sub(
          m.ref
            .div(bc1.ref)
            .div(np.sqrt(v.ref.div(bc2.ref)).add(eps))
            .mul(LR),
        ),
      );
      m2.push(m);
      v2.push(v);
    }
    bc1.dispose();
    bc2.dispose();
    return { loss, p: newP, s: { count, m: m2, v: v2 } };
  });
  const predict = jax.jit(forward);
  let params: Arr[] = PARAMS.map(([, shape], i) => np.array(data.params[i]).reshape(shape));
  let state: State = {
    count: np.array(0),
    m: params.map((a) => np.zerosLike(a.ref)),
    v: params.map((a) => np.zerosLike(a.ref)),
  };
  const x = np.array(data.x).reshape([BATCH, 1, 28, 28]);
  const y = nn.oneHot(np.array(data.labels, { dtype: np.int32 }), 10);
  await jax.blockUntilReady([params, state, x, y]);
  let last: Arr | null = null;
  let out: Arr | null = null;
  return {
    name: "jax-js",
    describe: "@jax-js/jax, wasm device, jit(valueAndGrad + Adam); lax.convGeneralDilated",
    async step() {
      const r = trainStep(params, state, x.ref, y.ref);
      params = r.p;
      state = r.s;
      last?.dispose();
      last = r.loss;
      await jax.blockUntilReady(params);
    },
    async loss() {
      return last ? (await last.ref.data())[0] : Number.NaN;
    },
    async forward() {
      out?.dispose();
      out = predict(tree.ref(params), x.ref);
      await out.blockUntilReady();
    },
    dispose() {
      last?.dispose();
      out?.dispose();
      tree.dispose([params, state, x, y]);
      trainStep.dispose();
      predict.dispose();
    },
  };
}
