"""Benchmark Apiary's object-detection trainer against a bare torchvision loop (never a test).

1. Throughput: images/s of the trainer's epoch loop (its augmentation, EMA, clipping, schedule)
   vs a bare torchvision loop (flip + resize, SGD, nothing else) with the same network, batch,
   input size, threads and DataLoader workers, measured in the same run, alternating.
2. Quality: validation mAP@0.5 (VOC, all-point) against training wall time (and CPU time) on generated bees
   (400 train / 100 validation, 320 px), mobilenet-v3 from scratch: Apiary's trainer run through
   its container contract (``python -m apiary_od.train``) vs a bare constant-LR torchvision
   SSDlite320 loop with the same batch and peak learning rate. By default the two run one after the
   other, each alone on the machine, the bare loop for at least the Apiary job's training wall time
   (``--mode concurrent`` runs them at once so both see the same load). Evaluation time is not counted in the wall times.

    .venv/bin/python bench/train-od/bench.py [--part throughput|quality|all] [--mode sequential|concurrent] [--minutes 15]

   The default quality recipe is the demo's old one: 320 px, batch 16, peak learning rate 0.02, 12 epochs.
3. Speed-ups (``--part speedup [--sizes 192,320]``): images/s of the trainer's epoch loop and
   seconds of one validation pass (100 images) before issue #20 (NCHW, per-tensor EMA, every image
   decoded every epoch) and after (channels_last, fused EMA, decoded-image cache), alternating rounds
   in one process, medians and ratios.
4. Recipe sweep (``--part sweep --recipe image_shape=192,epochs=10[,lr=0.02,batch=16] ...
   [--parallel 2] [--ref-epochs 2] [--ref-epoch-s 60] [--overhead-s 75] [--budget-min 6]
   [--data-seed 0]``): each recipe as a job through the container contract on bees generated
   with ``--data-seed`` (first 400 train, last 100 validation), ``--parallel`` at a time, each
   pinned to its share of the CPUs (the trainer sizes its threads from them). Prints validation mAP after every
   epoch per recipe (load does not change it), training wall and CPU seconds, and a check/cross
   verdict against "demo end to end <= 6 min with final mAP >= 0.95": the time is estimated from CPU
   seconds per epoch relative to the old demo recipe run for ``--ref-epochs`` epochs in the same
   sweep under the same pinning (CPU time is less load-sensitive than wall time on a shared
   machine), times that recipe's epoch on a quiet two-core machine (``--ref-epoch-s``), plus the
   demo's non-training time (``--overhead-s``, read off the demo's own output).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.join(HERE, "..", "..", "algorithms", "object-detection")
sys.path.insert(0, PKG)

from apiary_od import synthetic
from apiary_od.data import DetectionDataset, read_manifest
from apiary_od.engine import ModelEma, evaluate, train_one_epoch
from apiary_od.hyperparams import parse_hyperparameters
from apiary_od.models import bare_torchvision_ssdlite, build_model
from apiary_od.train import _workers, lr_schedule, make_loader, make_optimizer
from apiary_od.transforms import collate, eval_transforms, minimal_train_transforms, train_transforms

torch.set_flush_denormal(True)  # as the trainer does: the same arithmetic for both loops


def make_dataset(root: str, n_train: int, n_val: int, size: int, seed: int = 0):
    images = synthetic.generate(n_train + n_val, seed, size)
    synthetic.write_manifest_layout(root, images, [], "s3://bench/bees/", seed, n_val)
    if not n_val:
        return read_manifest(os.path.join(root, "output.manifest"), root, 1).samples, []
    train = read_manifest(os.path.join(root, "train.manifest"), root, 1).samples
    val = read_manifest(os.path.join(root, "validation.manifest"), root, 1).samples
    return train, val


def bare_step_loop(model, loader, optimizer, max_images: int) -> float:
    model.train()
    n = 0
    t0 = time.perf_counter()
    while n < max_images:
        for imgs, targets in loader:
            losses = model(list(imgs), list(targets))
            loss = sum(losses.values())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            n += len(imgs)
            if n >= max_images:
                break
    return n / (time.perf_counter() - t0)


def throughput(tmp: str, size: int, batch: int, images: int, rounds: int) -> None:
    torch.set_num_threads(os.cpu_count() or 1)
    train, _ = make_dataset(os.path.join(tmp, "tp"), 96, 0, size)
    hp = parse_hyperparameters(
        {
            "num_classes": "1",
            "num_training_samples": "96",
            "base_network": "mobilenet-v3",
            "use_pretrained_model": "0",
            "image_shape": str(size),
            "mini_batch_size": str(batch),
            "learning_rate": "0.02",
            "epochs": "100",
        }
    )
    workers = _workers()
    apiary_model = build_model("mobilenet-v3", 1, size, False)
    apiary_opt = make_optimizer(apiary_model, hp)
    ema = ModelEma(apiary_model, 0.99)
    lr_at = lr_schedule(hp, len(train) // batch)
    apiary_loader = make_loader(DetectionDataset(train, train_transforms(size), size), batch, True, True, workers, 0)
    bare_model = bare_torchvision_ssdlite(1)
    bare_opt = torch.optim.SGD(bare_model.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    bare_loader = torch.utils.data.DataLoader(
        DetectionDataset(train, minimal_train_transforms(size), size),
        batch_size=batch,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        collate_fn=collate,
        persistent_workers=workers > 0,
    )
    # warm up both (allocator, oneDNN kernels, worker start)
    train_one_epoch(apiary_model, apiary_opt, apiary_loader, torch.device("cpu"), lr_at, 0, ema)
    bare_step_loop(bare_model, bare_loader, bare_opt, batch * 4)
    a_rates, b_rates = [], []
    for _ in range(rounds):
        n = 0
        t0 = time.perf_counter()
        while n < images:
            s = train_one_epoch(apiary_model, apiary_opt, apiary_loader, torch.device("cpu"), lr_at, 0, ema)
            n += s.images
        a_rates.append(n / (time.perf_counter() - t0))
        b_rates.append(bare_step_loop(bare_model, bare_loader, bare_opt, images))
    a, b = sorted(a_rates)[len(a_rates) // 2], sorted(b_rates)[len(b_rates) // 2]
    print(
        f"\n== throughput: mobilenet-v3 SSDlite, {size} px, batch {batch}, {torch.get_num_threads()} threads, "
        f"{workers} loader worker(s), median of {rounds} x {images} images"
    )
    print(f"{'loop':<28}{'images/s':>10}")
    print(f"{'apiary trainer':<28}{a:>10.2f}")
    print(f"{'bare torchvision loop':<28}{b:>10.2f}")
    print(f"ratio apiary/bare = {a / b:.3f} (target >= 0.95)", flush=True)


TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    """user+system CPU seconds of a process and its live children (DataLoader workers)."""
    total = 0.0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(c) for c in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, IndexError, ValueError):  # noqa: PERF203  a worker can exit between listing and reading
            pass
    return total


class ApiaryRun:
    """The trainer through its container contract, in a subprocess, its log parsed as it comes."""

    def __init__(self, tmp: str, data_root: str, hyper: dict, log_path: str, cpus: set[int] | None = None, tag: str = "apiary") -> None:
        root = os.path.join(tmp, f"ml-{tag}")
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(os.path.join(root, "input", "config"))
        for ch in ("train", "validation"):
            d = os.path.join(root, "input", "data", ch)
            os.makedirs(d)
            shutil.copy(os.path.join(data_root, f"{ch}.manifest"), d)
            os.symlink(os.path.join(data_root, "images"), os.path.join(d, "images"))
        with open(os.path.join(root, "input", "config", "hyperparameters.json"), "w") as f:
            json.dump(hyper, f)
        env = {**os.environ, "PYTHONPATH": PKG + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.points = []  # (train wall s, mAP, CPU s of trainer + workers incl. evaluation)
        self.evals = []  # evaluation wall s per epoch
        self.tag = tag
        self.log_path = log_path
        self.t0 = time.perf_counter()
        # pinned runs see only their CPUs (taskset, not a preexec_fn: this process has threads);
        # the trainer sizes its threads and workers from them
        pin = ["taskset", "-c", ",".join(str(c) for c in sorted(cpus))] if cpus else []
        self.proc = subprocess.Popen(
            [*pin, sys.executable, "-m", "apiary_od.train", "--ml-root", root],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.elapsed = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        total_re = re.compile(r"epoch (\d+): train [\d.]+ s \(total ([\d.]+) s\)(?:, eval ([\d.]+) s)?")
        map_re = re.compile(r"validation mAP <score>=\((\S+)\)")
        last_map = None
        with open(self.log_path, "w") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                m = map_re.search(line)
                if m:
                    last_map = float(m.group(1))
                m = total_re.search(line)
                if m and last_map is not None:
                    cpu = proc_cpu_seconds(self.proc.pid)
                    self.points.append((float(m.group(2)), last_map, cpu))
                    self.evals.append(float(m.group(3) or 0))
                    print(
                        f"  {self.tag} epoch {m.group(1)}: train {float(m.group(2)):.0f} s wall, "
                        f"{cpu:.0f} CPU-s (incl. eval), mAP {last_map:.4f}",
                        flush=True,
                    )

    def done(self) -> bool:
        return self.proc.poll() is not None

    def wait(self) -> None:
        self.proc.wait()
        self.thread.join(10)
        self.elapsed = time.perf_counter() - self.t0


def run_bare(train, val, stop, batch: int, lr: float, size: int = 320):
    """Bare constant-LR torchvision SSDlite loop until ``stop(train_wall_s)`` says so."""
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    model = bare_torchvision_ssdlite(1)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    workers = _workers()
    loader = torch.utils.data.DataLoader(
        DetectionDataset(train, minimal_train_transforms(size), size),
        batch_size=batch,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        collate_fn=collate,
        persistent_workers=True,
    )
    val_loader = torch.utils.data.DataLoader(
        DetectionDataset(val, eval_transforms(size), size), batch_size=16, num_workers=workers, collate_fn=collate, persistent_workers=True
    )
    points, trained, epoch, cpu_total = [], 0.0, 0, 0.0
    while not stop(trained):
        model.train()
        t0 = time.perf_counter()
        c0 = proc_cpu_seconds(os.getpid())
        for imgs, targets in loader:
            losses = model(list(imgs), list(targets))
            loss = sum(losses.values())
            opt.zero_grad()
            loss.backward()
            opt.step()
        trained += time.perf_counter() - t0
        cpu_total += proc_cpu_seconds(os.getpid()) - c0
        m = evaluate(model, val_loader, torch.device("cpu"), 0.5)
        points.append((trained, m, cpu_total))
        print(f"  bare epoch {epoch}: train {trained:.0f} s wall, {cpu_total:.0f} CPU-s, mAP {m:.4f}", flush=True)
        epoch += 1
    return points


def at(points, t):
    """mAP of the last evaluation finished by training time t."""
    done = [m for (s, m) in points if s <= t + 1e-6]
    return done[-1] if done else float("nan")


def quality(tmp: str, minutes: float, epochs: int, batch: int, lr: float, mode: str) -> None:
    data_root = os.path.join(tmp, "bees")
    train, val = make_dataset(data_root, 400, 100, 320)
    hyper = {
        "num_classes": "1",
        "num_training_samples": "400",
        "base_network": "mobilenet-v3",
        "use_pretrained_model": "0",
        "epochs": str(epochs),
        "mini_batch_size": str(batch),
        "learning_rate": str(lr),
        "optimizer": "sgd",
        "momentum": "0.9",
        "weight_decay": "0.0005",
        "image_shape": "320",
    }
    print(f"\n== quality: 400 train / 100 validation bees at 320 px, mobilenet-v3 from scratch, {mode}")
    print("apiary hyperparameters:", json.dumps(hyper))
    if mode == "sequential":
        print(
            f"bare torchvision SSDlite: SGD lr={lr} constant, momentum 0.9, wd 5e-4, flip only, batch {batch}; runs after the apiary job, "
            "alone on the machine, for at least the apiary job's training wall time",
            flush=True,
        )
    else:
        print(
            f"bare torchvision SSDlite: SGD lr={lr} constant, momentum 0.9, wd 5e-4, flip only, batch {batch}; runs at the same time "
            "as the apiary job (each gets about half the machine) until the apiary job ends",
            flush=True,
        )
    out_dir = os.path.join(HERE, "..", "out")
    os.makedirs(out_dir, exist_ok=True)
    log_path = os.path.abspath(os.path.join(out_dir, "train-od-apiary.log"))
    t0 = time.perf_counter()
    apiary = ApiaryRun(tmp, data_root, hyper, log_path)
    if mode == "sequential":
        apiary.proc.wait()
        apiary.thread.join(10)
        budget = apiary.points[-1][0] if apiary.points else minutes * 60
        b_points = run_bare(train, val, lambda trained: trained >= budget, batch, lr)
    else:
        b_points = run_bare(train, val, lambda _t: apiary.done() or time.perf_counter() - t0 > minutes * 60 * 8, batch, lr)
        apiary.proc.wait()
        apiary.thread.join(10)
    a_points = apiary.points
    if apiary.proc.returncode:
        print(f"apiary trainer exited {apiary.proc.returncode}, see {log_path}")
    if not a_points or not b_points:
        return
    for label, key in (("training wall time", 0), ("CPU time", 2)):
        print(f"\nmAP by {label} (last evaluation finished by then)")
        print(f"{'minutes':>8} {'apiary mAP':>11} {'bare mAP':>9} {'ratio':>6}")
        end = max(a_points[-1][key], b_points[-1][key])
        step = max(60.0, round(end / 20 / 60) * 60)
        t = step
        while t <= end + step:
            a = at([(p[key], p[1]) for p in a_points], t)
            b = at([(p[key], p[1]) for p in b_points], t)
            ratio = a / b if not math.isnan(b) and b > 0 else float("nan")
            print(f"{t / 60:>8.0f} {a:>11.4f} {b:>9.4f} {ratio:>6.2f}")
            t += step
    first90 = next((s for (s, m, _c) in a_points if m >= 0.90), None)
    after = [m for (s, m, _c) in a_points if first90 is not None and s >= first90]
    print(f"apiary: first mAP >= 0.90 at {first90 / 60:.1f} min of training wall time" if first90 else "apiary: never reached mAP 0.90")
    if after:
        print(f"apiary: lowest mAP after that {min(after):.4f} (target >= 0.85)")
    print(f"apiary: final {a_points[-1][1]:.4f} after {a_points[-1][0]:.0f} s wall / {a_points[-1][2]:.0f} CPU-s")
    half = [m for s, m, _c in b_points if s >= b_points[-1][0] / 2]
    print(
        f"bare:   final {b_points[-1][1]:.4f} after {b_points[-1][0]:.0f} s wall / {b_points[-1][2]:.0f} CPU-s; "
        f"range over its last half {min(half):.4f}..{max(half):.4f}"
    )
    print(
        f"wall time of the whole comparison: {(time.perf_counter() - t0) / 60:.1f} min; "
        f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# trainer speed-ups of issue #20, before/after in the same run


class LegacyEma(ModelEma):
    """The EMA update before issue #20: a state_dict() and two kernels per tensor each step."""

    @torch.no_grad()
    def update(self, model) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        msd = model.state_dict()
        for k, v in self.module.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


