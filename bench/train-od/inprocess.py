"""The trainer's epoch loop in one process, for recipe sweeps on a loaded machine (never a test).

Uses the trainer's own parts (``build_model``, ``make_optimizer``, ``lr_schedule``, ``ModelEma``
with the trainer's decay rule, ``augmentation_strength``, ``train_one_epoch``, ``evaluate``, the
DataLoader settings, seed 0) and prints the EMA weights' validation mAP@0.5 after every epoch and
a ``RESULT`` JSON line. ``--threads 1`` (the default) lets several runs share a busy machine:
two-thread runs there spend their time with one OpenMP thread waiting on a descheduled other.

    .venv/bin/python bench/train-od/inprocess.py --size 224 --epochs 12 [--data-seed 1 | --data DIR]

``--data DIR`` reads ``DIR/train.manifest`` and ``DIR/validation.manifest`` (e.g. the demo's own
split: images from ``python -m apiary_od.synthetic --n 500 --seed 0``, manifests split as the demo
does); otherwise bees of ``--data-seed`` are generated (first 400 train, last 100 validation).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "algorithms", "object-detection"))
sys.path.insert(0, HERE)

import numpy as np
import torch

from apiary_od.data import DetectionDataset, read_manifest
from apiary_od.engine import ModelEma, evaluate, train_one_epoch
from apiary_od.hyperparams import parse_hyperparameters
from apiary_od.models import build_model
from apiary_od.train import DECODE_CACHE_BYTES, lr_schedule, make_loader, make_optimizer
from apiary_od.transforms import augmentation_strength, eval_transforms, train_transforms
from bench import make_dataset


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--data", default=None, help="folder with train.manifest and validation.manifest")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    np.finfo(np.float64), np.finfo(np.float32)
    torch.set_flush_denormal(True)
    if a.data:
        train = read_manifest(os.path.join(a.data, "train.manifest"), a.data, 1).samples
        val = read_manifest(os.path.join(a.data, "validation.manifest"), a.data, 1).samples
    else:
        train, val = make_dataset(tempfile.mkdtemp(prefix="bench-od-"), 400, 100, 320, a.data_seed)
    torch.manual_seed(0)
    hp = parse_hyperparameters(
        {
            "num_classes": "1",
            "num_training_samples": str(len(train)),
            "base_network": "mobilenet-v3",
            "use_pretrained_model": "0",
            "image_shape": str(a.size),
            "epochs": str(a.epochs),
            "mini_batch_size": str(a.batch),
            "learning_rate": str(a.lr),
        }
    )
    model = build_model("mobilenet-v3", 1, a.size, False)
    model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, hp)
    steps = math.ceil(len(train) / a.batch)
    horizon = max(10, min(3 * steps, a.epochs * steps // 10))  # as train.run
    ema = ModelEma(model, min(0.9999, max(0.9, 1 - 1 / horizon)))
    lr_at = lr_schedule(hp, steps)
    strength = augmentation_strength(a.epochs)
    tl = make_loader(DetectionDataset(train, train_transforms(a.size, strength), a.size, DECODE_CACHE_BYTES), a.batch, True, False, 1, 0)
    vl = make_loader(DetectionDataset(val, eval_transforms(a.size), a.size, DECODE_CACHE_BYTES), max(a.batch, 8), False, False, 1, 0)
    step, maps, t0 = 0, [], time.time()
    for epoch in range(a.epochs):
        stats = train_one_epoch(model, optimizer, tl, torch.device("cpu"), lr_at, step, ema)
        step += stats.batches
        maps.append(evaluate(ema.module, vl, torch.device("cpu")))
        loss = f"{stats.cross_entropy:.3f} + {stats.smooth_l1:.3f}"
        print(f"epoch {epoch + 1}: mAP {maps[-1]:.3f}, loss {loss}, {time.time() - t0:.0f} s", flush=True)
    print("RESULT", json.dumps({"args": vars(a), "maps": [round(m, 4) for m in maps]}), flush=True)
    os._exit(0)  # persistent loader workers can hold a finished run at exit on a busy machine


if __name__ == "__main__":
    main()
