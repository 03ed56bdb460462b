import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from conftest import TINY, make_job, manifest_channels, tiny_hyper

from apiary_od import recordio, synthetic
from apiary_od.engine import NonFiniteLossError, train_one_epoch
from apiary_od.train import main

PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGEXES = {  # SageMaker's MetricDefinitions of the built-in object-detection algorithm
    "train:progress": r"#progress_metric: host=\S+, completed (\S+) %",
    "train:smooth_l1": r"#quality_metric: host=\S+, epoch=\S+, batch=\S+ train smooth_l1 <loss>=(\S+)",
    "train:cross_entropy": r"#quality_metric: host=\S+, epoch=\S+, batch=\S+ train cross_entropy <loss>=(\S+)",
    "train:throughput": r"#throughput_metric: host=\S+, train throughput=(\S+) records/second",
    "validation:mAP": r"#quality_metric: host=\S+, epoch=\S+, validation mAP <score>=\((\S+)\)",
}


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _read_text(path):
    with open(path) as f:
        return f.read()


def run_cli(root, timeout=1800, env=None):
    e = {**os.environ, "PYTHONPATH": PKG, "APIARY_ML_ROOT": root, **(env or {})}
    return subprocess.run([sys.executable, "-m", "apiary_od.train"], env=e, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def trained(bees, tmp_path_factory):
    """A two-epoch tiny job through the CLI (env APIARY_ML_ROOT), manifests in File mode."""
    root = make_job(
        tmp_path_factory.mktemp("job"),
        tiny_hyper(epochs=2),
        {"train": {"TrainingInputMode": "File"}, "validation": {"TrainingInputMode": "File"}},
        manifest_channels(bees[0]),
    )
    t0 = time.time()
    proc = run_cli(root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root, proc.stdout, time.time() - t0


def test_a_tiny_job_logs_every_sagemaker_metric_once_per_epoch(trained):
    _root, out, _seconds = trained
    for name, rx in REGEXES.items():
        values = [float(m.group(1)) for m in re.finditer(rx, out)]
        assert len(values) == 2, name
        assert all(np.isfinite(values)), name
    assert [float(v) for v in re.findall(REGEXES["train:progress"], out)] == [50.0, 100.0]
    assert "#quality_metric: host=algo-1, epoch=1, validation mAP <score>=(" in out


def test_model_dir_holds_onnx_model_json_and_checkpoint(trained):
    root, _out, _ = trained
    model_dir = os.path.join(root, "model")
    assert sorted(os.listdir(model_dir)) == ["checkpoint.pt", "hyperparams.json", "model.json", "model.onnx"]
    meta = _read_json(os.path.join(model_dir, "model.json"))
    assert meta["task"] == "object-detection" and meta["format"] == "onnx" and meta["base_network"] == "mobilenet-v3"
    assert meta["num_classes"] == 1 and meta["class_names"] == ["bee"]
    assert meta["input"] == {
        "name": "images",
        "width": TINY,
        "height": TINY,
        "layout": "NCHW",
        "dtype": "float32",
        "color": "RGB",
        "scale": 255,
        "mean": [0.5, 0.5, 0.5],
        "std": [0.5, 0.5, 0.5],
        "normalization": "in-graph",
        "resize": "stretch",
    }
    assert meta["output"]["box_format"] == "xyxy" and meta["output"]["normalized"] is True and meta["output"]["batch"] is True
    assert meta["postprocess"] == {
        "nms": "in-graph",
        "score_threshold": 0.01,
        "nms_threshold": 0.45,
        "max_detections": meta["output"]["max_detections"],
    }
    assert sorted(os.listdir(os.path.join(root, "checkpoints"))) == ["checkpoint-epoch-0001.pt", "checkpoint-epoch-0002.pt"]
    assert not os.path.exists(os.path.join(root, "output", "failure"))


def _iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter + 1e-12)


@pytest.mark.parametrize("batch", [1, 4])
def test_onnx_runtime_and_pytorch_give_the_same_detections(trained, bees, batch):
    import io

    import onnxruntime as ort
    from PIL import Image

    from apiary_od.export import DetectorForExport
    from apiary_od.models import build_model

    root, _out, _ = trained
    ckpt = torch.load(os.path.join(root, "model", "checkpoint.pt"))
    model = build_model("mobilenet-v3", 1, TINY, False)
    model.load_state_dict(ckpt["model"])
    meta = _read_json(os.path.join(root, "model", "model.json"))
    torch_model = DetectorForExport(model, TINY, 0.01, 0.45, 200).eval()
    images = np.stack(
        [
            np.asarray(Image.open(io.BytesIO(im.jpeg)).convert("RGB").resize((TINY, TINY), Image.BILINEAR), dtype=np.float32).transpose(
                2, 0, 1
            )
            / 255.0
            for im in bees[1][16 : 16 + batch]
        ]
    )
    sess = ort.InferenceSession(os.path.join(root, "model", "model.onnx"), providers=["CPUExecutionProvider"])
    o_boxes, o_scores, o_labels = sess.run(None, {"images": images})
    with torch.no_grad():
        t_boxes, t_scores, t_labels = (t.numpy() for t in torch_model(torch.from_numpy(images)))
    d = meta["postprocess"]["max_detections"]
    assert o_boxes.shape == (batch, d, 4) and o_scores.shape == (batch, d) and o_labels.shape == (batch, d)
    assert o_labels.dtype == np.int64 and (o_boxes >= 0).all() and (o_boxes <= 1).all()
    assert (np.diff(o_scores, axis=1) <= 1e-6).all(), "scores come sorted, padding (score 0) last"
    for n in range(batch):
        assert abs(int((o_scores[n] > 0.05).sum()) - int((t_scores[n] > 0.05).sum())) <= 1
        for k in range(10):  # every top ORT detection has a PyTorch twin
            if o_scores[n, k] <= 0:
                break
            twins = [
                j
                for j in range(d)
                if t_labels[n, j] == o_labels[n, k]
                and abs(t_scores[n, j] - o_scores[n, k]) <= 1e-3
                and _iou(t_boxes[n, j], o_boxes[n, k]) >= 0.99
            ]
            assert twins, (n, k, o_boxes[n, k], o_scores[n, k])


def test_a_restarted_job_resumes_from_the_newest_checkpoint(bees, tmp_path, capsys):
    root = make_job(tmp_path, tiny_hyper(epochs=1), {}, manifest_channels(bees[0]))
    assert main(["--ml-root", root]) == 0
    hp_path = os.path.join(root, "input", "config", "hyperparameters.json")
    with open(hp_path, "w") as f:
        json.dump(tiny_hyper(epochs=2), f)
    capsys.readouterr()
    assert main(["--ml-root", root]) == 0
    out = capsys.readouterr().out
    assert "resuming from checkpoint-epoch-0001.pt (1 epochs done)" in out
    assert "epoch=0," not in out and "#quality_metric: host=algo-1, epoch=1, batch=2 train cross_entropy" in out


def test_checkpoint_dir_can_be_moved_by_env(bees, tmp_path, monkeypatch):
    monkeypatch.setenv("APIARY_CHECKPOINT_DIR", str(tmp_path / "ck"))
    root = make_job(tmp_path, tiny_hyper(epochs=1), {}, manifest_channels(bees[0]))
    assert main(["--ml-root", root]) == 0
    assert os.listdir(tmp_path / "ck") == ["checkpoint-epoch-0001.pt"]


def test_a_bad_hyperparameter_writes_the_failure_file_and_exits_non_zero(tmp_path):
    root = make_job(tmp_path, tiny_hyper(epochs="abc"))
    assert main(["--ml-root", root]) == 1
    assert (
        _read_text(os.path.join(root, "output", "failure")) == "ClientError: hyperparameter 'epochs' = 'abc': expected a positive integer"
    )


def test_missing_training_data_writes_the_failure_file(tmp_path):
    root = make_job(tmp_path, tiny_hyper())
    assert main(["--ml-root", root]) == 1
    assert "ClientError: no 'train' channel" in _read_text(os.path.join(root, "output", "failure"))


def test_offline_pretrained_weights_fail_with_the_file_to_place(bees, tmp_path, monkeypatch):
    import torch.hub

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    root = make_job(tmp_path, tiny_hyper(use_pretrained_model=1), {}, manifest_channels(bees[0]))
    assert main(["--ml-root", root]) == 1
    failure = _read_text(os.path.join(root, "output", "failure"))
    assert "mobilenet_v3_large-8738ca79.pth" in failure and str(tmp_path / "torch" / "hub" / "checkpoints") in failure


def test_a_non_finite_loss_stops_with_a_clear_message():
    class Diverged(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, images, targets):
            return {"classification": self.w * float("nan"), "bbox_regression": self.w}

    model = Diverged()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = [([torch.zeros(3, 8, 8)], [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}])]
    with pytest.raises(NonFiniteLossError, match=r"training stopped: the loss became nan at step 0 .* lower learning_rate"):
        train_one_epoch(model, opt, loader, torch.device("cpu"), lambda s: 0.1, 0)