def speedup(tmp: str, sizes: list[int], batch: int, images: int, rounds: int) -> None:
    """images/s of the trainer's epoch loop before (NCHW, per-tensor EMA, decode every epoch) and
    after (channels_last, fused EMA, decoded-image cache), alternating, median of ``rounds``; and
    the validation pass (100 images) both ways."""
    from apiary_od.train import DECODE_CACHE_BYTES, usable_cpus

    torch.set_num_threads(usable_cpus())
    train, val = make_dataset(os.path.join(tmp, "sp"), images, 100, 320)
    workers = _workers()
    print(
        f"\n== trainer speed-ups: mobilenet-v3 SSDlite, batch {batch}, {torch.get_num_threads()} threads, {workers} loader worker(s), "
        f"median of {rounds} rounds x {images} images, alternating; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'px':>4} {'before img/s':>13} {'after img/s':>12} {'ratio':>6} {'eval before s':>14} {'eval after s':>13} {'ratio':>6}")
    for size in sizes:
        hp = parse_hyperparameters(
            {
                "num_classes": "1",
                "num_training_samples": str(images),
                "base_network": "mobilenet-v3",
                "use_pretrained_model": "0",
                "image_shape": str(size),
                "mini_batch_size": str(batch),
                "learning_rate": "0.02",
                "epochs": "100",
            }
        )
        lr_at = lr_schedule(hp, len(train) // batch)
        setups = {}
        for name in ("before", "after"):
            torch.manual_seed(0)
            model = build_model("mobilenet-v3", 1, size, False)
            if name == "after":
                model.to(memory_format=torch.channels_last)
            cache = DECODE_CACHE_BYTES if name == "after" else 0
            ema = (ModelEma if name == "after" else LegacyEma)(model, 0.99)
            loader = make_loader(DetectionDataset(train, train_transforms(size, 0.0), size, cache), batch, True, True, workers, 0)
            vloader = make_loader(DetectionDataset(val, eval_transforms(size), size, cache), 16, False, False, workers, 0)
            setups[name] = (model, make_optimizer(model, hp), ema, loader, vloader)
            train_one_epoch(model, setups[name][1], loader, torch.device("cpu"), lr_at, 0, ema)  # warm-up, fills the cache
            evaluate(ema.module, vloader, torch.device("cpu"))
        rates: dict[str, list[float]] = {"before": [], "after": []}
        evals: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(rounds):
            for name in ("before", "after"):
                model, opt, ema, loader, vloader = setups[name]
                st = train_one_epoch(model, opt, loader, torch.device("cpu"), lr_at, 0, ema)
                rates[name].append(st.images / st.seconds)
                t0 = time.perf_counter()
                evaluate(ema.module, vloader, torch.device("cpu"))
                evals[name].append(time.perf_counter() - t0)
        med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
        b, a = med(rates["before"]), med(rates["after"])
        eb, ea = med(evals["before"]), med(evals["after"])
        print(f"{size:>4} {b:>13.2f} {a:>12.2f} {a / b:>6.2f} {eb:>14.2f} {ea:>13.2f} {eb / ea:>6.2f}", flush=True)


# ---------------------------------------------------------------------------------------------
# recipe sweep: which image size / epochs / learning rate / batch gets the demo to mAP >= 0.95 soonest

DEMO_RECIPE = "image_shape=320,epochs=12,lr=0.02,batch=16"  # the demo's recipe before issue #20


def parse_recipe(spec: str) -> dict[str, str]:
    """``image_shape=192,epochs=10,lr=0.02,batch=16`` -> trainer hyperparameters (strings)."""
    keys = {"image_shape": "image_shape", "size": "image_shape", "epochs": "epochs", "lr": "learning_rate", "batch": "mini_batch_size"}
    out = {"image_shape": "320", "epochs": "12", "learning_rate": "0.02", "mini_batch_size": "16"}
    for part in filter(None, spec.split(",")):
        k, _, v = part.partition("=")
        if k.strip() not in keys or not v.strip():
            raise SystemExit(f"recipe '{spec}': '{part}' is not one of {sorted(keys)}=value")
        out[keys[k.strip()]] = v.strip()
    return out


def recipe_label(h: dict[str, str]) -> str:
    return f"{h['image_shape']}px x{h['epochs']} lr{h['learning_rate']} b{h['mini_batch_size']}"


def sweep(
    tmp: str, specs: list[str], parallel: int, ref_epochs: int, ref_epoch_s: float, overhead_s: float, budget_s: float, data_seed: int = 0
) -> None:
    """Run each recipe through the container contract; ``parallel`` at a time, each pinned to its
    own CPUs. mAP per epoch does not depend on the machine's load; the cost of an epoch is taken as
    CPU seconds relative to the demo's old recipe (run for ``ref_epochs`` epochs in the same sweep,
    under the same pinning), then scaled by ``ref_epoch_s``, that recipe's epoch on a quiet machine."""
    data_root = os.path.join(tmp, "bees")
    make_dataset(data_root, 400, 100, 320, data_seed)
    cpus = sorted(os.sched_getaffinity(0))
    per = max(1, len(cpus) // parallel)
    slots = [set(cpus[(i * per) % len(cpus) : (i * per) % len(cpus) + per]) for i in range(parallel)]
    out_dir = os.path.abspath(os.path.join(HERE, "..", "out"))
    os.makedirs(out_dir, exist_ok=True)
    base = {
        "num_classes": "1",
        "num_training_samples": "400",
        "base_network": "mobilenet-v3",
        "use_pretrained_model": "0",
        "optimizer": "sgd",
        "momentum": "0.9",
        "weight_decay": "0.0005",
    }
    jobs = [("reference", parse_recipe(DEMO_RECIPE), ref_epochs)] if ref_epochs > 0 else []
    jobs += [(f"r{i}", parse_recipe(spec), None) for i, spec in enumerate(specs)]
    print(
        f"\n== recipe sweep: 400 train / 100 validation bees (320 px images), mobilenet-v3 from scratch, "
        f"data seed {data_seed}, {parallel} at a time on {per} CPU(s) each; load average {os.getloadavg()[0]:.1f}"
    )
    done: dict[str, ApiaryRun] = {}
    pending = list(jobs)
    running: list[tuple[str, ApiaryRun, int | None, set[int]]] = []
    free = list(slots)
    while pending or running:
        while pending and free:
            tag, h, stop_after = pending.pop(0)
            slot = free.pop(0)
            print(
                f"  {tag}: {recipe_label(h)} on CPU {sorted(slot)}" + (f" (first {stop_after} epochs only)" if stop_after else ""),
                flush=True,
            )
            run = ApiaryRun(tmp, data_root, {**base, **h}, os.path.join(out_dir, f"train-od-{tag}.log"), slot, tag)
            running.append((tag, run, stop_after, slot))
        time.sleep(2)
        for item in list(running):
            tag, run, stop_after, slot = item
            if stop_after and len(run.points) >= stop_after and not run.done():
                run.proc.kill()
            if run.done():
                run.wait()
                running.remove(item)
                free.append(slot)
                done[tag] = run
    ref = done.get("reference")
    ref_cpu_epoch = ref.points[-1][2] / len(ref.points) if ref and ref.points else None
    print("\nvalidation mAP@0.5 after each epoch (EMA weights, as the demo reports)")
    width = max(int(h["epochs"]) for _t, h, _s in jobs)
    print(f"{'recipe':<28}" + "".join(f"{e:>7}" for e in range(1, width + 1)))
    for tag, h, _stop in jobs:
        run = done[tag]
        print(f"{recipe_label(h):<28}" + "".join(f"{p[1]:>7.3f}" for p in run.points))
    print(
        "\ncost and verdict (estimated quiet two-core time = CPU-s per epoch / reference's x "
        f"{ref_epoch_s:.0f} s; end to end adds {overhead_s:.0f} s of non-training demo time; "
        f"target <= {budget_s / 60:.0f} min with final mAP >= 0.95)"
    )
    print(
        f"{'recipe':<28}{'epochs':>7}{'final mAP':>10}{'first>=.95':>11}{'train s':>9}{'CPU s':>8}"
        f"{'cost/ep':>8}{'est train':>10}{'est e2e':>9}  verdict"
    )
    for tag, h, stop in jobs:
        run = done[tag]
        if not run.points:
            print(f"{recipe_label(h):<28} no epoch finished (exit {run.proc.returncode}), see {run.log_path}")
            continue
        n = len(run.points)
        cpu = run.points[-1][2]
        first = next((i + 1 for i, p in enumerate(run.points) if p[1] >= 0.95), None)
        ratio = (cpu / n) / ref_cpu_epoch if ref_cpu_epoch else float("nan")
        est_train = ratio * ref_epoch_s * int(h["epochs"])
        est = est_train + overhead_s
        ok = not stop and run.points[-1][1] >= 0.95 and est <= budget_s
        verdict = "(reference)" if stop else ("\u2713" if ok else "\u2717")
        print(
            f"{recipe_label(h):<28}{n:>7}{run.points[-1][1]:>10.3f}{first or '-':>11}{run.points[-1][0]:>9.0f}{cpu:>8.0f}"
            f"{ratio:>8.2f}{est_train / 60:>9.1f}m{est / 60:>8.1f}m  {verdict}"
        )
    print(f"load average now {os.getloadavg()[0]:.1f} on {len(cpus)} CPUs", flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--part", choices=["throughput", "speedup", "quality", "sweep", "all"], default="all")
    p.add_argument("--sizes", default="320,192", help="speedup: image sizes, comma-separated")
    p.add_argument(
        "--recipe", action="append", default=[], help="sweep: a recipe, e.g. image_shape=192,epochs=10,lr=0.02,batch=16 (repeatable)"
    )
    p.add_argument("--parallel", type=int, default=1, help="sweep: recipes at a time, each pinned to its share of the CPUs")
    p.add_argument("--ref-epochs", type=int, default=2, help="sweep: epochs of the old demo recipe run as the cost reference (0: none)")
    p.add_argument("--ref-epoch-s", type=float, default=60.0, help="sweep: the old recipe's epoch on a quiet two-core machine, s")
    p.add_argument(
        "--overhead-s",
        type=float,
        default=75.0,
        help="sweep: the demo's non-training time (generate, upload, start, deploy, calibrate, draw), s",
    )
    p.add_argument("--data-seed", type=int, default=0, help="sweep: seed of the generated bees (the demo's --seed)")
    p.add_argument("--budget-min", type=float, default=6.0, help="sweep: end-to-end target, minutes")
    p.add_argument("--minutes", type=float, default=15)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument(
        "--mode",
        choices=["sequential", "concurrent"],
        default="sequential",
        help="sequential: each loop alone on the machine, equal training wall time (the default); "
        "concurrent: both at once, sharing the CPU",
    )
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--tp-images", type=int, default=96)
    p.add_argument("--tp-rounds", type=int, default=3)
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-train-od-")
    try:
        if a.part in ("throughput", "all"):
            throughput(tmp, 320, a.batch, a.tp_images, a.tp_rounds)
        if a.part == "speedup":
            speedup(tmp, [int(x) for x in a.sizes.split(",")], a.batch, a.tp_images, a.tp_rounds)
        if a.part == "sweep":
            recipes = a.recipe or ["image_shape=192,epochs=10"]
            sweep(tmp, recipes, a.parallel, a.ref_epochs, a.ref_epoch_s, a.overhead_s, a.budget_min * 60, a.data_seed)
        if a.part in ("quality", "all"):
            quality(tmp, a.minutes, a.epochs, a.batch, a.lr, a.mode)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
