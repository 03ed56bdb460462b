"""Deterministic synthetic "bees" for tests, the demo and benchmarks (nothing downloads data).

Each image: a cluttered background (gradient, blobs, leaves, yellow flowers as distractors, lines,
noise) with 0-3 bees. A bee is a striped ellipse body with a head, two translucent wings and two
antennae, of varied size and aspect ratio, rotated by a random angle. The box is the tight box of
the drawn bee's pixels.

Layouts (``--layout``):

* ``manifest`` (default): ``images/*.jpg`` + ``output.manifest`` in Ground Truth's object-detection
  output format (label attribute ``bounding-box``), ``source-ref`` = ``--bucket-uri`` + file name,
  and ``test/`` with unlabelled images. With ``--validation N`` also ``train.manifest`` and
  ``validation.manifest`` (the first ``n - N`` and the last ``N`` lines).
* ``json``: SageMaker's images + per-image JSON annotations, as four channel folders ``train/``,
  ``train_annotation/``, ``validation/``, ``validation_annotation/``.
* ``recordio``: ``train/train.rec`` and ``validation/validation.rec`` in the im2rec layout.

    python -m apiary_od.synthetic --out DIR --n 500 --test 10 --seed 0 [--size 320]
        [--bucket-uri s3://bucket/prefix/] [--validation 100] [--layout manifest|json|recordio]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import json
import math
import os
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from . import recordio

LABEL_ATTRIBUTE = "bounding-box"
CLASS_MAP = {"0": "bee"}
JOB_NAME = "labeling-job/bees"


@dataclass(frozen=True)
class SyntheticImage:
    name: str
    jpeg: bytes
    width: int
    height: int
    boxes: list[tuple[int, int, int, int]]  # left, top, width, height (pixels)


def _rand_color(rng: random.Random, lo: int = 0, hi: int = 255) -> tuple[int, int, int]:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


def _background(rng: random.Random, w: int, h: int) -> Image.Image:
    c1 = np.array(_rand_color(rng, 30, 200), dtype=np.float32)
    c2 = np.array(_rand_color(rng, 30, 200), dtype=np.float32)
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    arr = np.broadcast_to(c1 * (1 - t) + c2 * t, (h, w, 3)).copy()
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img, "RGBA")
    scale = min(w, h)
    for _ in range(rng.randint(8, 20)):  # blobs and leaves
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(0.03, 0.2) * scale, rng.uniform(0.02, 0.12) * scale
        color = (*_rand_color(rng, 20, 220), rng.randint(90, 230))
        if rng.random() < 0.5:
            draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=color)
        else:
            a = rng.uniform(0, math.pi)
            pts = [
                (cx + rx * math.cos(a), cy + rx * math.sin(a)),
                (cx + ry * math.cos(a + math.pi / 2), cy + ry * math.sin(a + math.pi / 2)),
                (cx - rx * math.cos(a), cy - rx * math.sin(a)),
                (cx - ry * math.cos(a + math.pi / 2), cy - ry * math.sin(a + math.pi / 2)),
            ]
            draw.polygon(pts, fill=color)
    for _ in range(rng.randint(0, 4)):  # yellow flowers: distractors with the bees' colours
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.02, 0.06) * scale
        petal = (rng.randint(200, 255), rng.randint(170, 230), rng.randint(0, 80), 255)
        for k in range(6):
            a = k * math.pi / 3
            px, py = cx + r * math.cos(a), cy + r * math.sin(a)
            draw.ellipse([px - r * 0.6, py - r * 0.6, px + r * 0.6, py + r * 0.6], fill=petal)
        draw.ellipse([cx - r * 0.5, cy - r * 0.5, cx + r * 0.5, cy + r * 0.5], fill=(60, 35, 10, 255))
    for _ in range(rng.randint(2, 8)):  # stems and twigs
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        x1, y1 = x0 + rng.uniform(-0.4, 0.4) * scale, y0 + rng.uniform(-0.4, 0.4) * scale
        draw.line([x0, y0, x1, y1], fill=(*_rand_color(rng, 0, 160), 200), width=rng.randint(1, 4))
    return img.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.2)))


def _bee(rng: random.Random, length: float) -> Image.Image:
    """An RGBA bee facing +x, cropped to its pixels, rotated by a random angle."""
    aspect = rng.uniform(0.38, 0.62)
    body_w = length * aspect
    size = int(length * 1.9) + 8
    c = size / 2.0
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer, "RGBA")
    # wings (behind the body, translucent)
    wing = (rng.randint(200, 240), rng.randint(220, 250), 255, rng.randint(120, 190))
    for sign in (-1, 1):
        wx, wy = c - length * 0.05, c + sign * body_w * 0.75
        draw.ellipse([wx - length * 0.24, wy - body_w * 0.45, wx + length * 0.24, wy + body_w * 0.45], fill=wing)
    # body: yellow ellipse with dark stripes, masked to the ellipse
    x0, x1 = c - length / 2, c + length * 0.32
    y0, y1 = c - body_w / 2, c + body_w / 2
    yellow = (rng.randint(215, 255), rng.randint(165, 215), rng.randint(0, 60), 255)
    dark = (rng.randint(10, 45), rng.randint(10, 35), rng.randint(0, 25), 255)
    body = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    bdraw = ImageDraw.Draw(body)
    bdraw.rectangle([x0, y0, x1, y1], fill=yellow)
    n_stripes = rng.randint(2, 4)
    span = x1 - x0
    for k in range(n_stripes):
        sx = x0 + span * (0.18 + 0.7 * k / max(n_stripes, 1))
        bdraw.rectangle([sx, y0, sx + span * rng.uniform(0.08, 0.13), y1], fill=dark)
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse([x0, y0, x1, y1], fill=255)
    layer.paste(body, (0, 0), mask)
    # head and antennae
    hr = body_w * rng.uniform(0.33, 0.42)
    hx = x1 + hr * 0.6
    draw.ellipse([hx - hr, c - hr, hx + hr, c + hr], fill=dark)
    for sign in (-1, 1):
        ax, ay = hx + hr * 0.5 + length * 0.14, c + sign * (hr + length * 0.12)
        draw.line([hx + hr * 0.3, c + sign * hr * 0.4, ax, ay], fill=dark, width=max(1, int(length / 40)))
    # stinger
    draw.polygon([(x0 + 2, c - body_w * 0.08), (x0 + 2, c + body_w * 0.08), (x0 - length * 0.07, c)], fill=dark)
    rotated = layer.rotate(rng.uniform(0, 360), resample=Image.BICUBIC, expand=True)
    bbox = rotated.getchannel("A").point(lambda a: 255 if a > 40 else 0).getbbox()
    return rotated.crop(bbox) if bbox else rotated


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def make_image(rng: random.Random, size: int, name: str, max_bees: int = 3, labelled: bool = True) -> SyntheticImage:
    w = size
    h = size if rng.random() < 0.6 else round(size * rng.uniform(0.72, 0.95))
    img = _background(rng, w, h)
    n = rng.randint(0, max_bees)
    placed: list[tuple[float, float, float, float]] = []
    scale = min(w, h)
    for _ in range(n):
        bee = _bee(rng, rng.uniform(0.12, 0.42) * scale)
        bw, bh = bee.size
        if bw >= w or bh >= h:
            bee = bee.resize((min(bw, w - 2), min(bh, h - 2)), Image.BICUBIC)
            bw, bh = bee.size
        for _try in range(20):
            # bees may be cut by the border a little
            left = rng.randint(-bw // 6, w - bw + bw // 6)
            top = rng.randint(-bh // 6, h - bh + bh // 6)
            box = (max(0, left), max(0, top), min(w, left + bw), min(h, top + bh))
            if all(_iou(box, p) < 0.15 for p in placed):
                break
        else:
            continue
        img.paste(bee, (left, top), bee)
        placed.append(box)
    # sensor noise
    arr = np.asarray(img, dtype=np.int16)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(2, 8), arr.shape)
    img = Image.fromarray((arr + noise).clip(0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    boxes = [(int(b[0]), int(b[1]), int(b[2] - b[0]), int(b[3] - b[1])) for b in placed] if labelled else []
    return SyntheticImage(name, buf.getvalue(), w, h, boxes)


def generate(n: int, seed: int, size: int = 320, prefix: str = "bee") -> list[SyntheticImage]:
    rng = random.Random(seed)
    return [make_image(random.Random(rng.getrandbits(64)), size, f"{prefix}-{i:04d}.jpg") for i in range(n)]


def gt_annotation(im: SyntheticImage) -> dict:
    return {
        "image_size": [{"width": im.width, "height": im.height, "depth": 3}],
        "annotations": [{"class_id": 0, "left": left, "top": top, "width": bw, "height": bh} for (left, top, bw, bh) in im.boxes],
    }


def manifest_line(im: SyntheticImage, source_ref: str, index: int, seed: int) -> str:
    created = _dt.datetime(2024, 5, 1, 12, 0, 0) + _dt.timedelta(seconds=index * 7 + seed, microseconds=index * 1013 % 10**6)
    meta = {
        "objects": [{"confidence": 0.0} for _ in im.boxes],
        "class-map": dict(CLASS_MAP) if im.boxes else {},  # Ground Truth lists only classes present
        "type": "groundtruth/object-detection",
        "human-annotated": "yes",
        "creation-date": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "job-name": JOB_NAME,
    }
    line = {"source-ref": source_ref, LABEL_ATTRIBUTE: gt_annotation(im), f"{LABEL_ATTRIBUTE}-metadata": meta}
    return json.dumps(line, separators=(",", ":"))


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def write_manifest_layout(
    out: str, images: list[SyntheticImage], tests: list[SyntheticImage], bucket_uri: str, seed: int, validation: int
) -> None:
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    lines = []
    for i, im in enumerate(images):
        _write(os.path.join(out, "images", im.name), im.jpeg)
        lines.append(manifest_line(im, bucket_uri + im.name, i, seed))
    with open(os.path.join(out, "output.manifest"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if validation:
        cut = len(lines) - validation
        with open(os.path.join(out, "train.manifest"), "w") as f:
            f.write("".join(line + "\n" for line in lines[:cut]))
        with open(os.path.join(out, "validation.manifest"), "w") as f:
            f.write("".join(line + "\n" for line in lines[cut:]))
    _write_tests(out, tests)


def _write_tests(out: str, tests: list[SyntheticImage]) -> None:
    os.makedirs(os.path.join(out, "test"), exist_ok=True)
    for im in tests:
        _write(os.path.join(out, "test", im.name), im.jpeg)


def write_json_layout(out: str, images: list[SyntheticImage], tests: list[SyntheticImage], validation: int) -> None:
    cut = len(images) - validation
    for channel, part in (("train", images[:cut]), ("validation", images[cut:])):
        os.makedirs(os.path.join(out, channel), exist_ok=True)
        os.makedirs(os.path.join(out, channel + "_annotation"), exist_ok=True)
        for im in part:
            _write(os.path.join(out, channel, im.name), im.jpeg)
            ann = {"file": im.name, **gt_annotation(im), "categories": [{"class_id": 0, "name": "bee"}]}
            with open(os.path.join(out, channel + "_annotation", im.name.rsplit(".", 1)[0] + ".json"), "w") as f:
                json.dump(ann, f)
    _write_tests(out, tests)


def rec_payload(im: SyntheticImage, record_id: int) -> bytes:
    boxes = np.array(
        [[left / im.width, top / im.height, (left + bw) / im.width, (top + bh) / im.height] for (left, top, bw, bh) in im.boxes],
        dtype=np.float32,
    ).reshape(-1, 4)
    label = recordio.detection_label(boxes, np.zeros(len(boxes), dtype=np.int64))
    return recordio.pack_image_record(label, im.jpeg, record_id)


def write_recordio_layout(out: str, images: list[SyntheticImage], tests: list[SyntheticImage], validation: int) -> None:
    cut = len(images) - validation
    for channel, part in (("train", images[:cut]), ("validation", images[cut:])):
        os.makedirs(os.path.join(out, channel), exist_ok=True)
        with open(os.path.join(out, channel, channel + ".rec"), "wb") as f:
            for i, im in enumerate(part):
                recordio.write_record(f, rec_payload(im, i))
    _write_tests(out, tests)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m apiary_od.synthetic", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument("--n", type=int, default=500, help="labelled images (default 500)")
    p.add_argument("--test", type=int, default=10, help="unlabelled images in test/ (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=320, help="image width in pixels (default 320)")
    p.add_argument("--bucket-uri", default="s3://bucket/bees/", help="prefix of each source-ref")
    p.add_argument("--validation", type=int, default=0, help="last N images form the validation split")
    p.add_argument("--layout", choices=["manifest", "json", "recordio"], default="manifest")
    a = p.parse_args(argv)
    if a.n < 0 or a.test < 0 or a.size < 32 or not 0 <= a.validation <= a.n:
        p.error("need n >= 0, test >= 0, size >= 32 and 0 <= validation <= n")
    bucket_uri = a.bucket_uri if a.bucket_uri.endswith("/") else a.bucket_uri + "/"
    images = generate(a.n, a.seed, a.size)
    tests = generate(a.test, a.seed + 1_000_003, a.size, prefix="test")
    if a.layout == "manifest":
        write_manifest_layout(a.out, images, tests, bucket_uri, a.seed, a.validation)
    elif a.layout == "json":
        write_json_layout(a.out, images, tests, a.validation)
    else:
        write_recordio_layout(a.out, images, tests, a.validation)
    n_boxes = sum(len(im.boxes) for im in images)
    print(f"wrote {len(images)} labelled images ({n_boxes} bees) and {len(tests)} test images to {a.out} ({a.layout} layout)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
