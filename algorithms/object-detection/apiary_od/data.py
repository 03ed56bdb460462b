"""Training inputs in all of SageMaker's object-detection formats.

* Augmented manifest (File mode): the channel folder holds a ``*.manifest`` (or ``*.jsonl``) of JSON
  lines with ``source-ref`` and the label attribute, plus the images. ``source-ref`` resolves to a
  local file as follows (first match wins):
    1. a relative path (``images/bee-0001.jpg``): relative to the channel folder;
    2. ``s3://bucket/key``: ``<channel>/<key>``, then ``<channel>/<key without its first folder>``,
       ... down to ``<channel>/<basename of key>`` (the longest suffix of the key that exists);
       failing that, the one file anywhere under the channel folder with the key's base name
       (two such files are an error);
    3. an absolute path or ``file://`` URI that exists.
* Augmented manifest (Pipe mode, ``RecordWrapperType=RecordIO``): FIFO ``<channel>_<epoch>``; per
  manifest line one record per attribute in ``AttributeNames`` order (image bytes, label JSON).
* Images + per-image JSON annotations: channels ``train`` + ``train_annotation`` (and
  ``validation`` + ``validation_annotation``); ``img1.jpg`` <-> ``img1.json``.
* RecordIO ``.rec`` files in the im2rec layout (File mode, or Pipe mode without record wrapping).

Every format becomes a list of :class:`Sample`. Boxes are kept relative to the coordinate space
they were given in and turned into pixels of the decoded image when it is loaded.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image

from . import recordio

log = logging.getLogger("apiary_od")

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MANIFEST_EXTENSIONS = (".manifest", ".jsonl")


class DataError(ValueError):
    """The training data cannot be read; the message says which file or line and why."""


@dataclass
class Sample:
    name: str
    source: str | bytes  # a file path or the encoded image
    boxes: np.ndarray  # float32 [K, 4] xyxy in the space given by box_space
    labels: np.ndarray  # int64 [K]
    box_space: tuple[float, float] | None = None  # (w, h) of the box coordinates; None = decoded image pixels


@dataclass
class ChannelData:
    samples: list[Sample]
    class_names: dict[int, str] = field(default_factory=dict)
    fmt: str = ""


# ---------------------------------------------------------------------------------------------
# decoding


def _is_image_bytes(b: bytes) -> bool:
    return (
        b[:3] == b"\xff\xd8\xff"
        or b[:8] == b"\x89PNG\r\n\x1a\n"
        or b[:2] == b"BM"
        or b[:4] == b"GIF8"
        or (b[:4] == b"RIFF" and b[8:12] == b"WEBP")
        or b[:4] in (b"II*\x00", b"MM\x00*")
    )


def load_image(sample: Sample, target_size: int | None = None) -> tuple[Image.Image, np.ndarray]:
    """Decode to RGB; return the image and its boxes in its pixel coordinates."""
    src = io.BytesIO(sample.source) if isinstance(sample.source, bytes) else sample.source
    try:
        img = Image.open(src)
        orig_w, orig_h = img.size
        if target_size and img.format == "JPEG" and min(orig_w, orig_h) > 2 * target_size:
            img.draft("RGB", (2 * target_size, 2 * target_size))  # DCT-domain downscale: fast decode
        img = img.convert("RGB")
    except Exception as e:
        raise DataError(f"cannot decode image {sample.name}: {e}") from e
    w, h = img.size
    bw, bh = sample.box_space if sample.box_space else (orig_w, orig_h)
    boxes = sample.boxes.astype(np.float32).reshape(-1, 4) * np.array([w / bw, h / bh, w / bw, h / bh], dtype=np.float32)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    return img, boxes


class DetectionDataset(torch.utils.data.Dataset):
    """Samples -> (image tensor, target) through ``transforms``.

    ``cache_bytes`` > 0 keeps decoded images (RGB, before any transform) in memory up to that many
    bytes, so a small dataset is decoded once per loader process rather than once per epoch (the
    transforms never modify their input image). Each DataLoader worker holds its own cache;
    persistent workers keep it from epoch to epoch.
    """

    def __init__(self, samples: Sequence[Sample], transforms: Callable, size: int | None = None, cache_bytes: int = 0) -> None:
        self.samples = list(samples)
        self.transforms = transforms
        self.size = size
        self.cache_bytes = cache_bytes
        self._cache: dict[int, tuple[Image.Image, np.ndarray]] = {}
        self._cached_bytes = 0

    def __len__(self) -> int:
        return len(self.samples)

    def _decoded(self, i: int) -> tuple[Image.Image, np.ndarray]:
        hit = self._cache.get(i)
        if hit is not None:
            return hit
        img, boxes = load_image(self.samples[i], self.size)
        n = img.width * img.height * 3
        if self._cached_bytes + n <= self.cache_bytes:
            self._cache[i] = (img, boxes)
            self._cached_bytes += n
        return img, boxes

    def __getitem__(self, i: int):
        s = self.samples[i]
        img, boxes = self._decoded(i)
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        # the networks reserve class 0 for background: user class k is network class k + 1
        return self.transforms(img, {"boxes": boxes[keep], "labels": s.labels[keep] + 1})


# ---------------------------------------------------------------------------------------------
# annotations


def _annotation_boxes(ann: Mapping[str, Any], where: str, num_classes: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
    if not isinstance(ann, Mapping):
        raise DataError(f"{where}: label is not a JSON object")
    boxes, labels = [], []
    for k, a in enumerate(ann.get("annotations") or []):
        try:
            c = int(a["class_id"])
            left, top, w, h = (float(a[x]) for x in ("left", "top", "width", "height"))
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{where}: annotation {k} needs numeric class_id, left, top, width, height") from None
        if not 0 <= c < num_classes:
            raise DataError(f"{where}: class_id {c} is outside 0..{num_classes - 1} (num_classes={num_classes})")
        if w <= 0 or h <= 0:
            log.warning("%s: annotation %d has width %g, height %g: skipped", where, k, w, h)
            continue
        boxes.append([left, top, left + w, top + h])
        labels.append(c)
    space = None
    size = ann.get("image_size")
    if isinstance(size, list) and size and isinstance(size[0], Mapping):
        try:
            space = (float(size[0]["width"]), float(size[0]["height"]))
        except (KeyError, TypeError, ValueError):
            space = None
    return np.array(boxes, dtype=np.float32).reshape(-1, 4), np.array(labels, dtype=np.int64), space


def _label_attribute(line: Mapping[str, Any], attribute_names: Sequence[str] | None) -> str | None:
    if attribute_names:
        names = [a for a in attribute_names if a != "source-ref" and not a.endswith("-ref")]
        if names:
            return names[0]
    for k, v in line.items():
        if isinstance(v, Mapping) and "annotations" in v and not k.endswith("-metadata"):
            return k
    return None


def _merge_class_map(dst: dict[int, str], meta: Any) -> None:
    if isinstance(meta, Mapping) and isinstance(meta.get("class-map"), Mapping):
        for k, v in meta["class-map"].items():
            with contextlib.suppress(ValueError):
                dst.setdefault(int(k), str(v))


class _BasenameIndex:
    """Files under the channel folder by base name, built on first use."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.index: dict[str, list[str]] | None = None

    def find(self, basename: str) -> list[str]:
        if self.index is None:
            self.index = {}
            for r, _dirs, files in os.walk(self.root, followlinks=True):
                for fn in files:
                    self.index.setdefault(fn, []).append(os.path.join(r, fn))
        return self.index.get(basename, [])


