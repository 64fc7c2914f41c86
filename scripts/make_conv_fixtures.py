"""Reference values for conv2d, max/avg pooling, pad, batch norm and layer norm, computed with PyTorch
in float64: outputs and gradients of every input.

Rerun (from the repository root; needs a Python that has torch):

    /usr/bin/python3 scripts/make_conv_fixtures.py

Writes tests/fixtures/conv/cases.json: {"torch": version, "cases": [...]}, each case
    op      : "conv2d" | "maxPool2d" | "avgPool2d" | "pad" | "batchNorm" | "layerNorm"
    attrs   : the op's options, with Adjoint's names (stride, padding, dilation, groups, kernel, pads,
              value, eps, normalizedShape)
    inputs  : {name: {"shape": [...], "values": [...]}} (x, and w, b, weight, bias where used)
    cot     : the cotangent C of the output (the loss is sum(y * C))
    output  : {"shape", "values"} of y
    grads   : {name: values} d sum(y * C) / d input, for every input
Inputs are uniform in [-1, 1) from a seeded generator. Max-pool inputs are rounded to multiples of
1/8, so windows hold exact ties: torch sends the gradient to the first maximum, which the fixtures
pin down. Cases cover odd sizes, strides 1-3, paddings, dilations, groups (depthwise too), batch 1,
1x1 kernels and kernels larger than the stride.
"""

import json
import os
import random

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = random.Random(11)
gen = torch.Generator().manual_seed(11)


def uniform(shape, quantize=None):
    t = torch.rand(*shape, generator=gen) * 2 - 1
    if quantize:
        t = torch.round(t * quantize) / quantize
    return t


def record(op, attrs, inputs, fn):
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**leaves)
    cot = uniform(y.shape)
    (y * cot).sum().backward()
    return {
        "op": op,
        "attrs": attrs,
        "inputs": {k: {"shape": list(v.shape), "values": v.flatten().tolist()} for k, v in inputs.items()},
        "cot": cot.flatten().tolist(),
        "output": {"shape": list(y.shape), "values": y.detach().flatten().tolist()},
        "grads": {k: v.grad.flatten().tolist() for k, v in leaves.items()},
    }


def conv_case(n, c, h, w, o, k, stride, padding, dilation, groups, bias):
    x = uniform([n, c, h, w])
    wt = uniform([o, c // groups, k[0], k[1]])
    inputs = {"x": x, "w": wt}
    if bias:
        inputs["b"] = uniform([o])
    attrs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}

    def fn(x, w, b=None):
        return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)

    return record("conv2d", attrs, inputs, fn)


def fits(size, k, s, p, d):
    return size + 2 * p >= d * (k - 1) + 1


cases = []
# Hand-picked: LeNet's layers, batch 1, 1x1, depthwise, kernel larger than the stride, asymmetric pairs.
cases.append(conv_case(2, 1, 12, 12, 3, [5, 5], [1, 1], [2, 2], [1, 1], 1, True))
cases.append(conv_case(1, 3, 7, 9, 4, [1, 1], [1, 1], [0, 0], [1, 1], 1, True))
cases.append(conv_case(2, 4, 7, 7, 4, [3, 3], [1, 1], [1, 1], [1, 1], 4, True))  # depthwise
cases.append(conv_case(1, 2, 9, 8, 3, [4, 3], [2, 3], [1, 0], [1, 2], 1, False))
cases.append(conv_case(3, 6, 8, 7, 4, [3, 2], [3, 2], [2, 1], [2, 1], 2, True))
# Random configurations.
while len(cases) < 14:
    groups = rng.choice([1, 1, 2, 3])
    c = groups * rng.randint(1, 3)
    o = groups * rng.randint(1, 3)
    k = [rng.randint(1, 4), rng.randint(1, 4)]
    s = [rng.randint(1, 3), rng.randint(1, 3)]
    p = [rng.randint(0, 2), rng.randint(0, 2)]
    d = [rng.randint(1, 2), rng.randint(1, 2)]
    h, w = rng.randint(3, 9), rng.randint(3, 9)
    if not (fits(h, k[0], s[0], p[0], d[0]) and fits(w, k[1], s[1], p[1], d[1])):
        continue
    cases.append(conv_case(rng.randint(1, 3), c, h, w, o, k, s, p, d, groups, rng.random() < 0.7))


