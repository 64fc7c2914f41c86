#!/usr/bin/env python3
"""PyTorch peer of the Adjoint benchmarks (eager mode, THREADS threads, default 1).

Run by benchmarks/src/systems/pytorch.ts as `python3 torch_bench.py WORKLOADS_JSON [THREADS]`. It reads the workloads'
starting data written by benchmarks/src/workloads.ts (so it trains on exactly the same numbers), then answers
one JSON request per stdin line with one JSON line on stdout. The first line it prints says whether torch
could be imported. Requests:
  {"op": "setup", "id": "W3"}                     fresh model + optimizer for a workload
  {"op": "steps", "n": 200}                       run n training steps -> {"loss": loss of the last step}
  {"op": "stream_steps", "from": 0, "n": 199}     n steps on the stream batches from, from + 1, ... (stream.ts),
                                                  then back to the fixed batch -> {"loss": of the last step}
  {"op": "time", "plan": {...}}                   time training steps -> {"samples": [ms per step, ...]}
  {"op": "setup_infer", "id": "W3"}               forward-only model
  {"op": "infer_time", "plan": {...}}             time forward passes -> {"samples": [...]}
  {"op": "infer_output"}                          -> {"logits": [...]} of one forward pass
  {"op": "matmul", "n": 512, "timeMs": 1000}      -> {"AB": ms, "AtB": ms, "ABt": ms} (median ms per call)
  {"op": "quit"}
"""

import json
import math
import os
import re
import sys
import time

# The thread count everywhere (argv[2], default 1), set before torch (and its BLAS / OpenMP runtime) is loaded.
THREADS = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2].isdigit() else "1"
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = THREADS


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def blas_description(torch):
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if line.split() else ""
                name = os.path.basename(path)
                if "blas" in name or "mkl" in name or "lapack" in name:
                    libs.add(path)
    except OSError:
        pass
    m = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return {"loaded": sorted(libs), "config": f"BLAS_INFO={m.group(1)}" if m else ""}


def load_workloads(path, np):
    with open(path) as f:
        manifest = json.load(f)
    with open(os.path.join(os.path.dirname(path), manifest["bin"]), "rb") as f:
        blob = f.read()
    out = {}
    for w in manifest["workloads"]:
        arrays = {}
        for key, e in w["arrays"].items():
            dtype = np.float32 if e["dtype"] == "float32" else np.int32
            arrays[key] = np.frombuffer(blob, dtype=dtype, count=e["length"], offset=e["offset"]).reshape(e["shape"])
        w["data"] = arrays
        out[w["id"]] = w
    return out


