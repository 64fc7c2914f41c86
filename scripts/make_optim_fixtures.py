"""Reference trajectories of every optimizer, computed with PyTorch (float64).

Rerun (from the repository root; needs a Python that has torch and numpy):

    /usr/bin/python3 scripts/make_optim_fixtures.py

Generated with torch 1.13.0a0 (Debian's python3-torch); the version actually
used is also written into every JSON file as "torch". Outputs go to
tests/fixtures/optim/: problem.json (the fixed problem) and one <name>.json
per optimizer config.

The fixed problem
-----------------
Model: Linear(3->4) (W1 [4,3], b1 [4]), tanh, Linear(4->2) (W2 [2,4], b2 [2]):
    y = tanh(x . W1^T + b1) . W2^T + b2
Data (i = row, j = column, radians):
    x [5,3]:  x[i][j] = sin(1 + 3*i + j)
    t [5,2]:  t[i][j] = cos(2 + 2*i + j)
Initial params (k = row-major flat index; for vectors k = i):
    W1[i][j] = 0.3*sin(0.7*(i*3+j) + 0.1)
    b1[i]    = 0.1*cos(i + 0.5)
    W2[i][j] = 0.4*cos(0.9*(i*4+j) + 0.2)
    b2[i]    = 0.05*(i + 1)
Loss: mean((y - t)^2) over all 10 elements.
Each config runs 5 steps of: zero_grad(); loss.backward(); [clip]; step().

Each <name>.json holds:
    torch    : torch version string
    config   : {"optimizer": <torch class name>, <options as passed, torch names>}
    defaults : the optimizer's full resolved hyper-parameters (optimizer.defaults)
    lrs      : (schedules only) the lr used at step k = 0..4
    initial  : {"W1": [...], "b1": [...], "W2": [...], "b2": [...]} (flat, row-major)
    losses   : 5 numbers, the loss computed right before each step
               (for rmsprop_nesterov: the loss at the look-ahead point)
    params   : 5 dicts like `initial`, the params after each step
"""

import json
import math
import os

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

STEPS = 5
NAMES = ["W1", "b1", "W2", "b2"]
SHAPES = {"W1": (4, 3), "b1": (4,), "W2": (2, 4), "b2": (2,)}
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "optim")


# ---------------------------------------------------------------- problem


def make_data():
    x = [[math.sin(1 + 3 * i + j) for j in range(3)] for i in range(5)]
    t = [[math.cos(2 + 2 * i + j) for j in range(2)] for i in range(5)]
    return x, t


def initial_values():
    w1 = [[0.3 * math.sin(0.7 * (i * 3 + j) + 0.1) for j in range(3)] for i in range(4)]
    b1 = [0.1 * math.cos(i + 0.5) for i in range(4)]
    w2 = [[0.4 * math.cos(0.9 * (i * 4 + j) + 0.2) for j in range(4)] for i in range(2)]
    b2 = [0.05 * (i + 1) for i in range(2)]
    return {"W1": w1, "b1": b1, "W2": w2, "b2": b2}


X_LIST, T_LIST = make_data()
X = torch.tensor(X_LIST)
T = torch.tensor(T_LIST)


def fresh_params():
    init = initial_values()
    return {n: torch.tensor(init[n], requires_grad=True) for n in NAMES}


def forward_loss(p):
    h = torch.tanh(torch.nn.functional.linear(X, p["W1"], p["b1"]))
    y = torch.nn.functional.linear(h, p["W2"], p["b2"])
    return torch.mean((y - T) ** 2)


def flat(p):
    return {n: [float(v) for v in p[n].detach().reshape(-1).tolist()] for n in NAMES}


# ------------------------------------------------ independent numpy maths


def np_loss_and_grads(pv):
    """Forward + hand-written backprop in numpy; pv maps names to arrays."""
    x = np.array(X_LIST)
    t = np.array(T_LIST)
    z = x @ pv["W1"].T + pv["b1"]
    h = np.tanh(z)
    y = h @ pv["W2"].T + pv["b2"]
    d = y - t
    loss = float(np.mean(d**2))
    dy = 2.0 * d / d.size
    g_w2 = dy.T @ h
    g_b2 = dy.sum(axis=0)
    dz = (dy @ pv["W2"]) * (1.0 - h**2)
    g_w1 = dz.T @ x
    g_b1 = dz.sum(axis=0)
    return loss, {"W1": g_w1, "b1": g_b1, "W2": g_w2, "b2": g_b2}


def np_initial():
    init = initial_values()
    return {n: np.array(init[n], dtype=np.float64) for n in NAMES}


def assert_close(a, b, what, tol=1e-13):
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    err = float(np.max(np.abs(a - b) / (1.0 + np.abs(b))))
    assert err < tol, f"{what}: mismatch {err}"


# ---------------------------------------------------------------- runners