def pool_case(op, shape, kernel, stride, padding):
    x = uniform(shape, quantize=8 if op == "maxPool2d" else None)
    attrs = {"kernel": kernel, "stride": stride, "padding": padding}
    if op == "maxPool2d":
        fn = lambda x: F.max_pool2d(x, kernel, stride, padding)  # noqa: E731
    else:
        fn = lambda x: F.avg_pool2d(x, kernel, stride, padding, count_include_pad=True)  # noqa: E731
    return record(op, attrs, {"x": x}, fn)


for op in ["maxPool2d", "avgPool2d"]:
    cases.append(pool_case(op, [2, 3, 8, 8], [2, 2], [2, 2], [0, 0]))
    cases.append(pool_case(op, [1, 2, 7, 9], [3, 3], [2, 2], [1, 1]))
    cases.append(pool_case(op, [2, 1, 6, 7], [3, 2], [1, 2], [1, 0]))
    cases.append(pool_case(op, [3, 5, 5], [2, 3], [3, 1], [0, 1]))

for pads, value in [([1, 2, 0, 3], 0.0), ([0, 0, 2, 1], -1.5)]:
    x = uniform([2, 2, 3, 4])
    top, bottom, left, right = pads
    fn = lambda x, pads=pads, value=value: F.pad(x, [pads[2], pads[3], pads[0], pads[1]], value=value)  # noqa: E731
    cases.append(record("pad", {"pads": pads, "value": value}, {"x": x}, fn))

for shape in [[5, 3], [4, 3, 2, 3], [3, 2, 5]]:
    c = shape[1]
    inputs = {"x": uniform(shape) * 2 + 0.5, "weight": uniform([c]), "bias": uniform([c])}
    fn = lambda x, weight, bias: F.batch_norm(x, None, None, weight, bias, training=True, eps=1e-5)  # noqa: E731
    cases.append(record("batchNorm", {"eps": 1e-5}, inputs, fn))

for shape, norm in [([4, 6], [6]), ([2, 3, 4, 5], [4, 5]), ([3, 2, 4], [2, 4])]:
    inputs = {"x": uniform(shape) * 3, "weight": uniform(norm), "bias": uniform(norm)}
    fn = lambda x, weight, bias, norm=norm: F.layer_norm(x, norm, weight, bias, eps=1e-5)  # noqa: E731
    cases.append(record("layerNorm", {"normalizedShape": norm, "eps": 1e-5}, inputs, fn))

out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "conv", "cases.json")
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")


# ---- A small CNN trained 3 steps (SGD, lr 0.1): the modules' state_dict keys, BatchNorm's batch statistics
# and running estimates updated by the step, and eval mode. Initial weights are rounded to float32 (Adjoint
# stores params in float32); everything else is float64. Written to tests/fixtures/conv/train.json:
#   init    : state_dict before training {key: {"shape", "values"}} (torch's keys, buffers included)
#   x, t    : the batch [4, 2, 6, 6] and its class indices [4]
#   losses  : the loss at each of the 3 steps
#   final   : state_dict after the 3 steps
#   eval    : logits of the trained model in eval mode on x
torch.manual_seed(3)
model = torch.nn.Sequential(
    torch.nn.Conv2d(2, 3, 3, padding=1),
    torch.nn.BatchNorm2d(3),
    torch.nn.ReLU(),
    torch.nn.MaxPool2d(2),
    torch.nn.Flatten(),
    torch.nn.Linear(27, 8),
    torch.nn.BatchNorm1d(8),
    torch.nn.ReLU(),
    torch.nn.Linear(8, 3),
)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(p.float().double())
    # Non-trivial affine parameters for the norms (torch starts them at ones and zeros).
    model[1].weight.copy_(torch.tensor([1.5, 0.75, 1.25]))
    model[1].bias.copy_(torch.tensor([0.25, -0.5, 0.125]))


def state(m):
    return {k: {"shape": list(v.shape), "values": v.double().flatten().tolist()} for k, v in m.state_dict().items()}


x = torch.round(uniform([4, 2, 6, 6]) * 64) / 64
t = torch.tensor([0, 2, 1, 2])
init = state(model)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
losses = []
for _ in range(3):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), t)
    loss.backward()
    opt.step()
    losses.append(loss.item())
final = state(model)
model.eval()
with torch.no_grad():
    logits = model(x)
train_out = os.path.join(os.path.dirname(out), "train.json")
with open(train_out, "w") as f:
    json.dump(
        {
            "torch": torch.__version__,
            "init": init,
            "x": x.flatten().tolist(),
            "t": t.tolist(),
            "losses": losses,
            "final": final,
            "eval": logits.flatten().tolist(),
        },
        f,
    )
print(f"wrote {os.path.normpath(train_out)}")
