import io
import json
import os
import shutil
import threading

import numpy as np
import pytest
import torch

from apiary_od import recordio, synthetic
from apiary_od.data import DataError, DetectionDataset, PipeChannel, load_image, read_file_channel, resolve_source_ref
from apiary_od.transforms import eval_transforms, train_transforms


def _boxes_px(im):
    return np.array([[left, top, left + w, top + h] for (left, top, w, h) in im.boxes], dtype=np.float32).reshape(-1, 4)


def test_recordio_round_trips_including_payloads_that_contain_the_magic_word():
    tricky = b"abcd" + recordio._MAGIC_BYTES + b"efgh" + recordio._MAGIC_BYTES + b"xy"
    payloads = [b"", b"a", tricky, os.urandom(1001)]
    buf = io.BytesIO()
    for p in payloads:
        recordio.write_record(buf, p)
    assert len(buf.getvalue()) % 4 == 0
    assert recordio.read_records_from_bytes(buf.getvalue()) == payloads


def test_recordio_rejects_other_data():
    with pytest.raises(recordio.RecordIOError, match="invalid RecordIO magic"):
        recordio.read_records_from_bytes(b"\x00" * 16)


def test_synthetic_manifest_is_ground_truth_output_and_deterministic(bees, tmp_path):
    root, images = bees
    with open(os.path.join(root, "output.manifest")) as f:
        lines = [json.loads(text) for text in f]
    assert len(lines) == 24
    line = next(ln for ln in lines if ln["bounding-box"]["annotations"])
    assert line["source-ref"].startswith("s3://bucket/bees/bee-")
    meta = line["bounding-box-metadata"]
    assert meta["class-map"] == {"0": "bee"} and meta["type"] == "groundtruth/object-detection"
    assert meta["human-annotated"] == "yes" and meta["job-name"] == "labeling-job/bees"
    assert len(meta["objects"]) == len(line["bounding-box"]["annotations"]) and "creation-date" in meta
    assert any(not ln["bounding-box"]["annotations"] for ln in lines), "images with no bees are part of the data"
    again = synthetic.generate(24, seed=3, size=64)
    assert [im.jpeg for im in again] == [im.jpeg for im in images]


def test_source_ref_resolves_by_key_suffix_basename_or_relative_path(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.jpg").write_bytes(b"1")
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "y.jpg").write_bytes(b"2")
    d = str(tmp_path)
    assert resolve_source_ref(d, "s3://bkt/a/b/x.jpg") == os.path.join(d, "a", "b", "x.jpg")
    assert resolve_source_ref(d, "s3://bkt/prefix/a/b/x.jpg") == os.path.join(d, "a", "b", "x.jpg")
    assert resolve_source_ref(d, "s3://bkt/other/y.jpg") == os.path.join(d, "deep", "y.jpg")
    assert resolve_source_ref(d, "deep/y.jpg") == os.path.join(d, "deep", "y.jpg")
    assert resolve_source_ref(d, "s3://bkt/missing.jpg") is None


def test_augmented_manifest_file_mode_reads_boxes_in_pixels(bees, tmp_path):
    root, images = bees
    chan = tmp_path / "train"
    chan.mkdir()
    shutil.copy(os.path.join(root, "train.manifest"), chan)
    shutil.copytree(os.path.join(root, "images"), chan / "images")
    data = read_file_channel(str(tmp_path), "train", {}, 1)
    assert data.fmt == "augmented-manifest" and len(data.samples) == 16 and data.class_names == {0: "bee"}
    for s, im in zip(data.samples, images[:16]):
        _img, boxes = load_image(s)
        np.testing.assert_allclose(boxes, _boxes_px(im))


def test_a_manifest_with_a_missing_image_names_the_line(bees, tmp_path):
    root, _ = bees
    (tmp_path / "train").mkdir()
    shutil.copy(os.path.join(root, "train.manifest"), tmp_path / "train")
    with pytest.raises(DataError, match=r"manifest train.manifest line 1: image for source-ref 's3://bucket/bees/bee-0000.jpg' not found"):
        read_file_channel(str(tmp_path), "train", {}, 1)


def test_images_with_json_annotations(bees, tmp_path):
    _, images = bees
    synthetic.write_json_layout(str(tmp_path), images, [], 8)
    data = read_file_channel(str(tmp_path), "train", {"ContentType": "image/jpeg"}, 1)
    assert data.fmt == "images+json" and len(data.samples) == 16 and data.class_names == {0: "bee"}
    for s, im in zip(data.samples, images[:16]):
        np.testing.assert_allclose(load_image(s)[1], _boxes_px(im))
    os.remove(tmp_path / "validation_annotation" / "bee-0020.json")
    assert len(read_file_channel(str(tmp_path), "validation", {}, 1).samples) == 7
    shutil.rmtree(tmp_path / "train_annotation")
    with pytest.raises(DataError, match="no 'train_annotation' channel"):
        read_file_channel(str(tmp_path), "train", {}, 1)