def resolve_source_ref(channel_dir: str, ref: str, index: _BasenameIndex | None = None) -> str | None:
    """Map a manifest ``source-ref`` to a file under the channel folder (see the module doc)."""
    if ref.startswith("s3://"):
        parts = ref[5:].split("/", 1)
        key = parts[1] if len(parts) == 2 else ""
        segments = [s for s in key.split("/") if s]
        for i in range(len(segments)):
            p = os.path.join(channel_dir, *segments[i:])
            if os.path.isfile(p):
                return p
        if segments:
            found = (index or _BasenameIndex(channel_dir)).find(segments[-1])
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise DataError(
                    f"source-ref '{ref}': {len(found)} files named {segments[-1]} in the channel folder; stage images at <channel>/<key>"
                )
        return None
    ref = ref.removeprefix("file://")
    if os.path.isabs(ref):
        return ref if os.path.isfile(ref) else None
    p = os.path.normpath(os.path.join(channel_dir, ref))
    return p if os.path.isfile(p) else None


def read_manifest(path: str, channel_dir: str, num_classes: int, attribute_names: Sequence[str] | None = None) -> ChannelData:
    samples: list[Sample] = []
    classes: dict[int, str] = {}
    name = os.path.basename(path)
    index = _BasenameIndex(channel_dir)
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            where = f"manifest {name} line {n}"
            try:
                line = json.loads(raw)
            except json.JSONDecodeError as e:
                raise DataError(f"{where}: not valid JSON ({e.msg})") from None
            ref = line.get("source-ref") if isinstance(line, Mapping) else None
            if not isinstance(ref, str):
                raise DataError(f"{where}: no 'source-ref'")
            attr = _label_attribute(line, attribute_names)
            if attr is None or attr not in line:
                raise DataError(f"{where}: no label attribute " + (f"'{attr}'" if attr else "(an attribute whose value has 'annotations')"))
            image_path = resolve_source_ref(channel_dir, ref, index)
            if image_path is None:
                raise DataError(f"{where}: image for source-ref '{ref}' not found in the channel folder")
            boxes, labels, space = _annotation_boxes(line[attr], where, num_classes)
            _merge_class_map(classes, line.get(f"{attr}-metadata"))
            samples.append(Sample(os.path.basename(image_path), image_path, boxes, labels, space))
    return ChannelData(samples, classes, "augmented-manifest")