def main():
    if len(sys.argv) < 2:
        reply({"ok": False, "error": "usage: torch_bench.py WORKLOADS_JSON [THREADS]"})
        return
    try:
        import numpy as np
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure means "skipped"
        reply({"ok": False, "error": f"cannot import torch: {type(e).__name__}: {e}"})
        return
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)
    workloads = load_workloads(sys.argv[1], np)
    reply(
        {
            "ok": True,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "blas": blas_description(torch),
        }
    )

    nn = torch.nn
    state = {}

    def build_lenet(w):
        # benchmarks/src/lenet.ts; the arrays p0..p9 are its parameters in this parameters() order.
        model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )
        with torch.no_grad():
            for i, p in enumerate(model.parameters()):
                p.copy_(torch.from_numpy(w["data"][f"p{i}"].copy()))
        return model

    def build_model(w):
        if w.get("arch") == "lenet5":
            return build_lenet(w)
        sizes = w["sizes"]
        layers = []
        for l in range(len(sizes) - 1):
            lin = nn.Linear(sizes[l], sizes[l + 1])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w["data"][f"w{l}"].copy()))
                lin.bias.copy_(torch.from_numpy(w["data"][f"b{l}"].copy()))
            layers.append(lin)
            if l < len(sizes) - 2:
                layers.append(nn.ReLU() if w["activation"] == "relu" else nn.Tanh())
        return nn.Sequential(*layers)

    def setup(w):
        model = build_model(w)
        x = torch.from_numpy(w["data"]["x"].copy())
        # The batch the next step trains on: the fixed one, or a stream batch during stream_steps.
        batch = {}
        if w["loss"] == "softmax-ce":
            y = torch.from_numpy(w["data"]["labels"].astype(np.int64))
            loss_fn = nn.CrossEntropyLoss()
        else:
            y = torch.from_numpy(w["data"]["target"].copy())
            loss_fn = nn.MSELoss(reduction="sum" if w["loss"] == "mse-sum" else "mean")
        o = w["optimizer"]
        if o["kind"] == "sgd":
            opt = torch.optim.SGD(model.parameters(), lr=o["lr"])
        elif o["kind"] == "momentum":
            opt = torch.optim.SGD(model.parameters(), lr=o["lr"], momentum=o["momentum"])
        else:
            opt = torch.optim.Adam(model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"])

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(batch["x"]), batch["y"])
            loss.backward()
            opt.step()
            state["last"] = loss

        def stream_steps(start, n):
            d = w["data"]
            if "stream_x" not in d:
                raise ValueError(f"workload {w['id']} has no stream batches")
            b = w["batch"]
            for i in range(start, start + n):
                batch["x"] = torch.from_numpy(d["stream_x"][i * b:(i + 1) * b].copy())
                batch["y"] = torch.from_numpy(d["stream_labels"][i * b:(i + 1) * b].astype(np.int64))
                step()
            batch["x"], batch["y"] = x, y

        batch["x"], batch["y"] = x, y
        state["step"] = step
        state["stream_steps"] = stream_steps

    def setup_infer(w):
        model = build_model(w).eval()
        x = torch.from_numpy(w["data"]["x"].copy())

        def run():
            with torch.no_grad():
                state["out"] = model(x)

        state["run"] = run

    def time_fn(fn, plan):
        now = time.perf_counter
        # Calibrate (this also warms up): how long is one call?
        t0 = now()
        n = 0
        while n < 1 or now() - t0 < 0.05:
            fn()
            n += 1
        per_ms = (now() - t0) * 1000 / n
        reps = max(1, math.ceil(plan["minSampleMs"] / max(per_ms, 1e-6)))
        end = now() + plan["warmupMs"] / 1000
        i = 0
        while i < plan["warmupIterations"] or now() < end:
            for _ in range(reps):
                fn()
            i += 1
        samples = []
        start = now()
        while len(samples) < plan["minSamples"] or (now() - start) * 1000 < plan["timeMs"]:
            t = now()
            for _ in range(reps):
                fn()
            samples.append((now() - t) * 1000 / reps)
        return samples, reps

    def matmul(n, time_ms):
        a = torch.rand(n, n)
        b = torch.rand(n, n)
        cases = {"AB": lambda: a @ b, "AtB": lambda: a.t() @ b, "ABt": lambda: a @ b.t()}
        out = {}
        for name, fn in cases.items():
            samples, _ = time_fn(fn, {"minSampleMs": 0, "warmupMs": 100, "warmupIterations": 2,
                                      "minSamples": 5, "timeMs": time_ms})
            samples.sort()
            out[name] = samples[len(samples) // 2]
        return out

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            op = req["op"]
            if op == "quit":
                reply({"ok": True})
                return
            if op == "setup":
                setup(workloads[req["id"]])
                reply({"ok": True})
            elif op == "steps":
                for _ in range(req["n"]):
                    state["step"]()
                reply({"ok": True, "loss": state["last"].item()})
            elif op == "stream_steps":
                state["stream_steps"](req["from"], req["n"])
                reply({"ok": True, "loss": state["last"].item()})
            elif op == "time":
                samples, reps = time_fn(state["step"], req["plan"])
                reply({"ok": True, "samples": samples, "stepsPerSample": reps})
            elif op == "setup_infer":
                setup_infer(workloads[req["id"]])
                reply({"ok": True})
            elif op == "infer_time":
                samples, reps = time_fn(state["run"], req["plan"])
                reply({"ok": True, "samples": samples, "stepsPerSample": reps})
            elif op == "infer_output":
                state["run"]()
                reply({"ok": True, "logits": state["out"].reshape(-1).tolist()})
            elif op == "matmul":
                reply({"ok": True, "ms": matmul(req["n"], req.get("timeMs", 1000))})
            else:
                reply({"ok": False, "error": f"unknown op {op}"})
        except Exception as e:  # noqa: BLE001 - report, keep serving
            reply({"ok": False, "error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
