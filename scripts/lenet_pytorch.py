"""The LeNet-5 of `adjoint train --model cnn`, trained with PyTorch on the same MNIST split, to compare
test accuracies (issue 11).

    /usr/bin/python3 scripts/lenet_pytorch.py --recipe issue --seeds 0,1,2
    /usr/bin/python3 scripts/lenet_pytorch.py --recipe default --seeds 0,1,2

For each seed it exports the split `adjoint train --seed S` uses (scripts/export-mnist-split.ts: 7,200 train,
800 validation, 2,000 test of the mnist package) and trains on the train part, one thread (torch's default
init; weights are not shared with Adjoint, so accuracies agree within seed-to-seed noise, not exactly).

Recipes (the same as the CLI's):
  issue    conv 1->6 5x5 pad 2, ReLU, max pool 2, conv 6->16 5x5, ReLU, max pool 2, flatten,
           400->120->84->10 (ReLU); Adam lr 1e-3, batch 64, 10 epochs, shuffled each epoch.
  default  the same network with BatchNorm2d after each conv and BatchNorm1d after each hidden Linear
           (`adjoint train`, i.e. --model cnn-bn with no other options): Adam lr 3e-3 decayed per
           epoch as lr*exp(-0.35*k), batch 64, 6 epochs.
"""

import argparse
import math
import os
import subprocess
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))


def load_split(seed):
    folder = f"/tmp/adjoint-mnist-split-{seed}"
    if not os.path.exists(os.path.join(folder, "test_y.f32")):
        subprocess.run(
            ["npx", "tsx", "scripts/export-mnist-split.ts", str(seed), folder], cwd=ROOT, check=True
        )
    out = {}
    for part in ["train", "val", "test"]:
        x = np.fromfile(os.path.join(folder, f"{part}_x.f32"), dtype="<f4").reshape(-1, 1, 28, 28)
        y = np.fromfile(os.path.join(folder, f"{part}_y.f32"), dtype="<f4").astype(np.int64)
        out[part] = (torch.from_numpy(x.copy()), torch.from_numpy(y))
    return out


def lenet(batch_norm):
    bn2 = (lambda c: nn.BatchNorm2d(c)) if batch_norm else (lambda c: nn.Identity())
    bn1 = (lambda c: nn.BatchNorm1d(c)) if batch_norm else (lambda c: nn.Identity())
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), bn2(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), bn2(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), bn1(120), nn.ReLU(),
        nn.Linear(120, 84), bn1(84), nn.ReLU(),
        nn.Linear(84, 10),
    )


RECIPES = {
    "issue": dict(batch_norm=False, lr=1e-3, epochs=10, decay=0.0),
    "default": dict(batch_norm=True, lr=3e-3, epochs=6, decay=0.35),
}


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(1)
    model.train()
    return (pred == y).float().mean().item()


def run(recipe, seed, batch=64):
    r = RECIPES[recipe]
    data = load_split(seed)
    torch.manual_seed(seed)
    model = lenet(r["batch_norm"])
    opt = torch.optim.Adam(model.parameters(), lr=r["lr"])
    x, y = data["train"]
    n = x.shape[0]
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for epoch in range(r["epochs"]):
        for group in opt.param_groups:
            group["lr"] = r["lr"] * math.exp(-r["decay"] * epoch)
        order = torch.randperm(n, generator=g)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    seconds = time.perf_counter() - t0
    return accuracy(model, *data["val"]), accuracy(model, *data["test"]), seconds


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", choices=sorted(RECIPES), default="issue")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    tests = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        val, test, seconds = run(a.recipe, seed)
        tests.append(test)
        print(f"recipe {a.recipe} seed {seed}: val {val:.4f} test {test:.4f} ({seconds:.1f} s training, torch {torch.__version__}, {a.threads} thread)")
    print(f"recipe {a.recipe}: mean test accuracy {np.mean(tests):.4f} over {len(tests)} seeds")


if __name__ == "__main__":
    main()