def read_json_annotations(image_dir: str, annotation_dir: str, num_classes: int) -> ChannelData:
    images = {}
    for root, _dirs, files in os.walk(image_dir, followlinks=True):
        for fn in files:
            if fn.lower().endswith(IMAGE_EXTENSIONS):
                images.setdefault(os.path.splitext(fn)[0], os.path.join(root, fn))
    samples: list[Sample] = []
    classes: dict[int, str] = {}
    for root, _dirs, files in os.walk(annotation_dir):
        for fn in sorted(files):
            if not fn.lower().endswith(".json"):
                continue
            where = f"annotation {fn}"
            try:
                with open(os.path.join(root, fn), encoding="utf-8") as f:
                    ann = json.load(f)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise DataError(f"{where}: not valid JSON ({e})") from None
            file_ref = ann.get("file") if isinstance(ann, Mapping) else None
            stem = os.path.splitext(os.path.basename(file_ref) if isinstance(file_ref, str) else fn)[0]
            path = images.get(stem) or images.get(os.path.splitext(fn)[0])
            if path is None:
                raise DataError(f"{where}: image '{file_ref or stem}' not found in channel folder {os.path.basename(image_dir)}")
            boxes, labels, space = _annotation_boxes(ann, where, num_classes)
            for cat in ann.get("categories") or []:
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    classes.setdefault(int(cat["class_id"]), str(cat["name"]))
            samples.append(Sample(os.path.basename(path), path, boxes, labels, space))
    samples.sort(key=lambda s: s.name)
    return ChannelData(samples, classes, "images+json")


def samples_from_rec_payloads(payloads: Sequence[bytes], where: str, num_classes: int) -> list[Sample]:
    samples = []
    for i, payload in enumerate(payloads):
        try:
            label, img = recordio.unpack_image_record(payload)
            classes, boxes = recordio.parse_detection_label(label)
        except recordio.RecordIOError as e:
            raise DataError(f"{where} record {i}: {e}") from None
        if classes.size and (classes.min() < 0 or classes.max() >= num_classes):
            raise DataError(
                f"{where} record {i}: class_id {int(classes.max())} is outside 0..{num_classes - 1} (num_classes={num_classes})"
            )
        samples.append(Sample(f"{where}#{i}", img, boxes, classes, (1.0, 1.0)))
    return samples


def read_rec_file(path: str, num_classes: int) -> ChannelData:
    try:
        with open(path, "rb") as f:
            payloads = list(recordio.read_records(f))
    except recordio.RecordIOError as e:
        raise DataError(f"{os.path.basename(path)}: {e}") from None
    return ChannelData(samples_from_rec_payloads(payloads, os.path.basename(path), num_classes), {}, "recordio")