def run_torch(cls, opts, clip=None, lrs=None):
    p = fresh_params()
    params = [p[n] for n in NAMES]
    opt = cls(params, **opts)
    losses, traj, grad_norms = [], [], []
    for k in range(STEPS):
        if lrs is not None:
            for group in opt.param_groups:
                group["lr"] = lrs[k]
        opt.zero_grad()
        loss = forward_loss(p)
        losses.append(float(loss.item()))
        loss.backward()
        if clip is not None:
            total = torch.nn.utils.clip_grad_norm_(params, max_norm=clip)
            grad_norms.append(float(total.item()))
        opt.step()
        traj.append(flat(p))
    defaults = {}
    for key, val in opt.defaults.items():
        if isinstance(val, tuple):
            val = list(val)
        if val is None or isinstance(val, (bool, int, float, str, list)):
            defaults[key] = val
    return losses, traj, defaults, grad_norms


def run_rmsprop_nesterov(lr, alpha, momentum, eps):
    """Goodfellow et al., Deep Learning, Algorithm 8.7 (section 8.5.2)."""
    p = fresh_params()
    v = {n: torch.zeros_like(p[n]) for n in NAMES}
    r = {n: torch.zeros_like(p[n]) for n in NAMES}
    losses, traj = [], []
    for _ in range(STEPS):
        ahead = {n: (p[n].detach() + momentum * v[n]).requires_grad_(True) for n in NAMES}
        loss = forward_loss(ahead)
        losses.append(float(loss.item()))
        loss.backward()
        with torch.no_grad():
            for n in NAMES:
                g = ahead[n].grad
                r[n] = alpha * r[n] + (1 - alpha) * g * g
                v[n] = momentum * v[n] - lr * g / (torch.sqrt(r[n]) + eps)
                p[n].add_(v[n])
        traj.append(flat(p))
    return losses, traj


# ---------------------------------------------------------------- configs

A0 = 0.1
TIME_TAU = 0.5
EXP_TAU = 0.3


def time_decay_lrs():
    lrs = [A0]
    for k in range(1, STEPS):
        lrs.append(lrs[-1] / (1 + TIME_TAU * k))
    return lrs


def exp_decay_lrs():
    return [A0 * math.exp(-EXP_TAU * k) for k in range(STEPS)]


CONFIGS = [
    ("sgd", torch.optim.SGD, {"lr": 0.1}),
    ("sgd_momentum", torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    ("sgd_momentum_dampening", torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    ("sgd_nesterov", torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd_weight_decay", torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    ("adagrad", torch.optim.Adagrad, {"lr": 0.1, "eps": 1e-10, "initial_accumulator_value": 0.1}),
    ("rmsprop", torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.99, "eps": 1e-8}),
    ("rmsprop_momentum", torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-8, "momentum": 0.9}),
    (
        "rmsprop_centered",
        torch.optim.RMSprop,
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-8, "centered": True, "momentum": 0.5, "weight_decay": 0.01},
    ),
    ("adam", torch.optim.Adam, {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8}),
    ("adam_weight_decay", torch.optim.Adam, {"lr": 0.01, "weight_decay": 0.01}),
    ("adam_amsgrad", torch.optim.Adam, {"lr": 0.01, "amsgrad": True}),
    ("adamw", torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
]


def jsonable(opts):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in opts.items()}


def write(name, obj):
    path = os.path.join(OUT_DIR, f"{name}.json")
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")
    print("wrote", os.path.relpath(path))


def result(config, defaults, losses, traj, **extra):
    out = {"torch": torch.__version__, "config": config}
    if defaults is not None:
        out["defaults"] = defaults
    out.update(extra)
    out["initial"] = flat(fresh_params())
    out["losses"] = losses
    out["params"] = traj
    return out


def check_sgd_first_step(losses, traj):
    pv = np_initial()
    loss0, grads = np_loss_and_grads(pv)
    assert_close(losses[0], loss0, "sgd loss[0] vs numpy")
    for n in NAMES:
        assert_close(traj[0][n], pv[n] - 0.1 * grads[n], f"sgd step 1 {n} vs numpy")
    # and the whole 5-step trajectory of plain gradient descent
    for k in range(STEPS):
        loss_k, grads = np_loss_and_grads(pv)
        assert_close(losses[k], loss_k, f"sgd loss[{k}] vs numpy")
        for n in NAMES:
            pv[n] = pv[n] - 0.1 * grads[n]
            assert_close(traj[k][n], pv[n], f"sgd step {k + 1} {n} vs numpy")