def _fifo(path, records):
    os.mkfifo(path)

    def write():
        with open(path, "wb") as f:
            for r in records:
                recordio.write_record(f, r)

    t = threading.Thread(target=write, daemon=True)
    t.start()
    return t


def test_pipe_mode_job_reads_one_fifo_per_epoch(bees, tmp_path, capsys):
    images = bees[1]
    cfg = {
        "TrainingInputMode": "Pipe",
        "RecordWrapperType": "RecordIO",
        "S3DataType": "AugmentedManifestFile",
        "AttributeNames": ["source-ref", "bounding-box"],
        "ContentType": "application/x-recordio",
    }

    def records(part):
        out = []
        for im in part:
            out += [im.jpeg, json.dumps(synthetic.gt_annotation(im)).encode()]
        return out

    root = make_job(tmp_path, tiny_hyper(epochs=2), {"train": cfg, "validation": cfg})
    data = os.path.join(root, "input", "data")
    writers = [_fifo(os.path.join(data, f"train_{e}"), records(images[:16])) for e in range(2)]
    writers.append(_fifo(os.path.join(data, "validation_0"), records(images[16:])))
    assert main(["--ml-root", root]) == 0
    out = capsys.readouterr().out
    assert "train: 16 images (augmented-manifest-pipe)" in out and out.count("validation mAP <score>=") == 2
    for w in writers:
        w.join(5)
        assert not w.is_alive(), "every FIFO was read to its end"