def test_recordio_rec_files_in_the_im2rec_layout(bees, tmp_path):
    _, images = bees
    synthetic.write_recordio_layout(str(tmp_path), images, [], 8)
    data = read_file_channel(str(tmp_path), "train", {"ContentType": "application/x-recordio"}, 1)
    assert data.fmt == "recordio" and len(data.samples) == 16
    for s, im in zip(data.samples, images[:16]):
        np.testing.assert_allclose(load_image(s)[1], _boxes_px(im), atol=1e-3)


def _pipe_writer(path, records):
    def write():
        with open(path, "wb") as f:
            for r in records:
                recordio.write_record(f, r)

    os.mkfifo(path)
    t = threading.Thread(target=write, daemon=True)
    t.start()
    return t


def test_pipe_mode_reads_recordio_wrapped_augmented_manifest_from_fifos(bees, tmp_path):
    _, images = bees
    cfg = {"TrainingInputMode": "Pipe", "RecordWrapperType": "RecordIO", "AttributeNames": ["source-ref", "bounding-box"]}
    records = []
    for im in images[:16]:
        records += [im.jpeg, json.dumps(synthetic.gt_annotation(im)).encode()]
    writers = [_pipe_writer(str(tmp_path / f"train_{e}"), records) for e in range(2)]
    pipe = PipeChannel(str(tmp_path), "train", cfg, 1, wait_seconds=5)
    for epoch in range(2):
        data = pipe.read(epoch)
        assert data.fmt == "augmented-manifest-pipe" and len(data.samples) == 16
        for s, im in zip(data.samples, images[:16]):
            np.testing.assert_allclose(load_image(s)[1], _boxes_px(im))
    for w in writers:
        w.join(5)
    assert pipe.read(2, wait_seconds=0.1) is data  # no FIFO for epoch 2: the last epoch is reused


def test_pipe_mode_reads_rec_files(bees, tmp_path):
    _, images = bees
    _pipe_writer(str(tmp_path / "validation_0"), [synthetic.rec_payload(im, i) for i, im in enumerate(images[16:])])
    data = PipeChannel(str(tmp_path), "validation", {"TrainingInputMode": "Pipe"}, 1, 5).read(0)
    assert data.fmt == "recordio" and len(data.samples) == 8


def test_dataset_feeds_network_labels_and_keeps_images_without_boxes(bees, tmp_path):
    root, _images = bees
    shutil.copytree(root, tmp_path / "train", ignore=shutil.ignore_patterns("output.manifest", "validation.manifest"))
    data = read_file_channel(str(tmp_path), "train", {}, 1)
    ds = DetectionDataset(data.samples, train_transforms(64), 64)
    empty = [i for i, s in enumerate(data.samples) if len(s.labels) == 0]
    assert empty, "the fixture has images without bees"
    img, target = ds[empty[0]]
    assert img.shape == (3, 64, 64) and target["boxes"].shape == (0, 4)
    img, target = DetectionDataset(data.samples, eval_transforms(64), 64)[0]
    assert img.dtype.is_floating_point and float(img.max()) <= 1.0 and set(target["labels"].tolist()) <= {1}


def test_a_class_id_outside_num_classes_names_the_file(bees, tmp_path):
    _, images = bees
    synthetic.write_json_layout(str(tmp_path), images, [], 8)
    p = tmp_path / "train_annotation" / "bee-0001.json"
    ann = json.loads(p.read_text())
    ann["annotations"] = [{"class_id": 2, "left": 1, "top": 1, "width": 5, "height": 5}]
    p.write_text(json.dumps(ann))
    with pytest.raises(DataError, match=r"annotation bee-0001.json: class_id 2 is outside 0..0 \(num_classes=1\)"):
        read_file_channel(str(tmp_path), "train", {}, 1)


def test_the_decoded_image_cache_decodes_each_image_once_and_keeps_it_unchanged(bees):
    root, _images = bees
    from apiary_od.data import read_manifest

    samples = read_manifest(os.path.join(root, "train.manifest"), root, 1).samples[:4]
    cached = DetectionDataset(samples, train_transforms(32, 1.0), 32, cache_bytes=2**20)
    plain = DetectionDataset(samples, eval_transforms(32), 32)
    for _ in range(5):  # random crops, zooms, flips and colour changes must not touch the cached image
        for i in range(len(samples)):
            cached[i]
    assert sorted(cached._cache) == [0, 1, 2, 3]
    eval_view = DetectionDataset(samples, eval_transforms(32), 32, cache_bytes=2**20)
    eval_view._cache = cached._cache
    for i in range(len(samples)):
        a, ta = eval_view[i]
        b, tb = plain[i]
        assert torch.equal(a, b)
        assert torch.equal(ta["boxes"], tb["boxes"])


def test_the_decoded_image_cache_stops_at_its_byte_budget(bees):
    root, _images = bees
    from apiary_od.data import read_manifest

    samples = read_manifest(os.path.join(root, "train.manifest"), root, 1).samples[:4]
    first = load_image(samples[0])[0]
    one = first.width * first.height * 3  # room for the first image only
    ds = DetectionDataset(samples, eval_transforms(32), 32, cache_bytes=one)
    for i in range(len(samples)):
        ds[i]
    assert len(ds._cache) == 1
    assert ds._cached_bytes <= one
    assert len(DetectionDataset(samples, eval_transforms(32), 32)._cache) == 0
