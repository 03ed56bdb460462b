"""Optuna side of bench/hpo: the same problems, 30 trials in batches of 3 (ask x3, tell x3).

Usage: python optuna_runner.py SAMPLER PROBLEM SEEDS TRIALS PARALLEL  -> JSON on stdout
SAMPLER is tpe or gp (Optuna's defaults, seeded). Mirrors bench/hpo/problems.ts.
"""

import json
import math
import sys
import time

import numpy as np
import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _shim_torch_device_context():
    """Debian ships torch 1.13, where torch.device is not a context manager (torch >= 2.0).

    Optuna's GPSampler uses it once, `with torch.device("cpu"):`, only to override a global
    default device (a torch 2 feature). On torch 1.x there is no global default device, so a no-op
    context computes exactly the same thing. Nothing else is patched.
    """
    import contextlib
    import types

    import torch

    if hasattr(torch.device("cpu"), "__enter__"):
        return
    import optuna.samplers._gp.sampler as gp_sampler_module

    proxy = types.ModuleType("torch_device_shim")
    proxy.__getattr__ = lambda name: getattr(torch, name)  # type: ignore[attr-defined]
    proxy.device = lambda *args, **kwargs: contextlib.nullcontext()  # type: ignore[attr-defined]
    gp_sampler_module.torch = proxy


_shim_torch_device_context()

H6_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
H6_P = [
    [v * 1e-4 for v in r]
    for r in [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
]
H6_ALPHA = [1.0, 1.2, 3.0, 3.2]
OPT_SHIFT = {"sgd": (-1.5, 0.1), "adam": (-3.2, 0.0), "rmsprop": (-3.6, 0.25), "adagrad": (-2.0, 0.4)}


def branin(c):
    x1, x2 = c["x1"], c["x2"]
    b = 5.1 / (4 * math.pi**2)
    return (x2 - b * x1 * x1 + 5 / math.pi * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def hartmann6(c):
    s = 0.0
    for i in range(4):
        inner = sum(H6_A[i][j] * (c[f"x{j + 1}"] - H6_P[i][j]) ** 2 for j in range(6))
        s += H6_ALPHA[i] * math.exp(-inner)
    return -s


def mixed(c):
    llr = math.log10(c["lr"])
    m, layers = c["momentum"], c["layers"]
    centre0, floor = OPT_SHIFT[c["optimizer"]]
    centre = centre0 - 0.8 * (m - 0.5)
    return floor + 0.3 * (llr - centre) ** 2 + 0.5 * (m - 0.8) ** 2 + 0.05 * (layers - 5) ** 2 + 0.1 * abs(llr - centre) * (layers / 8)


def sample_unit(trial, n):
    return {f"x{i}": trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(1, n + 1)}


PROBLEMS = {
    "branin": (lambda t: {"x1": t.suggest_float("x1", -5, 10), "x2": t.suggest_float("x2", 0, 15)}, branin, 0.0, 0.397887),
    "hartmann6": (lambda t: sample_unit(t, 6), hartmann6, 0.0, -3.32237),
    "mixed4d": (
        lambda t: {
            "lr": t.suggest_float("lr", 1e-5, 1.0, log=True),
            "momentum": t.suggest_float("momentum", 0.0, 0.99),
            "layers": t.suggest_int("layers", 1, 8),
            "optimizer": t.suggest_categorical("optimizer", ["sgd", "adam", "rmsprop", "adagrad"]),
        },
        mixed,
        0.0,
        0.0,
    ),
    "hartmann6-noisy": (lambda t: sample_unit(t, 6), hartmann6, 0.1, -3.32237),
}


def make_sampler(name, seed):
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    raise SystemExit(f"unknown sampler {name}")


def run(sampler_name, problem, seed, trials, parallel):
    space, f, noise_sd, optimum = PROBLEMS[problem]
    rng = np.random.default_rng(seed * 7919 + 17)
    study = optuna.create_study(sampler=make_sampler(sampler_name, seed), direction="minimize")
    best = None
    done = 0
    ask_ms = []
    while done < trials:
        batch = []
        t0 = time.perf_counter()
        for _ in range(min(parallel, trials - done)):
            t = study.ask()
            batch.append((t, space(t)))
        ask_ms.append((time.perf_counter() - t0) * 1000)
        for t, c in batch:
            y = f(c) + (noise_sd * rng.standard_normal() if noise_sd else 0.0)
            study.tell(t, y)
            if best is None or y < best[1]:
                best = (c, y)
            done += 1
    return f(best[0]) - optimum, ask_ms


def main():
    sampler_name, problem, seeds, trials, parallel = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    regrets, ask_ms = [], []
    for seed in range(seeds):
        r, ms = run(sampler_name, problem, seed, trials, parallel)
        regrets.append(r)
        ask_ms.extend(ms)
    print(json.dumps({"sampler": sampler_name, "problem": problem, "optuna": optuna.__version__, "regrets": regrets, "askMs": ask_ms}))


if __name__ == "__main__":
    if sys.argv[1] == "check":
        # Cross-language check: fixed points evaluated here must equal problems.ts.
        print(
            json.dumps(
                {
                    "branin": branin({"x1": 1.0, "x2": 2.0}),
                    "hartmann6": hartmann6({f"x{i}": 0.1 * i for i in range(1, 7)}),
                    "mixed4d": mixed({"lr": 1e-3, "momentum": 0.5, "layers": 3, "optimizer": "rmsprop"}),
                }
            )
        )
    else:
        main()
