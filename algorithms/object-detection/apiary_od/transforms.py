"""SSD augmentation on an image and its boxes together (as torchvision's detection references).

Each transform takes and returns ``(image: PIL.Image, target)`` where ``target`` holds ``boxes``
(float32 ``[K, 4]``, ``[x1, y1, x2, y2]`` pixels of the current image) and ``labels`` (int64 ``[K]``).
Images with no boxes pass through every transform.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import torch
import torchvision.transforms.functional as F
from PIL import Image

Target = dict[str, np.ndarray]


class Compose:
    def __init__(self, transforms: Sequence) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: Image.Image, target: Target):
        for t in self.transforms:
            image, target = t(image, target)
        return image, target


class PhotometricDistort:
    """Random brightness, contrast, saturation and hue, each with probability ``p`` (SSD's order)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, image, target):
        r = random.random
        if r() < self.p:
            image = F.adjust_brightness(image, random.uniform(0.875, 1.125))
        contrast_first = r() < 0.5
        if contrast_first and r() < self.p:
            image = F.adjust_contrast(image, random.uniform(0.5, 1.5))
        if r() < self.p:
            image = F.adjust_saturation(image, random.uniform(0.5, 1.5))
        if r() < self.p:
            image = F.adjust_hue(image, random.uniform(-0.05, 0.05))
        if not contrast_first and r() < self.p:
            image = F.adjust_contrast(image, random.uniform(0.5, 1.5))
        return image, target


class ZoomOut:
    """Place the image on a larger canvas filled with the mean colour (objects get smaller)."""

    def __init__(self, max_scale: float = 2.0, p: float = 0.5, fill: tuple[int, int, int] = (124, 116, 104)) -> None:
        self.max_scale, self.p, self.fill = max_scale, p, fill

    def __call__(self, image, target):
        if random.random() >= self.p:
            return image, target
        w, h = image.size
        s = random.uniform(1.0, self.max_scale)
        cw, ch = int(w * s), int(h * s)
        left, top = random.randint(0, cw - w), random.randint(0, ch - h)
        canvas = Image.new("RGB", (cw, ch), self.fill)
        canvas.paste(image, (left, top))
        boxes = target["boxes"] + np.array([left, top, left, top], dtype=np.float32)
        return canvas, {**target, "boxes": boxes}


def box_iou_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.size == 0 or b.size == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


class RandomIoUCrop:
    """SSD's crop: pick a minimum IoU, try crops until one overlaps some box by at least that much.

    Boxes whose centre falls outside the crop are dropped; the rest are clipped to it.
    """

    def __init__(
        self,
        min_scale: float = 0.3,
        max_scale: float = 1.0,
        min_ar: float = 0.5,
        max_ar: float = 2.0,
        options: Sequence[float] = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 2.0),
        trials: int = 40,
    ) -> None:
        self.min_scale, self.max_scale = min_scale, max_scale
        self.min_ar, self.max_ar = min_ar, max_ar
        self.options = list(options)  # 2.0 = leave the image as it is
        self.trials = trials

    def __call__(self, image, target):
        w, h = image.size
        boxes = target["boxes"]
        for _ in range(10):
            min_iou = random.choice(self.options)
            if min_iou >= 1.0:
                return image, target
            for _ in range(self.trials):
                sw, sh = random.uniform(self.min_scale, self.max_scale), random.uniform(self.min_scale, self.max_scale)
                nw, nh = int(w * sw), int(h * sh)
                if nh == 0 or nw == 0 or not self.min_ar <= nw / nh <= self.max_ar:
                    continue
                left, top = random.randint(0, w - nw), random.randint(0, h - nh)
                crop = np.array([[left, top, left + nw, top + nh]], dtype=np.float32)
                if len(boxes) == 0:
                    return image.crop((left, top, left + nw, top + nh)), target
                cx = (boxes[:, 0] + boxes[:, 2]) / 2
                cy = (boxes[:, 1] + boxes[:, 3]) / 2
                keep = (cx > left) & (cx < left + nw) & (cy > top) & (cy < top + nh)
                if not keep.any():
                    continue
                if box_iou_np(boxes[keep], crop).max() < min_iou:
                    continue
                kept = boxes[keep].copy()
                kept[:, [0, 2]] = np.clip(kept[:, [0, 2]] - left, 0, nw)
                kept[:, [1, 3]] = np.clip(kept[:, [1, 3]] - top, 0, nh)
                return image.crop((left, top, left + nw, top + nh)), {
                    **target,
                    "boxes": kept,
                    "labels": target["labels"][keep],
                }
        return image, target


