"""Detection mAP.

``validation:mAP`` is PASCAL VOC mAP at IoU >= ``overlap_threshold`` (default 0.5) with **all-point
interpolation** (VOC 2010+ and ``voc_eval.py`` with ``use_07_metric=False``): AP is the area under
the precision-recall curve after precision is made monotonically non-increasing. Details:

* IoU of continuous coordinates (no VOC "+1 pixel"); a prediction matches the ground-truth box of
  its class with the highest IoU in its image; if that box is already taken by a higher-scoring
  prediction, the prediction is a false positive (VOC's rule); there are no "difficult" boxes.
* A class with no ground-truth box in the whole set is left out of the mean (its AP is undefined);
  when no class has any ground truth, mAP is 0.0.
* A class with ground truth and no predictions has AP 0.

``interpolation="11point"`` gives VOC2007's 11-point AP and ``"coco101"`` COCO's 101-point AP with
COCO's matching (the tests use it to cross-check against pycocotools).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _ap(recall: np.ndarray, precision: np.ndarray, interpolation: str) -> float:
    if interpolation == "11point":
        return float(np.mean([precision[recall >= t].max() if (recall >= t).any() else 0.0 for t in np.linspace(0, 1, 11)]))
    if interpolation == "coco101":
        q = precision.copy()
        for i in range(len(q) - 1, 0, -1):
            q[i - 1] = max(q[i - 1], q[i])
        idx = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
        return float(np.mean([q[i] if i < len(q) else 0.0 for i in idx]))
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    for i in range(len(mpre) - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def average_precisions(
    predictions: Sequence[dict[str, np.ndarray]],
    ground_truth: Sequence[dict[str, np.ndarray]],
    iou_threshold: float = 0.5,
    interpolation: str = "all-point",
) -> dict[int, float]:
    """Per-class AP. ``predictions[i]``: ``boxes`` [K,4] xyxy, ``scores`` [K], ``labels`` [K];
    ``ground_truth[i]``: ``boxes``, ``labels``, for the same image ``i``. Classes without ground
    truth are absent from the result."""
    if len(predictions) != len(ground_truth):
        raise ValueError("predictions and ground_truth must describe the same images")
    classes = sorted({int(c) for g in ground_truth for c in np.asarray(g["labels"]).reshape(-1)})
    out: dict[int, float] = {}
    for c in classes:
        gts = []
        n_gt = 0
        dets: list[tuple] = []
        for i, (p, g) in enumerate(zip(predictions, ground_truth)):
            gl = np.asarray(g["labels"]).reshape(-1)
            gb = np.asarray(g["boxes"], dtype=np.float64).reshape(-1, 4)[gl == c]
            gts.append(gb)
            n_gt += len(gb)
            pl = np.asarray(p["labels"]).reshape(-1)
            pb = np.asarray(p["boxes"], dtype=np.float64).reshape(-1, 4)[pl == c]
            ps = np.asarray(p["scores"], dtype=np.float64).reshape(-1)[pl == c]
            if interpolation == "coco101":  # COCO keeps the 100 best detections per image
                order = np.argsort(-ps, kind="mergesort")[:100]
                pb, ps = pb[order], ps[order]
            dets.extend((s, i, b) for s, b in zip(ps, pb))
        if not dets:
            out[c] = 0.0
            continue
        dets.sort(key=lambda d: -d[0])
        taken = [np.zeros(len(g), dtype=bool) for g in gts]
        tp = np.zeros(len(dets))
        for k, (_s, i, b) in enumerate(dets):
            g = gts[i]
            if len(g) == 0:
                continue
            ious = box_iou(b[None], g)[0]
            if interpolation == "coco101":  # best IoU among the boxes not yet taken
                ious = np.where(taken[i], -1.0, ious)
            j = int(np.argmax(ious))
            if ious[j] >= iou_threshold and not taken[i][j]:
                taken[i][j] = True
                tp[k] = 1
        ctp = np.cumsum(tp)
        cfp = np.cumsum(1 - tp)
        recall = ctp / n_gt
        precision = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
        out[c] = _ap(recall, precision, interpolation)
    return out


def mean_average_precision(predictions, ground_truth, iou_threshold: float = 0.5, interpolation: str = "all-point") -> float:
    aps = average_precisions(predictions, ground_truth, iou_threshold, interpolation)
    return float(np.mean(list(aps.values()))) if aps else 0.0
