"""Train one epoch and evaluate (torchvision detection references' ``engine.py``)."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from .metrics import mean_average_precision


class NonFiniteLossError(RuntimeError):
    """Training diverged."""


class ModelEma:
    """Exponential moving average of weights and BN statistics; evaluated and exported.

    The decay ramps up as ``min(decay, (1 + n) / (10 + n))`` so early averages are not dominated by
    the random initialisation.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay = decay
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        # One fused multiply-add over all floating tensors (``torch._foreach_*``) instead of a
        # state_dict() and two kernel launches per tensor: the same arithmetic, less overhead.
        ema_f, model_f = [], []
        for e, m in zip(_tensors(self.module), _tensors(model)):
            if e.dtype.is_floating_point:
                ema_f.append(e)
                model_f.append(m.detach())
            else:
                e.copy_(m)
        torch._foreach_mul_(ema_f, d)
        torch._foreach_add_(ema_f, model_f, alpha=1 - d)


def _tensors(module: nn.Module):
    """Parameters then buffers in ``state_dict`` order (read fresh each call: ``.to()`` replaces them)."""
    yield from (p.data for p in module.parameters())
    yield from module.buffers()


@dataclass
class EpochStats:
    cross_entropy: float
    smooth_l1: float
    images: int
    batches: int
    seconds: float
    stopped: bool = False

    @property
    def throughput(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loader,
    device: torch.device,
    lr_at: Callable[[int], float],
    step: int,
    ema: ModelEma | None = None,
    scaler: torch.cuda.amp.GradScaler | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    max_grad_norm: float = 10.0,
) -> EpochStats:
    """One pass over ``loader``. ``lr_at(global_step)`` sets the learning rate of every step."""
    model.train()
    ce_sum = l1_sum = 0.0
    images = batches = 0
    t0 = time.perf_counter()
    for cpu_imgs, cpu_targets in loader:
        if should_stop():
            return EpochStats(ce_sum / max(batches, 1), l1_sum / max(batches, 1), images, batches, time.perf_counter() - t0, True)
        lr = lr_at(step)
        for g in optimizer.param_groups:
            g["lr"] = lr * g.get("lr_scale", 1.0)
        imgs = [im.to(device, non_blocking=True) for im in cpu_imgs]
        targets = [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in cpu_targets]
        with torch.autocast(device_type=device.type, enabled=scaler is not None):
            losses = model(imgs, targets)
        ce, l1 = losses["classification"], losses["bbox_regression"]
        loss = ce + l1
        if not math.isfinite(loss.item()):
            raise NonFiniteLossError(
                f"training stopped: the loss became {loss.item()} at step {step} (cross_entropy={ce.item()}, "
                f"smooth_l1={l1.item()}); lower learning_rate or check the boxes in the training data"
            )
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
        if ema is not None:
            ema.update(model)
        ce_sum += ce.item()
        l1_sum += l1.item()
        images += len(imgs)
        batches += 1
        step += 1
    return EpochStats(ce_sum / max(batches, 1), l1_sum / max(batches, 1), images, batches, time.perf_counter() - t0)


@torch.no_grad()
def predict(model: nn.Module, loader, device: torch.device):
    """Detections and ground truth per image, in the network's input pixels.

    Uses the exported model's score threshold (0.01) and at most 100 detections per image: lower
    scores barely move VOC mAP and make an untrained model's evaluation slow.
    """
    model.eval()
    saved = (getattr(model, "score_thresh", None), getattr(model, "detections_per_img", None))
    if saved[0] is not None:
        model.score_thresh, model.detections_per_img = max(saved[0], 0.01), min(saved[1], 100)
    preds: list[dict[str, np.ndarray]] = []
    gts: list[dict[str, np.ndarray]] = []
    try:
        for imgs, targets in loader:
            out = model([im.to(device) for im in imgs])
            for o, t in zip(out, targets):
                preds.append({k: o[k].float().cpu().numpy() for k in ("boxes", "scores", "labels")})
                gts.append({"boxes": t["boxes"].numpy(), "labels": t["labels"].numpy()})
    finally:
        if saved[0] is not None:
            model.score_thresh, model.detections_per_img = saved
    return preds, gts


def evaluate(model: nn.Module, loader, device: torch.device, iou_threshold: float = 0.5) -> float:
    """VOC mAP (all-point) at ``iou_threshold``; labels are the network's (1-based) ids on both sides."""
    preds, gts = predict(model, loader, device)
    return mean_average_precision(preds, gts, iou_threshold)
