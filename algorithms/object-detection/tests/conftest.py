import json
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from apiary_od import synthetic

TINY = 64


@pytest.fixture(scope="session")
def bees(tmp_path_factory):
    """24 labelled 64-px bees (the first 16 train, the last 8 validation) + manifests."""
    root = tmp_path_factory.mktemp("bees")
    images = synthetic.generate(24, seed=3, size=TINY)
    synthetic.write_manifest_layout(str(root), images, [], "s3://bucket/bees/", 3, 8)
    return str(root), images


def make_job(tmp_path, hyper, channels=None, data=None):
    """An /opt/ml-like tree; ``data(channel_dir_root)`` fills input/data."""
    root = tmp_path / "ml"
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "data").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyper))
    (root / "input" / "config" / "inputdataconfig.json").write_text(json.dumps(channels or {}))
    (root / "input" / "config" / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    if data:
        data(str(root / "input" / "data"))
    return str(root)


def manifest_channels(bees_root):
    def fill(data_dir):
        for ch in ("train", "validation"):
            d = os.path.join(data_dir, ch)
            os.makedirs(d)
            shutil.copy(os.path.join(bees_root, f"{ch}.manifest"), d)
            shutil.copytree(os.path.join(bees_root, "images"), os.path.join(d, "images"))

    return fill


def tiny_hyper(**over):
    h = {
        "num_classes": "1",
        "num_training_samples": "16",
        "base_network": "mobilenet-v3",
        "use_pretrained_model": "0",
        "epochs": "1",
        "image_shape": str(TINY),
        "mini_batch_size": "8",
        "learning_rate": "0.01",
    }
    h.update({k: str(v) for k, v in over.items()})
    return h
