"""SageMaker object-detection hyperparameters: defaults, validation, a frozen config.

Values arrive as strings (``hyperparameters.json``). A bad value fails with a message that names
the hyperparameter, the value and what is allowed, e.g.
``hyperparameter 'epochs' = 'abc': expected a positive integer``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Callable

log = logging.getLogger("apiary_od")

BASE_NETWORKS = ("vgg-16", "resnet-50", "mobilenet-v3")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adadelta")
KV_STORES = ("dist_sync", "dist_async")
MIN_IMAGE_SHAPE = 64  # SageMaker's minimum is 300; smaller is an Apiary extension for fast tests
SAGEMAKER_MIN_IMAGE_SHAPE = 300
MAX_IMAGE_SHAPE = 2048


class HyperparameterError(ValueError):
    """A hyperparameter is missing or has a value outside its valid range."""


@dataclass(frozen=True)
class Hyperparameters:
    num_classes: int
    num_training_samples: int
    base_network: str = "vgg-16"
    use_pretrained_model: int = 1
    epochs: int = 30
    learning_rate: float = 0.001
    lr_scheduler_step: tuple[int, ...] = ()
    lr_scheduler_factor: float = 0.1
    mini_batch_size: int = 32
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0005
    image_shape: int = 300
    label_width: int = 350
    nms_threshold: float = 0.45
    overlap_threshold: float = 0.5
    freeze_layer_pattern: str = ""
    kv_store: str = ""
    early_stopping: bool = False
    early_stopping_min_epochs: int = 10
    early_stopping_patience: int = 5
    early_stopping_tolerance: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lr_scheduler_step"] = list(self.lr_scheduler_step)
        return d


def _fail(name: str, raw: str, expected: str) -> HyperparameterError:
    return HyperparameterError(f"hyperparameter '{name}' = '{raw}': expected {expected}")


def _int(lo: int, hi: int | None = None, what: str = "a positive integer") -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            v = int(raw.strip())
        except ValueError:
            try:  # "30.0" is a common way to write an integer in tuning jobs
                f = float(raw.strip())
            except ValueError:
                raise _fail(name, raw, what) from None
            if not f.is_integer():
                raise _fail(name, raw, what) from None
            v = int(f)
        if v < lo or (hi is not None and v > hi):
            raise _fail(name, raw, what)
        return v

    return parse


def _float(lo: float, hi: float, lo_open: bool, hi_open: bool) -> Callable[[str, str], float]:
    lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
    what = f"a number in {lb}{lo:g}, {hi:g}{rb}"

    def parse(name: str, raw: str) -> float:
        try:
            v = float(raw.strip())
        except ValueError:
            raise _fail(name, raw, what) from None
        if math.isnan(v) or (v <= lo if lo_open else v < lo) or (v >= hi if hi_open else v > hi):
            raise _fail(name, raw, what)
        return v

    return parse


def _choice(options: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        v = raw.strip().lower()
        if v not in options:
            raise _fail(name, raw, "one of " + ", ".join(f"'{o}'" for o in options))
        return v

    return parse


def _bool(name: str, raw: str) -> bool:
    v = raw.strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise _fail(name, raw, "'True' or 'False'")


def _binary(name: str, raw: str) -> int:
    v = raw.strip()
    if v not in ("0", "1"):
        raise _fail(name, raw, "'0' or '1'")
    return int(v)


def _steps(name: str, raw: str) -> tuple[int, ...]:
    s = raw.strip()
    if not s:
        return ()
    try:
        steps = tuple(int(p.strip()) for p in s.split(","))
    except ValueError:
        raise _fail(name, raw, "comma-separated positive epoch numbers in increasing order, e.g. '10,20'") from None
    if any(x <= 0 for x in steps) or list(steps) != sorted(set(steps)):
        raise _fail(name, raw, "comma-separated positive epoch numbers in increasing order, e.g. '10,20'")
    return steps


def _regex(name: str, raw: str) -> str:
    try:
        re.compile(raw)
    except re.error as e:
        raise _fail(name, raw, f"a valid regular expression ({e})") from None
    return raw


def _image_shape(name: str, raw: str) -> int:
    return _int(
        MIN_IMAGE_SHAPE,
        MAX_IMAGE_SHAPE,
        f"an integer from {MIN_IMAGE_SHAPE} to {MAX_IMAGE_SHAPE} (SageMaker requires >= 300; 300 or 512 recommended)",
    )(name, raw)


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "num_classes": _int(1),
    "num_training_samples": _int(1),
    "base_network": _choice(BASE_NETWORKS),
    "use_pretrained_model": _binary,
    "epochs": _int(1),
    "learning_rate": _float(0.0, 1.0, True, False),
    "lr_scheduler_step": _steps,
    "lr_scheduler_factor": _float(0.0, 1.0, True, True),
    "mini_batch_size": _int(1),
    "optimizer": _choice(OPTIMIZERS),
    "momentum": _float(0.0, 1.0, False, False),
    "weight_decay": _float(0.0, 1.0, False, True),
    "image_shape": _image_shape,
    "label_width": _int(7, None, "an integer >= 7 (header 2 + 5 per object)"),
    "nms_threshold": _float(0.0, 1.0, True, False),
    "overlap_threshold": _float(0.0, 1.0, True, False),
    "freeze_layer_pattern": _regex,
    "kv_store": _choice(KV_STORES),
    "early_stopping": _bool,
    "early_stopping_min_epochs": _int(1),
    "early_stopping_patience": _int(1),
    "early_stopping_tolerance": _float(0.0, 1.0, False, False),
}
REQUIRED = ("num_classes", "num_training_samples")


def _ignored(name: str) -> bool:
    # Added by the tuner (``_tuning_objective_metric``) or SDKs (``sagemaker_*``): not ours to judge.
    return name.startswith(("_", "sagemaker_"))


def parse_hyperparameters(raw: Mapping[str, Any]) -> Hyperparameters:
    """Validate SageMaker's string hyperparameters; raises :class:`HyperparameterError`."""
    values: dict[str, Any] = {}
    for name, raw_value in raw.items():
        if _ignored(name):
            continue
        parser = _PARSERS.get(name)
        if parser is None:
            raise HyperparameterError(
                f"hyperparameter '{name}' = '{raw_value}': not a hyperparameter of the object-detection "
                f"algorithm (allowed: {', '.join(sorted(_PARSERS))})"
            )
        value = ("True" if raw_value else "False") if isinstance(raw_value, bool) else str(raw_value)
        values[name] = parser(name, value)
    for name in REQUIRED:
        if name not in values:
            raise HyperparameterError(f"hyperparameter '{name}' is required: expected a positive integer")
    hp = Hyperparameters(**values)
    if hp.image_shape < SAGEMAKER_MIN_IMAGE_SHAPE:
        log.warning(
            "image_shape=%d is below SageMaker's minimum of 300: allowed by Apiary for fast tests, expect lower accuracy",
            hp.image_shape,
        )
    if hp.lr_scheduler_step and hp.lr_scheduler_step[-1] >= hp.epochs:
        log.warning("lr_scheduler_step %s: steps at or after epoch %d never happen", list(hp.lr_scheduler_step), hp.epochs)
    return hp
