import numpy as np
import pytest

from apiary_od.metrics import average_precisions, mean_average_precision


def P(boxes, scores, labels=None):
    boxes = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    return {
        "boxes": boxes,
        "scores": np.array(scores, dtype=np.float32),
        "labels": np.array(labels if labels is not None else [1] * len(boxes)),
    }


def G(boxes, labels=None):
    boxes = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    return {"boxes": boxes, "labels": np.array(labels if labels is not None else [1] * len(boxes))}


A, B, C = [0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]


def test_perfect_predictions_give_1():
    assert mean_average_precision([P([A, B], [0.9, 0.8])], [G([A, B])]) == 1.0


def test_empty_predictions_give_0():
    assert mean_average_precision([P([], [])], [G([A])]) == 0.0


def test_no_ground_truth_at_all_gives_0_and_the_class_is_left_out():
    assert average_precisions([P([A], [0.9])], [G([])]) == {}
    assert mean_average_precision([P([A], [0.9])], [G([])]) == 0.0


def test_images_without_ground_truth_only_add_false_positives():
    # image 0: hit (0.9); image 1 (no boxes): a 0.95 false positive ranked first
    # ranked: FP(0.95) P=0 R=0; TP(0.9) P=1/2 R=1 -> all-point AP = 0.5
    preds = [P([A], [0.9]), P([B], [0.95])]
    assert mean_average_precision(preds, [G([A]), G([])]) == pytest.approx(0.5)


def test_hand_computed_all_point_and_11_point():
    # gt: A, B, C in one image; ranked: TP(A) .9, FP .8, TP(B) .7, C missed
    # precision 1, 1/2, 2/3 at recall 1/3, 1/3, 2/3
    # all-point: 1/3*1 + 1/3*(2/3) = 0.5556; 11-point: r<=.3 ->1 (4 pts), .4-.6 -> 2/3 (3 pts), .7-1 -> 0
    preds = [P([A, [100, 100, 110, 110], B], [0.9, 0.8, 0.7])]
    gts = [G([A, B, C])]
    assert mean_average_precision(preds, gts) == pytest.approx(1 / 3 + 2 / 9)
    assert mean_average_precision(preds, gts, interpolation="11point") == pytest.approx((4 * 1 + 3 * 2 / 3) / 11)


def test_a_duplicate_detection_is_a_false_positive_and_iou_threshold_applies():
    shifted = [0, 0, 10, 14]  # IoU with A = 100/140 = 0.714
    assert mean_average_precision([P([A, A], [0.9, 0.8])], [G([A])]) == 1.0  # the duplicate comes after recall 1
    assert mean_average_precision([P([shifted], [0.9])], [G([A])], iou_threshold=0.7) == 1.0
    assert mean_average_precision([P([shifted], [0.9])], [G([A])], iou_threshold=0.75) == 0.0


def test_classes_are_averaged_separately():
    preds = [P([A, B], [0.9, 0.9], [1, 2])]
    gts = [G([A, B], [1, 1])]  # class 2 has no ground truth: left out; class 1 AP = 0.5
    assert average_precisions(preds, gts) == {1: pytest.approx(0.5)}


def test_agrees_with_pycocotools_at_iou_05():
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(0)
    preds, gts = [], []
    images, anns, dets = [], [], []
    for i in range(30):
        n = int(rng.integers(0, 4))
        g = []
        for k in range(n):  # well-separated ground truth on a grid
            x, y = 60 * k + rng.uniform(0, 10), rng.uniform(0, 100)
            g.append([x, y, x + rng.uniform(15, 40), y + rng.uniform(15, 40)])
        p, s = [], []
        for b in g:
            if rng.random() < 0.8:
                j = rng.uniform(-6, 6, 4)
                p.append([b[0] + j[0], b[1] + j[1], b[2] + j[2], b[3] + j[3]])
                s.append(rng.uniform(0.2, 1))
        for _ in range(int(rng.integers(0, 3))):
            x, y = rng.uniform(0, 200), rng.uniform(150, 250)
            p.append([x, y, x + 20, y + 20])
            s.append(rng.uniform(0, 0.9))
        preds.append(P(p, s))
        gts.append(G(g))
        images.append({"id": i, "width": 300, "height": 300})
        for b in g:
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": 1,
                    "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                    "area": (b[2] - b[0]) * (b[3] - b[1]),
                    "iscrowd": 0,
                }
            )
        for b, sc in zip(p, s):
            dets.append({"image_id": i, "category_id": 1, "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "score": float(sc)})
    coco = COCO()
    coco.dataset = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "bee"}]}
    coco.createIndex()
    ev = COCOeval(coco, coco.loadRes(dets), "bbox")
    ev.params.iouThrs = np.array([0.5])
    ev.params.areaRng = [[0, 1e10]]
    ev.params.areaRngLbl = ["all"]
    ev.params.maxDets = [100]
    ev.evaluate()
    ev.accumulate()
    coco_ap = float(np.mean(ev.eval["precision"][0, :, 0, 0, 0]))
    assert mean_average_precision(preds, gts, 0.5, interpolation="coco101") == pytest.approx(coco_ap, abs=1e-6)
    # VOC all-point differs from COCO's 101-point sampling only by interpolation
    assert mean_average_precision(preds, gts, 0.5) == pytest.approx(coco_ap, abs=0.02)
