#!/usr/bin/env python3
"""PyTorch peer of benchmark W5 (LeNet-5, eager mode, one thread).

Run by benchmarks/src/w5/pytorch.ts as `python3 lenet_bench.py DATA.bin`: DATA.bin holds the float32
parameters (torch's layouts, in the order of data.ts's PARAMS), x [64,1,28,28] and the int32 labels. Then one
request per stdin line, one JSON line back:
  step N      -> {"ms": mean ms per step over N steps, "loss": loss of the last step}
  forward N   -> {"ms": mean ms per forward}
  quit
"""
import json
import os
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

try:
    import numpy as np
    import torch
except Exception as e:  # reported as a skip by the Node side
    print(json.dumps({"ok": False, "error": f"cannot import torch: {e}"}), flush=True)
    sys.exit(0)

torch.set_num_threads(1)
SHAPES = [[6, 1, 5, 5], [6], [16, 6, 5, 5], [16], [120, 400], [120], [84, 120], [84], [10, 84], [10]]
blob = open(sys.argv[1], "rb").read()
at = 0
params = []
for s in SHAPES:
    n = int(np.prod(s))
    params.append(torch.from_numpy(np.frombuffer(blob, np.float32, n, at).copy()).reshape(s))
    at += 4 * n
x = torch.from_numpy(np.frombuffer(blob, np.float32, 64 * 784, at).copy()).reshape(64, 1, 28, 28)
at += 4 * 64 * 784
labels = torch.from_numpy(np.frombuffer(blob, np.int32, 64, at).astype(np.int64))

nn = torch.nn
model = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
)
with torch.no_grad():
    for p, v in zip(model.parameters(), params):
        p.copy_(v)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
loss_fn = nn.CrossEntropyLoss()


def step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), labels)
    loss.backward()
    opt.step()
    return loss


print(json.dumps({"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    parts = line.split()
    if not parts or parts[0] == "quit":
        break
    n = int(parts[1])
    if parts[0] == "step":
        t = time.perf_counter()
        for _ in range(n):
            loss = step()
        ms = (time.perf_counter() - t) * 1000 / n
        print(json.dumps({"ms": ms, "loss": loss.item()}), flush=True)
    else:
        with torch.no_grad():
            t = time.perf_counter()
            for _ in range(n):
                model(x)
            ms = (time.perf_counter() - t) * 1000 / n
        print(json.dumps({"ms": ms}), flush=True)