class RandomHorizontalFlip:
    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, image, target):
        if random.random() >= self.p:
            return image, target
        w = image.size[0]
        boxes = target["boxes"].copy()
        boxes[:, [0, 2]] = w - target["boxes"][:, [2, 0]]
        return image.transpose(Image.FLIP_LEFT_RIGHT), {**target, "boxes": boxes}


class Resize:
    """Stretch to ``size x size`` (what the exported model expects, see model.json ``resize``)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, image, target):
        w, h = image.size
        if (w, h) != (self.size, self.size):
            image = image.resize((self.size, self.size), Image.BILINEAR)
        scale = np.array([self.size / w, self.size / h] * 2, dtype=np.float32)
        return image, {**target, "boxes": target["boxes"] * scale}


class DropTinyBoxes:
    def __init__(self, min_size: float = 2.0) -> None:
        self.min_size = min_size

    def __call__(self, image, target):
        b = target["boxes"]
        keep = ((b[:, 2] - b[:, 0]) >= self.min_size) & ((b[:, 3] - b[:, 1]) >= self.min_size)
        if keep.all():
            return image, target
        return image, {**target, "boxes": b[keep], "labels": target["labels"][keep]}


class ToTensor:
    def __call__(self, image, target):
        return F.pil_to_tensor(image).float().div_(255.0), {
            "boxes": torch.from_numpy(np.ascontiguousarray(target["boxes"], dtype=np.float32)).reshape(-1, 4),
            "labels": torch.from_numpy(np.ascontiguousarray(target["labels"], dtype=np.int64)),
        }


class Maybe:
    """Apply ``transform`` to a fraction ``p`` of the images."""

    def __init__(self, transform, p: float) -> None:
        self.transform, self.p = transform, p

    def __call__(self, image, target):
        return self.transform(image, target) if random.random() < self.p else (image, target)


def augmentation_strength(epochs: int) -> float:
    """How much of SSD's augmentation a run of ``epochs`` epochs gets: 0 up to 12 epochs, 1 from 50.

    Zoom-out, IoU crops and colour jitter regularise long runs, but a model trained from scratch
    for a few epochs cannot afford them: measured on 400 generated bees at 320 px, mobilenet-v3,
    batch 16, validation mAP@0.5 after five epochs was 0.53 with flip + resize and 0.008 with the
    full SSD augmentation (bench/train-od). In between, the fraction of images that gets each of
    them grows linearly.
    """
    return min(1.0, max(0.0, (epochs - 12) / 38))


def train_transforms(size: int, strength: float = 1.0) -> Compose:
    """SSD augmentation, each part applied to a fraction ``strength`` of the images (flip always)."""
    if strength <= 0:
        return minimal_train_transforms(size)
    # Photometric distortion is per pixel, so it runs after the resize: its cost is then bounded
    # by size^2 whatever the input resolution.
    return Compose(
        [
            Maybe(ZoomOut(), strength),
            Maybe(RandomIoUCrop(), strength),
            RandomHorizontalFlip(),
            Resize(size),
            Maybe(PhotometricDistort(), strength),
            DropTinyBoxes(),
            ToTensor(),
        ]
    )


def eval_transforms(size: int) -> Compose:
    return Compose([Resize(size), ToTensor()])


def minimal_train_transforms(size: int) -> Compose:
    """Flip + resize only: what a bare training loop does (used by the benchmark's baseline)."""
    return Compose([RandomHorizontalFlip(), Resize(size), DropTinyBoxes(), ToTensor()])


def collate(batch: list):
    return tuple(zip(*batch))