def test_rec_files_and_json_annotations_train_end_to_end(bees, tmp_path):
    images = bees[1]
    for layout, writer in (("rec", synthetic.write_recordio_layout), ("json", synthetic.write_json_layout)):
        root = make_job(tmp_path / layout, tiny_hyper(), {}, lambda d, w=writer: w(d, images, [], 8))
        assert main(["--ml-root", root]) == 0, layout
        assert os.path.exists(os.path.join(root, "model", "model.onnx"))


def test_sigterm_saves_a_checkpoint_and_the_model_and_exits_cleanly(bees, tmp_path):
    root = make_job(tmp_path, tiny_hyper(epochs=500), {}, manifest_channels(bees[0]))
    env = {**os.environ, "PYTHONPATH": PKG}
    p = subprocess.Popen(
        [sys.executable, "-m", "apiary_od.train", "--ml-root", root], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    for line in p.stdout:
        lines.append(line)
        if line.startswith("#progress_metric"):
            p.send_signal(signal.SIGTERM)
            break
    rest, _ = p.communicate(timeout=1800)
    out = "".join(lines) + rest
    assert p.returncode == 0, out
    assert "SIGTERM received" in out
    assert os.path.exists(os.path.join(root, "model", "model.onnx"))
    assert os.listdir(os.path.join(root, "checkpoints"))


def test_incremental_training_starts_from_the_model_channel(trained, bees, tmp_path, capsys):
    import tarfile

    src_root, _out, _ = trained

    def fill(d):
        manifest_channels(bees[0])(d)
        os.makedirs(os.path.join(d, "model"))
        with tarfile.open(os.path.join(d, "model", "model.tar.gz"), "w:gz") as tar:
            for fn in os.listdir(os.path.join(src_root, "model")):
                tar.add(os.path.join(src_root, "model", fn), arcname=fn)

    root = make_job(tmp_path, tiny_hyper(), {}, fill)
    assert main(["--ml-root", root]) == 0
    assert "warm start from the 'model' channel (model.tar.gz)" in capsys.readouterr().out


def test_early_stopping_ends_the_job_when_map_stops_improving(bees, tmp_path, capsys):
    hyper = tiny_hyper(
        epochs=20,
        learning_rate="0.000001",
        early_stopping="True",
        early_stopping_min_epochs=1,
        early_stopping_patience=1,
        early_stopping_tolerance="0.9",
    )
    root = make_job(tmp_path, hyper, {}, manifest_channels(bees[0]))
    assert main(["--ml-root", root]) == 0
    out = capsys.readouterr().out
    assert "early stopping after epoch" in out and out.count("validation mAP <score>=") < 20


def test_learning_rate_warms_up_then_follows_cosine_or_the_users_steps():
    from apiary_od.hyperparams import parse_hyperparameters
    from apiary_od.train import lr_schedule

    base = {"num_classes": "1", "num_training_samples": "100", "epochs": "10", "learning_rate": "0.1"}
    lr = lr_schedule(parse_hyperparameters(base), steps_per_epoch=10)  # 100 steps, 10 of warm-up
    assert lr(0) == pytest.approx(0.01) and lr(10) == pytest.approx(0.1)
    assert lr(55) == pytest.approx(0.1 * (0.02 + 0.98 * 0.5), rel=1e-6) and lr(100) == pytest.approx(0.002)
    stepped = lr_schedule(parse_hyperparameters({**base, "lr_scheduler_step": "4,8", "lr_scheduler_factor": "0.5"}), 10)
    assert [stepped(s) for s in (20, 40, 79, 80, 99)] == pytest.approx([0.1, 0.05, 0.05, 0.025, 0.025])


def test_the_tutorials_mini_batch_size_of_one_trains(bees, tmp_path, capsys):
    root = make_job(tmp_path, tiny_hyper(epochs=1, mini_batch_size=1), {}, manifest_channels(bees[0]))
    assert main(["--ml-root", root]) == 0
    out = capsys.readouterr().out
    assert "#quality_metric: host=algo-1, epoch=0, batch=16 train cross_entropy" in out
    assert os.path.exists(os.path.join(root, "model", "model.onnx"))


def test_the_first_log_line_comes_before_pytorch_is_imported(tmp_path):
    # CreateTrainingJob shows a line at once: the trainer logs before its heavy imports. A finder
    # first on sys.meta_path prints a marker when torch starts importing.
    env = {**os.environ, "PYTHONPATH": PKG}
    probe = (
        "import runpy, sys\n"
        "class Spy:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch': print('importing torch', flush=True)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Spy())\n"
        "sys.argv = ['train', '--ml-root', sys.argv[1]]\n"
        "runpy.run_module('apiary_od.train', run_name='__main__')\n"
    )
    p = subprocess.Popen([sys.executable, "-c", probe, str(tmp_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = p.stdout.readline()
    second = p.stdout.readline()
    p.kill()
    p.communicate()
    assert "container started" in first, first
    assert second.strip() == "importing torch", second


def test_the_trainer_sizes_threads_and_workers_from_the_cpus_it_may_run_on():
    from apiary_od.train import _workers, usable_cpus

    allowed = os.sched_getaffinity(0)
    assert usable_cpus() == len(allowed)
    try:
        os.sched_setaffinity(0, {min(allowed)})  # as `taskset -c N` or a one-CPU cpuset does
        assert usable_cpus() == 1
        assert _workers() == 1
    finally:
        os.sched_setaffinity(0, allowed)


def test_the_fused_ema_update_is_the_per_tensor_average():
    from apiary_od.engine import ModelEma
    from apiary_od.models import build_model

    torch.manual_seed(0)
    model = build_model("mobilenet-v3", 1, TINY, False).to(memory_format=torch.channels_last)
    ema = ModelEma(model, decay=0.9)
    before = {k: v.clone() for k, v in ema.module.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
        for b in model.buffers():
            b.add_(1)
    ema.update(model)
    d = min(0.9, 2 / 11)
    now = model.state_dict()
    for k, v in ema.module.state_dict().items():
        expected = before[k] * d + now[k] * (1 - d) if v.dtype.is_floating_point else now[k]
        assert torch.allclose(v, expected, atol=1e-6), k
