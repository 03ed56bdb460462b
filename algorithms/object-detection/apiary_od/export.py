"""Export to ONNX with normalisation, anchor decoding and NMS inside the graph, plus model.json.

Graph: ``images`` float32 ``[N, 3, H, W]``, RGB, values in [0, 1] (pixels / 255), already resized
(stretched) to the model's size. Outputs, padded to ``max_detections`` per image so a batch has
one shape: ``boxes`` float32 ``[N, D, 4]`` (x1, y1, x2, y2 normalised to [0, 1]), ``scores`` float32
``[N, D]`` (descending; 0 for padding), ``labels`` int64 ``[N, D]`` (0-based class ids; 0 for padding).
NMS is ONNX ``NonMaxSuppression`` per class (score > ``score_threshold``, IoU > ``nms_threshold``
suppressed); the best ``D`` survivors over all classes are kept.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import torch
from torch import nn
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import batched_nms

from . import __version__

MODEL_ONNX = "model.onnx"
MODEL_JSON = "model.json"
OPSET = 13


class _NonMaxSuppression(torch.autograd.Function):
    """ONNX ``NonMaxSuppression`` with an eager implementation of the same semantics."""

    @staticmethod
    def forward(ctx, boxes: torch.Tensor, scores: torch.Tensor, max_per_class: int, iou: float, score_threshold: float):  # type: ignore[override]
        n, c, a = scores.shape
        out = []
        for b in range(n):
            s = scores[b].reshape(-1)
            keep = torch.nonzero(s > score_threshold).reshape(-1)
            cls = keep // a
            idx = keep % a
            sel = batched_nms(boxes[b][idx], s[keep], cls, iou)
            # per class, best first, at most max_per_class
            for k in range(c):
                chosen = sel[cls[sel] == k][:max_per_class]
                if chosen.numel():
                    out.append(torch.stack([torch.full_like(chosen, b), cls[chosen], idx[chosen]], 1))
        if not out:
            return torch.zeros((0, 3), dtype=torch.int64)
        return torch.cat(out).to(torch.int64)

    @staticmethod
    def symbolic(g, boxes, scores, max_per_class, iou, score_threshold):
        out = g.op(
            "NonMaxSuppression",
            boxes,
            scores,
            g.op("Constant", value_t=torch.tensor([max_per_class], dtype=torch.int64)),
            g.op("Constant", value_t=torch.tensor([iou], dtype=torch.float32)),
            g.op("Constant", value_t=torch.tensor([score_threshold], dtype=torch.float32)),
        )
        out.setType(out.type().with_dtype(torch.int64).with_sizes([None, 3]))
        return out


class DetectorForExport(nn.Module):
    """Wraps a torchvision SSD: [N,3,S,S] in [0,1] -> fixed-size padded detections."""

    def __init__(self, ssd: nn.Module, size: int, score_threshold: float, nms_threshold: float, max_detections: int) -> None:
        super().__init__()
        ssd = ssd.eval()
        self.backbone, self.head = ssd.backbone, ssd.head
        self.size = size
        mean = torch.tensor(ssd.transform.image_mean, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(ssd.transform.image_std, dtype=torch.float32).view(1, 3, 1, 1)
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        with torch.no_grad():
            x = torch.zeros(1, 3, size, size)
            feats = list(self._features(x))
            anchors = ssd.anchor_generator(ImageList(x, [(size, size)]), feats)[0]
        self.register_buffer("anchors", anchors)
        self.weights = ssd.box_coder.weights
        self.bbox_xform_clip = ssd.box_coder.bbox_xform_clip
        self.score_threshold, self.nms_threshold = score_threshold, nms_threshold
        self.num_classes = ssd.head.classification_head.num_columns - 1
        self.max_detections = min(max_detections, self.num_classes * anchors.shape[0])

    def _features(self, x: torch.Tensor):
        f = self.backbone(x)
        return f.values() if isinstance(f, dict) else [f]

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = (images - self.mean) / self.std
        head = self.head(list(self._features(x)))
        reg, logits = head["bbox_regression"], head["cls_logits"]
        a = self.anchors
        wx, wy, ww, wh = self.weights
        aw, ah = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
        ax, ay = a[:, 0] + 0.5 * aw, a[:, 1] + 0.5 * ah
        dx, dy = reg[..., 0] / wx, reg[..., 1] / wy
        dw = torch.clamp(reg[..., 2] / ww, max=self.bbox_xform_clip)
        dh = torch.clamp(reg[..., 3] / wh, max=self.bbox_xform_clip)
        cx, cy = dx * aw + ax, dy * ah + ay
        w, h = torch.exp(dw) * aw, torch.exp(dh) * ah
        boxes = torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=2)
        boxes = torch.clamp(boxes / float(self.size), 0.0, 1.0)  # [N, A, 4]
        scores = torch.softmax(logits, dim=-1)[..., 1:].transpose(1, 2).contiguous()  # [N, C, A]
        sel = _NonMaxSuppression.apply(boxes, scores, self.max_detections, self.nms_threshold, self.score_threshold)
        n_anchors = a.shape[0]
        flat_idx = (sel[:, 0] * self.num_classes + sel[:, 1]) * n_anchors + sel[:, 2]
        flat_scores = scores.reshape(-1)
        kept = torch.zeros_like(flat_scores).scatter(0, flat_idx, flat_scores.gather(0, flat_idx))
        top_scores, top_idx = kept.reshape(scores.shape[0], -1).topk(self.max_detections, dim=1)
        labels = torch.div(top_idx, n_anchors, rounding_mode="floor")
        anchor_idx = top_idx - labels * n_anchors
        top_boxes = boxes.gather(1, anchor_idx.unsqueeze(-1).expand(-1, -1, 4))
        labels = torch.where(top_scores > 0, labels, torch.zeros_like(labels))
        return top_boxes, top_scores, labels


def export_onnx(
    ssd: nn.Module, path: str, size: int, score_threshold: float, nms_threshold: float, max_detections: int
) -> DetectorForExport:
    wrapper = DetectorForExport(ssd, size, score_threshold, nms_threshold, max_detections).eval()
    dummy = torch.rand(2, 3, size, size)
    tmp = path + ".tmp"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about the eager NMS loop: replaced by the symbolic
        torch.onnx.export(
            wrapper,
            (dummy,),
            tmp,
            opset_version=OPSET,
            input_names=["images"],
            output_names=["boxes", "scores", "labels"],
            dynamic_axes={"images": {0: "batch"}, "boxes": {0: "batch"}, "scores": {0: "batch"}, "labels": {0: "batch"}},
            do_constant_folding=True,
        )
    os.replace(tmp, path)
    return wrapper


def model_json(
    base_network: str,
    class_names: list[str],
    size: int,
    mean: list[float],
    std: list[float],
    score_threshold: float,
    nms_threshold: float,
    max_detections: int,
) -> dict[str, Any]:
    return {
        "task": "object-detection",
        "format": "onnx",
        "trainer_version": __version__,
        "base_network": base_network,
        "num_classes": len(class_names),
        "class_names": class_names,
        "input": {
            "name": "images",
            "width": size,
            "height": size,
            "layout": "NCHW",
            "dtype": "float32",
            "color": "RGB",
            "scale": 255,
            "mean": mean,
            "std": std,
            "normalization": "in-graph",
            "resize": "stretch",
        },
        "output": {
            "boxes": "boxes",
            "scores": "scores",
            "labels": "labels",
            "box_format": "xyxy",
            "normalized": True,
            "batch": True,
            "max_detections": max_detections,
            "padding": "score-0",
        },
        "postprocess": {
            "nms": "in-graph",
            "score_threshold": score_threshold,
            "nms_threshold": nms_threshold,
            "max_detections": max_detections,
        },
    }


def export_model(
    ssd: nn.Module,
    model_dir: str,
    base_network: str,
    class_names: list[str],
    size: int,
    nms_threshold: float,
    score_threshold: float = 0.01,
    max_detections: int = 200,
) -> dict[str, Any]:
    os.makedirs(model_dir, exist_ok=True)
    wrapper = export_onnx(ssd, os.path.join(model_dir, MODEL_ONNX), size, score_threshold, nms_threshold, max_detections)
    meta = model_json(
        base_network,
        class_names,
        size,
        [float(v) for v in wrapper.mean.reshape(-1)],
        [float(v) for v in wrapper.std.reshape(-1)],
        score_threshold,
        nms_threshold,
        wrapper.max_detections,
    )
    with open(os.path.join(model_dir, MODEL_JSON), "w") as f:
        json.dump(meta, f, indent=2)
    return meta
