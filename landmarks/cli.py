"""What the thin entry points (``scripts/*.py``) do around :mod:`landmarks.run`, without importing torch early.

``python scripts/train.py --help`` and a config that cannot run (``data.root=???`` left unset)
are answered by Hydra and :func:`check_missing` before torch, Lightning and timm are imported
(seconds on a small machine). A job that does run then, in :func:`train_main`:

1. restores the standard ``multiprocessing`` start method when the job runs inside a
   joblib/loky worker (:func:`restore_start_method`);
2. trains (warnings and progress: :mod:`landmarks.logs`, applied by :func:`landmarks.run.train`)
   and returns the task's monitored metric as the float a Hydra sweeper optimises (:func:`objective`).

The resolver ``${sweep_direction:${monitor_mode}}`` (:func:`sweep_direction`, registered by
``scripts/train.py``) lets the optuna sweeper config take its direction from the task's ``monitor_mode``.
No Hydra or OmegaConf import here (tests/test_layering.py): the script hands plain containers in.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("landmarks")

_DIRECTIONS = {"max": "maximize", "min": "minimize"}


def sweep_direction(mode: str) -> str:
    """An optuna direction from a ``monitor_mode``: ``max`` -> ``maximize``, ``min`` -> ``minimize``."""
    if mode not in _DIRECTIONS:
        raise ValueError(f"monitor_mode: expected 'max' or 'min', got {mode!r}")
    return _DIRECTIONS[mode]


def check_missing(config: Mapping[str, Any]) -> None:
    """Refuse a config with mandatory values left unset (``???``), naming every such key.

    Args:
        config: the composed config as plain containers, unresolved
            (``OmegaConf.to_container(cfg, resolve=False)``: an interpolation to a missing value
            names the key that is missing, once).

    Raises:
        ValueError: e.g. ``config key 'data.root' has no value (???): set it on the command line,
            e.g. data.root=/data/coco``.
    """
    missing = sorted(_missing(config, ""))
    if missing:
        raise ValueError(
            f"config key(s) {', '.join(repr(k) for k in missing)} have no value (???): set them on the command "
            f"line, e.g. {missing[0]}=... (docs/datasets.md lists what each data config expects)"
        )


def _missing(node: Any, path: str) -> list[str]:
    """Dotted keys whose value is ``???`` (unresolved: an interpolation to a missing value is not one)."""
    if isinstance(node, dict):
        return [k for key, v in node.items() for k in _missing(v, f"{path}.{key}" if path else str(key))]
    if isinstance(node, list):
        return [k for i, v in enumerate(node) for k in _missing(v, f"{path}[{i}]")]
    return [path] if node == "???" else []


def restore_start_method() -> str | None:
    """Reset ``multiprocessing``'s start method when a launcher changed it to one of its own; the new one.

    joblib's loky workers (``hydra/launcher=joblib``) set the process-wide start method to
    ``loky``. A ``torch`` DataLoader with ``num_workers > 0`` starts its workers with that
    default, and loky's process launcher cannot start a plain ``multiprocessing.Process``
    (``AttributeError: 'Process' object has no attribute 'env'``, seen by Lightning as
    ``Please call iter(combined_loader) first``). The platform's own default (first of
    ``get_all_start_methods()``: ``fork`` on Linux) is put back. ``None``: nothing changed.
    """
    current = multiprocessing.get_start_method(allow_none=True)
    standard = multiprocessing.get_all_start_methods()
    if current is None or current in standard:
        return None
    multiprocessing.set_start_method(standard[0], force=True)
    log.info(
        "multiprocessing start method '%s' (set by the launcher) replaced by '%s' for DataLoader workers",
        current,
        standard[0],
    )
    return standard[0]


def objective(metrics: Mapping[str, float], monitor: str, mode: str) -> float:
    """The monitored metric as the float a sweeper optimises (its direction: :func:`sweep_direction`).

    A run that produced no finite value (diverged, no validation) returns the worst value for
    ``mode`` (``-inf`` for ``max``, ``inf`` for ``min``) so a study ranks it last and goes on.

    Raises:
        KeyError: ``monitor`` is not among the metrics (naming those that are).
    """
    sweep_direction(mode)  # validates mode
    if monitor not in metrics:
        raise KeyError(
            f"monitor: '{monitor}' is not among the run's metrics {sorted(metrics)}; "
            "set monitor= to one of them (the task config declares its monitored metric)"
        )
    value = float(metrics[monitor])
    if not math.isfinite(value):
        worst = -math.inf if mode == "max" else math.inf
        log.warning("monitor %s = %s: returning %s to the sweeper", monitor, value, worst)
        return worst
    return value


def train_main(cfg: Any) -> float:
    """The body of ``scripts/train.py`` after :func:`check_missing`: train; the monitored metric (module doc).

    Args:
        cfg: the composed train config (a ``DictConfig``, handed on to :func:`landmarks.run.train`).
    """
    restore_start_method()
    from landmarks import run

    metrics: dict[str, Any] = run.train(cfg)
    return objective(metrics, str(cfg.monitor), str(cfg.get("monitor_mode") or "max"))
