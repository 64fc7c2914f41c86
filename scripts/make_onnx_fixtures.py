"""ONNX files exported by PyTorch (torch.onnx.export), with inputs, PyTorch's outputs and gradients.

Rerun (from the repository root; needs a Python that has torch, e.g. Debian's python3-torch):

    /usr/bin/python3 scripts/make_onnx_fixtures.py

Generated with torch 1.13.0a0 (Debian's python3-torch), whose exporter writes opsets up to 17; the
version used is written into every JSON file as "torch". For each model NAME it writes to
tests/fixtures/onnx/:
    NAME.onnx : the model, exported in eval mode with its params as initializers (kept by name; batch
                norms as BatchNormalization nodes, their running statistics as initializers)
    NAME.json : torch    : torch version
                opset    : the opset it was exported with
                input    : {"name", "shape", "data"} (float32 values, flat, row-major)
                output   : {"name", "shape", "data"} PyTorch's output for that input
                loss     : "sum(output * weights)": the scalar whose gradients are given
                weights  : the loss weights (same shape as the output)
                grads    : {param name: d loss / d param} for every param (names = the ONNX initializers)
                dynamic  : true when axis 0 of the input and output is a symbolic "batch"
Inputs and params are drawn from torch.manual_seed(NAME's index) (params: torch's default init).
"""

import json
import os

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "onnx")


class Ops(nn.Module):
    """The elementwise and layout ops torch writes for a hand-written forward: MatMul, Sub, Div, Mul,
    Transpose, Concat, Reshape (constant shape), Identity."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(5, 4) * 0.5)
        self.c = nn.Parameter(torch.randn(4) * 0.1)

    def forward(self, x):
        h = torch.matmul(x, self.w)  # [N,4]
        h = (h - self.c) / 2.0 * torch.sigmoid(h)
        h = torch.cat([h, torch.tanh(h)], dim=1)  # [N,8]
        h = h.reshape(-1, 2, 4).transpose(1, 2).reshape(-1, 8)
        return torch.relu(h) + h * 0.1


def cnn():
    """Every convolutional op torch writes for a small CNN: Pad (asymmetric ZeroPad2d), Conv (padded;
    strided, dilated, grouped), BatchNormalization, MaxPool (padded), AveragePool (padded, counting it),
    Flatten, Gemm, LayerNormalization."""
    return nn.Sequential(
        nn.ZeroPad2d((1, 0, 1, 0)),
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2, padding=1),
        nn.Conv2d(4, 6, (3, 2), stride=(1, 2), dilation=(1, 2), groups=2),
        nn.AvgPool2d(2, stride=1, padding=1),
        nn.Flatten(),
        nn.Linear(72, 8),
        nn.LayerNorm(8),
        nn.Linear(8, 3),
    )


def lenet():
    """A LeNet-like net with a global average pool (GlobalAveragePool), dynamic batch, opset 13."""
    return nn.Sequential(
        nn.Conv2d(1, 3, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 3), nn.Tanh(), nn.AvgPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3),
    )


MODELS = [
    # name, module, input shape, opset, dynamic batch
    ("mlp_relu", lambda: nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4)), [3, 6], 13, False),
    (
        "mlp_tanh_softmax",
        lambda: nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3), nn.Softmax(dim=1)),
        [4, 5],
        17,
        True,
    ),
    (
        "mlp_gelu",
        lambda: nn.Sequential(
            nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 8), nn.GELU(approximate="tanh"),
            nn.Linear(8, 6), nn.LeakyReLU(0.2), nn.Linear(6, 3), nn.Sigmoid(),
        ),
        [2, 4],
        15,
        False,
    ),
    (
        "flatten_logsoftmax",
        lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.ReLU(), nn.Dropout(0.3), nn.Linear(6, 4), nn.LogSoftmax(dim=1)),
        [2, 3, 4],
        14,
        True,
    ),
    ("ops", Ops, [3, 5], 16, False),
    # Fits the iris dataset (4 features, 3 classes; logits): `adjoint train --dataset iris --init-from` it.
    ("iris_mlp", lambda: nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3)), [5, 4], 17, True),
    ("cnn", cnn, [2, 2, 8, 8], 17, False),
    ("lenet", lenet, [2, 1, 12, 12], 13, True),
]


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def main():
    os.makedirs(OUT, exist_ok=True)
    for index, (name, make, shape, opset, dynamic) in enumerate(MODELS):
        torch.manual_seed(index)
        model = make()
        with torch.no_grad():  # batch norms get non-trivial running statistics
            for _ in range(3):
                model.train()(torch.randn(*shape) * 2 + 0.5)
        model.eval()
        x = torch.randn(*shape)
        path = os.path.join(OUT, f"{name}.onnx")
        axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic else None
        torch.onnx.export(
            model, (x,), path, input_names=["x"], output_names=["y"], opset_version=opset,
            dynamic_axes=axes, do_constant_folding=True,
            # PRESERVE (the model is in eval mode): batch norms stay BatchNormalization nodes with their
            # params, instead of being folded into the convolutions' weights (EVAL's peephole).
            training=torch.onnx.TrainingMode.PRESERVE,
        )
        y = model(x)
        weights = torch.randn(*y.shape)
        loss = (y * weights).sum()
        params = dict(model.named_parameters())
        grads = torch.autograd.grad(loss, list(params.values()))
        record = {
            "torch": torch.__version__,
            "opset": opset,
            "input": {"name": "x", "shape": list(x.shape), "data": flat(x)},
            "output": {"name": "y", "shape": list(y.shape), "data": flat(y)},
            "loss": "sum(output * weights)",
            "weights": flat(weights),
            "grads": {k: flat(g) for k, g in zip(params.keys(), grads)},
            "dynamic": dynamic,
        }
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(record, f)
        print(name, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
