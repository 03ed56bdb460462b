"""SageMaker training-container entry point: ``python -m apiary_od.train [--ml-root DIR]``.

Root = ``--ml-root`` or env ``APIARY_ML_ROOT`` or ``/opt/ml``. Reads ``input/config/*.json`` and
channels ``train`` / ``validation`` under ``input/data``; writes ``model/`` (``model.onnx``,
``model.json``, ``checkpoint.pt``, ``hyperparams.json``); on any error writes the reason to
``output/failure`` and exits 1. Checkpoints go to ``checkpoints/`` (env ``APIARY_CHECKPOINT_DIR``
overrides) after every epoch; a restarted job resumes from the newest. SIGTERM: stop at the next
batch, save a checkpoint and the model, exit 0.

Recipe on top of the user's hyperparameters (see README "Training recipe"): linear warm-up, then
cosine decay to 2 % of ``learning_rate`` (or ``lr_scheduler_step``/``factor`` steps when given), an
exponential moving average of the weights (evaluated and exported), gradient-norm clipping, no
weight decay on norm/bias parameters, export of the epoch with the best validation mAP.
"""

from __future__ import annotations

import sys
import time

if __name__ == "__main__":
    # The job's first log line comes before the heavy imports (PyTorch alone takes seconds), so
    # CreateTrainingJob shows a line within a second and a stuck import is visible as such.
    _t = time.time()
    print(
        f"[{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(_t))},{int(_t * 1000) % 1000:03d} INFO] "
        "apiary object-detection: container started, loading PyTorch",
        flush=True,
    )

import argparse
import copy
import glob
import json
import logging
import math
import os
import re
import signal
import traceback
from typing import Any

import numpy as np
import torch

from . import __version__
from .data import ChannelData, DataError, DetectionDataset, PipeChannel, read_file_channel
from .engine import ModelEma, NonFiniteLossError, evaluate, train_one_epoch
from .export import export_model
from .hyperparams import HyperparameterError, Hyperparameters, parse_hyperparameters
from .models import PretrainedWeightsError, build_model, freeze_layers
from .transforms import augmentation_strength, collate, eval_transforms, train_transforms

log = logging.getLogger("apiary_od")

CLIENT_ERRORS = (HyperparameterError, DataError, PretrainedWeightsError, NonFiniteLossError)
CHECKPOINT_RE = re.compile(r"checkpoint-epoch-(\d+)\.pt$")
# Decoded images kept in memory per loader process (train and validation each): 500 bees at 320 px
# take 150 MiB; a larger dataset is decoded every epoch past this budget, as before.
DECODE_CACHE_BYTES = 256 * 2**20


class ClientError(ValueError):
    """A problem with the job's inputs that the user can fix."""


class StopRequested(Exception):
    pass


def metric(line: str) -> None:
    print(line, flush=True)


class Job:
    def __init__(self, root: str, checkpoint_dir: str | None = None) -> None:
        self.root = root
        self.config_dir = os.path.join(root, "input", "config")
        self.data_dir = os.path.join(root, "input", "data")
        self.model_dir = os.path.join(root, "model")
        self.output_dir = os.path.join(root, "output")
        self.checkpoint_dir = checkpoint_dir or os.environ.get("APIARY_CHECKPOINT_DIR") or os.path.join(root, "checkpoints")
        self.stop = False

    def read_json(self, name: str, default: Any) -> Any:
        path = os.path.join(self.config_dir, name)
        if not os.path.exists(path):
            return default
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except json.JSONDecodeError as e:
            raise ClientError(f"input/config/{name} is not valid JSON: {e.msg} (line {e.lineno})") from None


# ---------------------------------------------------------------------------------------------


def lr_schedule(hp: Hyperparameters, steps_per_epoch: int):
    total = max(1, hp.epochs * steps_per_epoch)
    warmup = min(total // 10, 10 * steps_per_epoch, 1000)
    floor = 0.02

    def lr_at(step: int) -> float:
        base = hp.learning_rate
        if step < warmup:
            return base * (0.1 + 0.9 * step / warmup)
        if hp.lr_scheduler_step:
            epoch = step // steps_per_epoch
            return base * hp.lr_scheduler_factor ** sum(1 for s in hp.lr_scheduler_step if epoch >= s)
        t = min(1.0, (step - warmup) / max(1, total - warmup))
        return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t)))

    return lr_at