def check_rmsprop_nesterov(losses, traj, lr, alpha, momentum, eps):
    pv = np_initial()
    v = {n: np.zeros_like(pv[n]) for n in NAMES}
    r = {n: np.zeros_like(pv[n]) for n in NAMES}
    for k in range(STEPS):
        loss_k, grads = np_loss_and_grads({n: pv[n] + momentum * v[n] for n in NAMES})
        assert_close(losses[k], loss_k, f"rmsprop_nesterov loss[{k}] vs numpy")
        for n in NAMES:
            g = grads[n]
            r[n] = alpha * r[n] + (1 - alpha) * g * g
            v[n] = momentum * v[n] - lr * g / (np.sqrt(r[n]) + eps)
            pv[n] = pv[n] + v[n]
            assert_close(traj[k][n], pv[n], f"rmsprop_nesterov step {k + 1} {n} vs numpy", tol=1e-11)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)

    write(
        "problem",
        {
            "torch": torch.__version__,
            "description": (
                "Model: y = tanh(x . W1^T + b1) . W2^T + b2 with W1 [4,3], b1 [4], W2 [2,4], b2 [2] "
                "(Linear(3->4), tanh, Linear(4->2)). Data (i row, j col, radians): "
                "x[i][j] = sin(1 + 3*i + j), x [5,3]; t[i][j] = cos(2 + 2*i + j), t [5,2]. "
                "Initial params (row-major index): W1[i][j] = 0.3*sin(0.7*(i*3+j)+0.1); "
                "b1[i] = 0.1*cos(i+0.5); W2[i][j] = 0.4*cos(0.9*(i*4+j)+0.2); b2[i] = 0.05*(i+1). "
                "Loss: mean((y - t)^2) over all elements. float64 throughout. "
                "Each config: 5 steps of zero_grad(); loss.backward(); step(); "
                "'losses' holds the loss before each step, 'params' the flat row-major params after each step."
            ),
            "shapes": {n: list(SHAPES[n]) for n in NAMES},
            "x": X_LIST,
            "t": T_LIST,
            "initial": flat(fresh_params()),
            "steps": STEPS,
        },
    )

    for name, cls, opts in CONFIGS:
        losses, traj, defaults, _ = run_torch(cls, opts)
        if name == "sgd":
            check_sgd_first_step(losses, traj)
            print("sgd: numpy hand-computed trajectory matches")
        config = {"optimizer": cls.__name__, **jsonable(opts)}
        write(name, result(config, defaults, losses, traj))

    # gradient clipping by global L2 norm
    losses, traj, defaults, norms = run_torch(torch.optim.SGD, {"lr": 0.1}, clip=0.05)
    config = {
        "optimizer": "SGD",
        "lr": 0.1,
        "clip_grad_norm": {
            "max_norm": 0.05,
            "norm_type": 2.0,
            "note": "torch.nn.utils.clip_grad_norm_ before each step: total = L2 norm over all grads; "
            "grads *= min(1, max_norm / (total + 1e-6))",
        },
    }
    write("sgd_clip", result(config, defaults, losses, traj, grad_norms=norms))

    # lr schedules (lr set on the param group before step k)
    lrs = time_decay_lrs()
    losses, traj, defaults, _ = run_torch(torch.optim.SGD, {"lr": A0}, lrs=lrs)
    config = {
        "optimizer": "SGD",
        "lr": A0,
        "schedule": {"type": "time_decay", "a0": A0, "tau": TIME_TAU, "formula": "a_0 = a0; a_k = a_{k-1} / (1 + tau*k)"},
    }
    write("sgd_time_decay", result(config, defaults, losses, traj, lrs=lrs))

    lrs = exp_decay_lrs()
    losses, traj, defaults, _ = run_torch(torch.optim.SGD, {"lr": A0}, lrs=lrs)
    config = {
        "optimizer": "SGD",
        "lr": A0,
        "schedule": {"type": "exp_decay", "a0": A0, "tau": EXP_TAU, "formula": "a_k = a0 * exp(-tau*k)"},
    }
    write("sgd_exp_decay", result(config, defaults, losses, traj, lrs=lrs))

    # RMSProp with Nesterov momentum, by hand (not in torch)
    hp = {"lr": 0.01, "alpha": 0.9, "momentum": 0.9, "eps": 1e-8}
    losses, traj = run_rmsprop_nesterov(**hp)
    check_rmsprop_nesterov(losses, traj, **hp)
    print("rmsprop_nesterov: numpy reimplementation matches")
    config = {
        "optimizer": "RMSpropNesterov",
        **hp,
        "note": "hand-written, Goodfellow et al. Deep Learning 8.5.2 (Algorithm 8.7); v, r start at 0; "
        "per step: th~ = th + momentum*v; g = grad L(th~); r = alpha*r + (1-alpha)*g^2; "
        "v = momentum*v - lr*g/(sqrt(r) + eps); th = th + v. losses[k] = L(th~) at step k.",
    }
    write("rmsprop_nesterov", result(config, None, losses, traj))


if __name__ == "__main__":
    main()