def samples_from_pipe_records(records: Sequence[bytes], where: str, num_classes: int, attribute_names: Sequence[str] | None) -> ChannelData:
    """Pipe-mode records: augmented-manifest attribute records, or im2rec payloads."""
    if not records:
        return ChannelData([], {}, "pipe")
    names = list(attribute_names) if attribute_names else ["source-ref", "label"]
    ref_idx = next((i for i, n in enumerate(names) if n.endswith("-ref")), 0)
    if not _is_image_bytes(records[0]) and ref_idx == 0:
        return ChannelData(samples_from_rec_payloads(records, where, num_classes), {}, "recordio")
    width = len(names)
    if len(records) % width:
        raise DataError(f"{where}: {len(records)} records is not a multiple of the {width} attributes {names}")
    label_idx = next(i for i in range(width) if i != ref_idx)
    samples = []
    for k in range(0, len(records), width):
        img, label_raw = records[k + ref_idx], records[k + label_idx]
        try:
            label = json.loads(label_raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise DataError(f"{where}: record {k + label_idx} (attribute '{names[label_idx]}') is not JSON") from None
        boxes, labels, space = _annotation_boxes(label, f"{where} object {k // width}", num_classes)
        samples.append(Sample(f"{where}#{k // width}", img, boxes, labels, space))
    return ChannelData(samples, {}, "augmented-manifest-pipe")


# ---------------------------------------------------------------------------------------------
# channels


class PipeChannel:
    """Reads FIFOs ``<data_dir>/<channel>_<epoch>``; waits for one that does not exist yet."""

    def __init__(
        self,
        data_dir: str,
        channel: str,
        config: Mapping[str, Any],
        num_classes: int,
        wait_seconds: float,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.data_dir, self.channel, self.config = data_dir, channel, config
        self.num_classes, self.wait_seconds, self.should_stop = num_classes, wait_seconds, should_stop
        self.cached: ChannelData | None = None

    def read(self, epoch: int, wait_seconds: float | None = None) -> ChannelData:
        """Read ``<channel>_<epoch>`` to its end; if it does not appear within ``wait_seconds``,
        reuse the last epoch's data (or fail when there is none)."""
        path = os.path.join(self.data_dir, f"{self.channel}_{epoch}")
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        deadline = time.monotonic() + wait
        while not os.path.exists(path):
            if self.should_stop():
                raise InterruptedError("stopped while waiting for pipe " + path)
            if time.monotonic() >= deadline:
                if self.cached is not None:
                    if wait > 0:
                        log.warning("pipe %s_%d did not appear within %.0f s: reusing the previous epoch's data", self.channel, epoch, wait)
                    return self.cached
                raise DataError(f"channel '{self.channel}' is in Pipe mode but {self.channel}_{epoch} did not appear within {wait:.0f} s")
            time.sleep(0.05)
        wrapper = str(self.config.get("RecordWrapperType", "None"))
        attrs = self.config.get("AttributeNames")
        with open(path, "rb") as f:
            try:
                records = list(recordio.read_records(f))
            except recordio.RecordIOError as e:
                if wrapper.lower() != "recordio":
                    raise DataError(
                        f"channel '{self.channel}' (Pipe mode): {e}; augmented manifests need RecordWrapperType=RecordIO"
                    ) from None
                raise DataError(f"channel '{self.channel}' (Pipe mode): {e}") from None
        data = samples_from_pipe_records(records, f"{self.channel}_{epoch}", self.num_classes, attrs)
        self.cached = data
        return data


def read_file_channel(data_dir: str, channel: str, config: Mapping[str, Any], num_classes: int) -> ChannelData:
    chan_dir = os.path.join(data_dir, channel)
    if not os.path.isdir(chan_dir):
        raise DataError(f"channel '{channel}' has no data folder ({channel}/)")
    manifests, recs, n_images = [], [], 0
    for root, _dirs, files in os.walk(chan_dir, followlinks=True):
        for fn in sorted(files):
            low = fn.lower()
            if low.endswith(MANIFEST_EXTENSIONS):
                manifests.append(os.path.join(root, fn))
            elif low.endswith(".rec"):
                recs.append(os.path.join(root, fn))
            elif low.endswith(IMAGE_EXTENSIONS):
                n_images += 1
    attrs = config.get("AttributeNames")
    if manifests or config.get("S3DataType") == "AugmentedManifestFile":
        if not manifests:
            raise DataError(f"channel '{channel}' is an AugmentedManifestFile but its folder has no .manifest file")
        parts = [read_manifest(m, chan_dir, num_classes, attrs) for m in sorted(manifests)]
    elif recs:
        parts = [read_rec_file(r, num_classes) for r in sorted(recs)]
    elif n_images:
        ann_dir = os.path.join(data_dir, channel + "_annotation")
        if not os.path.isdir(ann_dir):
            raise DataError(f"channel '{channel}' holds images but there is no '{channel}_annotation' channel with their JSON annotations")
        parts = [read_json_annotations(chan_dir, ann_dir, num_classes)]
    else:
        raise DataError(f"channel '{channel}' has no .manifest, .rec or image files")
    out = ChannelData([], {}, parts[0].fmt)
    for p in parts:
        out.samples.extend(p.samples)
        for k, v in p.class_names.items():
            out.class_names.setdefault(k, v)
    return out