def make_optimizer(model: torch.nn.Module, hp: Hyperparameters) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": hp.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if hp.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=hp.learning_rate, momentum=hp.momentum)
    if hp.optimizer == "adam":
        return torch.optim.Adam(groups, lr=hp.learning_rate)
    if hp.optimizer == "rmsprop":
        return torch.optim.RMSprop(groups, lr=hp.learning_rate, alpha=0.9, eps=1e-8)
    # MXNet's AdaDelta has no learning rate; torch's lr=1.0 is the same update
    for g in groups:
        g["lr_scale"] = 1.0 / hp.learning_rate
    return torch.optim.Adadelta(groups, lr=1.0, rho=0.9, eps=1e-6)


def usable_cpus() -> int:
    """The CPUs this process may run on (a cpuset or ``taskset`` narrows them), else all of them."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _workers() -> int:
    n = usable_cpus()
    return 1 if n <= 4 else min(4, n // 2)


def _ignore_sigterm(_worker_id: int) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the main process decides when to stop


def make_loader(ds: DetectionDataset, batch_size: int, shuffle: bool, drop_last: bool, workers: int, seed: int):
    g = torch.Generator()
    g.manual_seed(seed)
    return torch.utils.data.DataLoader(
        ds,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        num_workers=workers,
        collate_fn=collate,
        worker_init_fn=_ignore_sigterm if workers else None,
        generator=g,
        persistent_workers=workers > 0,
        pin_memory=torch.cuda.is_available(),
    )


def _signature(hp: Hyperparameters) -> dict[str, Any]:
    return {"base_network": hp.base_network, "num_classes": hp.num_classes, "image_shape": hp.image_shape}


def save_checkpoint(directory: str, state: dict[str, Any], keep: int = 2) -> str:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"checkpoint-epoch-{state['epoch']:04d}.pt")
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)
    old = sorted(p for p in glob.glob(os.path.join(directory, "checkpoint-epoch-*.pt")) if CHECKPOINT_RE.search(p))
    for p in old[:-keep]:
        if p != path:
            os.remove(p)
    return path


def load_newest_checkpoint(directory: str, hp: Hyperparameters) -> dict[str, Any] | None:
    paths = sorted((p for p in glob.glob(os.path.join(directory, "checkpoint-epoch-*.pt")) if CHECKPOINT_RE.search(p)), reverse=True)
    for p in paths:
        try:
            state = torch.load(p, map_location="cpu")
        except Exception as e:  # noqa: BLE001  a truncated or foreign file fails torch.load in many ways (EOFError, UnpicklingError, RuntimeError, BadZipFile...): try an older one
            log.warning("cannot read checkpoint %s (%s): trying an older one", os.path.basename(p), e)
            continue
        if state.get("signature") != _signature(hp):
            log.warning(
                "checkpoint %s was made with %s, this job uses %s: not resuming from it",
                os.path.basename(p),
                state.get("signature"),
                _signature(hp),
            )
            return None
        log.info("resuming from %s (%d epochs done)", os.path.basename(p), state["epoch"])
        return state
    return None


def load_warm_start(data_dir: str, hp: Hyperparameters) -> dict[str, Any] | None:
    """Incremental training: the ``model`` channel holds a previous job's ``model.tar.gz`` or its
    ``checkpoint.pt``; same ``base_network``, ``num_classes`` and ``image_shape`` required."""
    chan = os.path.join(data_dir, "model")
    if not os.path.isdir(chan):
        return None
    for root, _dirs, files in os.walk(chan):
        for fn in files:
            path = os.path.join(root, fn)
            if fn == "checkpoint.pt":
                state = torch.load(path, map_location="cpu")
            elif fn.endswith((".tar.gz", ".tgz", ".tar")):
                import tarfile

                with tarfile.open(path) as tar:
                    member = next((m for m in tar.getmembers() if os.path.basename(m.name) == "checkpoint.pt"), None)
                    if member is None:
                        continue
                    state = torch.load(tar.extractfile(member), map_location="cpu")
            else:
                continue
            if state.get("signature") != _signature(hp):
                raise DataError(
                    f"the 'model' channel holds a model trained with {state.get('signature')}; this job uses {_signature(hp)}: "
                    "incremental training needs the same base_network, num_classes and image_shape"
                )
            log.info("warm start from the 'model' channel (%s)", fn)
            return state
    raise DataError("the 'model' channel holds no model.tar.gz or checkpoint.pt from an Apiary object-detection job")


def _class_names(hp: Hyperparameters, *datas: ChannelData | None) -> list[str]:
    names: dict[int, str] = {}
    for d in datas:
        if d:
            for k, v in d.class_names.items():
                names.setdefault(k, v)
    return [names.get(i, f"class_{i}") for i in range(hp.num_classes)]


# ---------------------------------------------------------------------------------------------


def run(job: Job) -> int:
    t_start = time.perf_counter()
    raw_hp = job.read_json("hyperparameters.json", {})
    if not isinstance(raw_hp, dict):
        raise ClientError("input/config/hyperparameters.json must hold a JSON object")
    hp = parse_hyperparameters(raw_hp)
    channels_cfg = job.read_json("inputdataconfig.json", {})
    resources = job.read_json("resourceconfig.json", {"current_host": "algo-1", "hosts": ["algo-1"]})
    host = resources.get("current_host", "algo-1")
    if len(resources.get("hosts", [host])) > 1 or hp.kv_store:
        log.warning(
            "distributed training (kv_store=%s, hosts=%s) is not supported: each host trains on its own",
            hp.kv_store or "-",
            resources.get("hosts"),
        )

    threads = usable_cpus()
    torch.set_num_threads(threads)
    # Weights that decay towards zero (EMA, weight decay) become denormal floats, which x86 CPUs
    # process up to 100x slower; flushing them to zero costs no accuracy.
    np.finfo(np.float64), np.finfo(np.float32)  # cache numpy's limits before FTZ (else it warns)
    torch.set_flush_denormal(True)
    seed = 0
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    use_amp = device.type == "cuda"
    log.info("apiary object-detection %s, torch %s, device %s, %d threads", __version__, torch.__version__, device, threads)
    log.info("hyperparameters: %s", json.dumps(hp.to_dict()))

    def should_stop() -> bool:
        return job.stop

    if "train" not in channels_cfg and not os.path.isdir(os.path.join(job.data_dir, "train")):
        raise DataError("no 'train' channel: the object-detection algorithm needs channels 'train' and (optionally) 'validation'")
    wait_s = float(os.environ.get("APIARY_PIPE_WAIT_SECONDS", "60"))

    def open_channel(name: str):
        cfg = channels_cfg.get(name, {})
        if str(cfg.get("TrainingInputMode", "File")).lower() == "pipe":
            return PipeChannel(job.data_dir, name, cfg, hp.num_classes, wait_s, should_stop)
        if name not in channels_cfg and not os.path.isdir(os.path.join(job.data_dir, name)):
            return None
        return read_file_channel(job.data_dir, name, cfg, hp.num_classes)

    train_src = open_channel("train")
    val_src = open_channel("validation")
    train_data = train_src.read(0) if isinstance(train_src, PipeChannel) else train_src
    val_data = val_src.read(0) if isinstance(val_src, PipeChannel) else val_src
    if not train_data.samples:
        raise DataError("the 'train' channel holds no images")
    n_train = len(train_data.samples)
    log.info(
        "train: %d images (%s), %d boxes; validation: %s",
        n_train,
        train_data.fmt,
        sum(len(s.labels) for s in train_data.samples),
        f"{len(val_data.samples)} images ({val_data.fmt})" if val_data else "none",
    )
    if hp.num_training_samples != n_train:
        log.warning("num_training_samples=%d but the train channel holds %d images: using %d", hp.num_training_samples, n_train, n_train)
    max_objects = (hp.label_width - 2) // 5
    if any(len(s.labels) > max_objects for s in train_data.samples):
        log.warning(
            "some images have more than %d objects, the most label_width=%d holds in SageMaker; Apiary keeps them all",
            max_objects,
            hp.label_width,
        )
    class_names = _class_names(hp, train_data, val_data)

    batch = min(hp.mini_batch_size, n_train)
    if batch < 2:
        log.warning(
            "mini_batch_size=%d: batch statistics come from one image at a time; training is slower and noisier "
            "than with mini_batch_size 8 or more",
            batch,
        )
    drop_last = batch > 1 and n_train % batch == 1  # a lone last image would get one-image statistics
    steps_per_epoch = n_train // batch if drop_last else math.ceil(n_train / batch)

    if hp.use_pretrained_model:
        log.info("loading ImageNet weights for %s", hp.base_network)
    model = build_model(hp.base_network, hp.num_classes, hp.image_shape, bool(hp.use_pretrained_model), hp.nms_threshold)
    warm = load_warm_start(job.data_dir, hp)
    if warm:
        model.load_state_dict(warm["model"])
    freeze_layers(model, hp.freeze_layer_pattern)
    # NHWC activations: oneDNN's convolutions, batch norms and depthwise layers run faster on CPU
    # (bench/train-od --part throughput measures it); the exported model is NCHW as before.
    model.to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(model, hp)
    # The EMA's horizon: about 3 epochs, but at most a tenth of the run (a 12-epoch run from scratch
    # changes too fast for a 3-epoch average to keep up).
    ema_horizon = max(10, min(3 * steps_per_epoch, hp.epochs * steps_per_epoch // 10))
    ema = ModelEma(model, decay=min(0.9999, max(0.9, 1 - 1 / ema_horizon)))
    scaler = torch.cuda.amp.GradScaler() if use_amp else None
    lr_at = lr_schedule(hp, steps_per_epoch)

    start_epoch, step = 0, 0
    best_map, best_state, best_epoch = -1.0, None, -1
    es_bad_epochs = 0
    resumed = load_newest_checkpoint(job.checkpoint_dir, hp)
    if resumed:
        model.load_state_dict(resumed["model"])
        ema.module.load_state_dict(resumed["ema"])
        ema.updates = resumed.get("ema_updates", 0)
        try:
            optimizer.load_state_dict(resumed["optimizer"])
        except ValueError as e:
            log.warning("optimizer state not restored (%s)", e)
        start_epoch, step = resumed["epoch"], resumed["step"]
        best_map, best_epoch, es_bad_epochs = resumed.get("best_map", -1.0), resumed.get("best_epoch", -1), resumed.get("es_bad_epochs", 0)
        best_state = resumed.get("best_state")
        torch.manual_seed(seed + start_epoch)

    workers = _workers()
    size = hp.image_shape

    strength = augmentation_strength(hp.epochs)
    log.info(
        "augmentation: %s",
        f"flip and resize only (short run: {hp.epochs} epochs)"
        if strength <= 0
        else f"SSD's zoom-out, IoU crop and colour jitter on {round(strength * 100)} % of the images, flip, resize",
    )

    def train_loader_for(data: ChannelData):
        return make_loader(
            DetectionDataset(data.samples, train_transforms(size, strength), size, DECODE_CACHE_BYTES),
            batch,
            True,
            drop_last,
            workers,
            seed + start_epoch,
        )

    train_loader = train_loader_for(train_data)
    val_loader = None
    if val_data and val_data.samples:
        val_loader = make_loader(
            DetectionDataset(val_data.samples, eval_transforms(size), size, DECODE_CACHE_BYTES), max(batch, 8), False, False, workers, seed
        )

    def state(epoch: int) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "step": step,
            "model": model.state_dict(),
            "ema": ema.module.state_dict(),
            "ema_updates": ema.updates,
            "optimizer": optimizer.state_dict(),
            "best_map": best_map,
            "best_epoch": best_epoch,
            "best_state": best_state,
            "es_bad_epochs": es_bad_epochs,
            "signature": _signature(hp),
            "hyperparameters": hp.to_dict(),
            "class_names": class_names,
            "trainer_version": __version__,
        }

    epoch = start_epoch
    train_seconds = 0.0
    stopped_early = False
    for epoch in range(start_epoch, hp.epochs):
        if isinstance(train_src, PipeChannel) and epoch > start_epoch:
            data = train_src.read(epoch)
            if data is not train_data:
                train_data = data
                train_loader = train_loader_for(train_data)
        stats = train_one_epoch(model, optimizer, train_loader, device, lr_at, step, ema, scaler, should_stop)
        step += stats.batches
        train_seconds += stats.seconds
        if stats.stopped:
            log.info("SIGTERM: stopping in epoch %d after %d batches", epoch, stats.batches)
            save_checkpoint(job.checkpoint_dir, state(epoch))
            break
        metric(f"#quality_metric: host={host}, epoch={epoch}, batch={stats.batches} train cross_entropy <loss>={stats.cross_entropy:.6g}")
        metric(f"#quality_metric: host={host}, epoch={epoch}, batch={stats.batches} train smooth_l1 <loss>={stats.smooth_l1:.6g}")
        metric(f"#throughput_metric: host={host}, train throughput={stats.throughput:.4g} records/second")
        mAP = None
        if val_loader is not None:
            t_eval = time.perf_counter()
            if isinstance(val_src, PipeChannel) and epoch > 0:
                vdata = val_src.read(epoch, wait_seconds=0)
                if vdata is not val_data:
                    val_data = vdata
                    val_loader = make_loader(
                        DetectionDataset(val_data.samples, eval_transforms(size), size), max(batch, 8), False, False, workers, seed
                    )
            mAP = evaluate(ema.module, val_loader, device, hp.overlap_threshold)
            metric(f"#quality_metric: host={host}, epoch={epoch}, validation mAP <score>=({mAP:.6f})")
            log.info(
                "epoch %d: train %.1f s (total %.1f s), eval %.1f s, lr %.3g",
                epoch,
                stats.seconds,
                train_seconds,
                time.perf_counter() - t_eval,
                lr_at(step),
            )
            improved = best_map < 0 or (mAP > best_map and (best_map == 0 or (mAP - best_map) / best_map > hp.early_stopping_tolerance))
            if improved:
                es_bad_epochs = 0
            else:
                es_bad_epochs += 1
            if mAP > best_map:
                best_map, best_epoch = mAP, epoch
                best_state = copy.deepcopy(ema.module.state_dict())
        else:
            log.info("epoch %d: train %.1f s (total %.1f s), lr %.3g", epoch, stats.seconds, train_seconds, lr_at(step))
        metric(f"#progress_metric: host={host}, completed {100.0 * (epoch + 1) / hp.epochs:.4g} %")
        save_checkpoint(job.checkpoint_dir, state(epoch + 1))
        if (
            hp.early_stopping
            and mAP is not None
            and epoch + 1 >= hp.early_stopping_min_epochs
            and es_bad_epochs >= hp.early_stopping_patience
        ):
            log.info(
                "early stopping after epoch %d: no relative mAP improvement above %g for %d epochs",
                epoch,
                hp.early_stopping_tolerance,
                es_bad_epochs,
            )
            stopped_early = True
            break

    final = copy.deepcopy(ema.module).cpu().to(memory_format=torch.contiguous_format).eval()
    if best_state is not None:
        final.load_state_dict(best_state)
        log.info("exporting the weights of epoch %d (best validation mAP %.4f)", best_epoch, best_map)
    meta = export_model(final, job.model_dir, hp.base_network, class_names, hp.image_shape, hp.nms_threshold)
    torch.save(
        {
            "model": final.state_dict(),
            "signature": _signature(hp),
            "hyperparameters": hp.to_dict(),
            "class_names": class_names,
            "trainer_version": __version__,
        },
        os.path.join(job.model_dir, "checkpoint.pt"),
    )
    with open(os.path.join(job.model_dir, "hyperparams.json"), "w") as f:
        json.dump({k: str(v) for k, v in raw_hp.items()}, f, indent=2)
    log.info(
        "wrote model.onnx, model.json (%d classes, %dx%d) to %s in %.1f s%s",
        meta["num_classes"],
        size,
        size,
        job.model_dir,
        time.perf_counter() - t_start,
        " (early stopping)" if stopped_early else "",
    )
    return 0


def write_failure(job: Job, message: str) -> None:
    try:
        os.makedirs(job.output_dir, exist_ok=True)
        with open(os.path.join(job.output_dir, "failure"), "w") as f:
            f.write(message)
    except OSError as e:
        print(f"cannot write output/failure: {e}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m apiary_od.train", description="Apiary's built-in object-detection training (SageMaker container contract)."
    )
    p.add_argument(
        "--ml-root",
        default=os.environ.get("APIARY_ML_ROOT", "/opt/ml"),
        help="root of the container layout (env APIARY_ML_ROOT, default /opt/ml)",
    )
    p.add_argument("--checkpoint-dir", default=None, help="checkpoint folder (env APIARY_CHECKPOINT_DIR, default <ml-root>/checkpoints)")
    p.add_argument("train", nargs="?", help="ignored: SageMaker runs containers with the argument 'train'")
    args = p.parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="[%(asctime)s %(levelname)s] %(message)s", force=True)
    job = Job(args.ml_root, args.checkpoint_dir)

    def on_sigterm(_signum, _frame):
        if not job.stop:
            log.info("SIGTERM received: saving and stopping")
        job.stop = True

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return run(job)
    except (ClientError, *CLIENT_ERRORS) as e:
        log.error("%s", e)
        write_failure(job, f"ClientError: {e}")
        return 1
    except InterruptedError:
        log.info("stopped before training started")
        return 0
    except Exception as e:  # noqa: BLE001  the job's last resort: any other error becomes SageMaker's AlgorithmError in /opt/ml/output/failure
        traceback.print_exc()
        write_failure(job, f"AlgorithmError: {type(e).__name__}: {e}")
        return 1
    finally:
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
