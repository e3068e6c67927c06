"""Measurement helpers for ``benchmarks/benchmark.py``: timing, train loops, codec accuracy.

Everything here takes built objects (a :class:`~landmarks.module.LandmarkModule`, a codec,
a batch) and returns plain numbers, so the tests can call it on tiny inputs. The script
composes the Hydra config, runs the sections side by side and writes the report.

* Train-step throughput: the same module and the same in-memory batch through a raw
  PyTorch loop (:func:`raw_train_throughput`) and through ``pl.Trainer``
  (:func:`lightning_train_throughput`); only steady-state steps are timed, from the start
  of step ``warmup`` to the start of step ``warmup + steps``.
* Heatmap codec: :func:`encode_timing` (vectorised ``encode`` vs ``encode_loop``) and
  :func:`decode_errors` on exact Gaussians with known sub-pixel centres
  (:func:`gaussian_heatmaps`), in heatmap px.
* :func:`time_to_accuracy` reads the rows that :class:`landmarks.callbacks.TrainingCurves`
  writes.

To add a measurement, write a function here that returns plain floats, test it on a tiny
input, and give it a section in the script.

(Over 300 lines: the benchmark's measuring helpers in one place, outside the installed package.)
"""

from __future__ import annotations

import inspect
import logging
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from landmarks.codecs.heatmap import MSRAHeatmap

REFINES = ("none", "quarter", "dark")


# --- machine and timing --------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    """CPU model (``/proc/cpuinfo``), cores, load, and library versions."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import timm

    return {
        "cpu": model,
        "cores": int(cores or 0),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pytorch_lightning": pl.__version__,  # pyright: ignore[reportPrivateImportUsage]  (not in its __all__)
        "timm": timm.__version__,
        "numpy": np.__version__,
    }


def time_calls(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def rss_mib() -> tuple[float, float]:
    """This process's current resident set (``VmRSS``) and its high-water mark (``VmHWM``), MiB.

    The high-water mark counts from process start or from the last :func:`reset_peak_rss`.
    """
    with open("/proc/self/status") as f:
        fields = {x.split(":")[0]: x.split()[1] for x in f if x.startswith(("VmRSS:", "VmHWM:"))}
    return int(fields["VmRSS"]) / 1024, int(fields["VmHWM"]) / 1024


def reset_peak_rss() -> None:
    """Restart the ``VmHWM`` high-water mark at the current RSS (Linux ``clear_refs`` value 5)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


# --- train-step throughput -------------------------------------------------------------------
def optimisers_for(module: Any, total_steps: int) -> tuple[torch.optim.Optimizer, Any]:
    """The optimizer and per-step scheduler that ``module.configure_optimizers`` would build."""
    opt = module.optimizer_factory(params=module.parameters())
    factory = module.scheduler_factory
    if factory is None:
        return opt, None
    takes_total = "total_steps" in inspect.signature(getattr(factory, "func", factory)).parameters
    return opt, factory(optimizer=opt, **({"total_steps": total_steps} if takes_total else {}))


def raw_train_throughput(module: Any, batch: dict[str, Any], warmup: int, steps: int) -> float:
    """Samples/s of a plain PyTorch loop: forward, task losses, backward, step, scheduler.

    Args:
        module: a :class:`LandmarkModule` (used as a plain ``nn.Module``).
        batch: one source batch ``{"image", "targets", "meta"}``, reused every step.
        warmup: untimed steps first.
        steps: timed steps.
    """
    module.train()
    opt, sched = optimisers_for(module, warmup + steps + 1)
    names = [n for n in batch["targets"] if n in module.tasks]
    starts = []
    for _ in range(warmup + steps + 1):
        starts.append(time.perf_counter())
        opt.zero_grad(set_to_none=True)
        outs = module(batch["image"], names)
        loss = cast(
            torch.Tensor, sum(module.task(n).loss_weight * module.task(n).loss(outs[n], batch)["loss"] for n in names)
        )
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    return steps * len(batch["image"]) / (starts[warmup + steps] - starts[warmup])


class RepeatBatch(Dataset):
    """A dataset of ``length`` references to one pre-built batch (use ``batch_size=None``)."""

    def __init__(self, batch: dict[str, Any], length: int) -> None:
        self.batch, self.length = batch, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.batch


class StepTimer(pl.Callback):
    """Records ``perf_counter`` at every ``on_train_batch_start`` (and torch's thread count)."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.threads = 0

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self.starts.append(time.perf_counter())
        self.threads = torch.get_num_threads()


def lightning_train_throughput(module: Any, batch: dict[str, Any], warmup: int, steps: int) -> tuple[float, int]:
    """Samples/s of ``pl.Trainer.fit`` on the same batch; returns ``(samples/s, threads)``.

    No logger, checkpointing, progress bar, model summary or validation; the batch comes
    from a :class:`RepeatBatch` loader in the main process (no workers).
    """
    timer = StepTimer()
    total = warmup + steps + 1
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=total,
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[timer],
    )
    loader = DataLoader(RepeatBatch(batch, total), batch_size=None, num_workers=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, train_dataloaders=loader)
    s = timer.starts
    return steps * len(batch["image"]) / (s[warmup + steps] - s[warmup]), timer.threads


def loader_throughput(loader: Iterable[dict[str, Any]], warmup_batches: int, batches: int) -> float:
    """Samples/s delivered by a DataLoader after ``warmup_batches`` (worker start-up)."""
    it = iter(loader)
    for _ in range(warmup_batches):
        next(it)
    n = 0
    t0 = time.perf_counter()
    for _ in range(batches):
        n += len(next(it)["image"])
    rate = n / (time.perf_counter() - t0)
    del it
    return rate


def inference_latency_ms(module: Any, input_hw: Sequence[int], runs: int, warmup: int = 5) -> list[float]:
    """Batch-1 ``module(image)`` latencies in ms (eval mode, no grad, no flip test)."""
    module.eval()
    image = torch.randint(0, 256, (1, 3, int(input_hw[0]), int(input_hw[1])), dtype=torch.uint8)
    with torch.inference_mode():
        times = time_calls(lambda: module(image), runs, warmup)
    return [1e3 * t for t in times]


# --- heatmap codec -------------------------------------------------------------------------------
def random_instances(n: int, k: int, input_size: Sequence[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(n, k, 2)`` keypoints (input px, ~5% outside the input) and ``(n, k)`` visibility (~10% 0)."""
    rng = np.random.default_rng(seed)
    w, h = input_size
    kpts = rng.uniform([-0.05 * w, -0.05 * h], [1.05 * w, 1.05 * h], size=(n, k, 2))
    vis = np.where(rng.random((n, k)) < 0.1, 0.0, 2.0)
    return kpts, vis


def encode_timing(codec: Any, keypoints: np.ndarray, visible: np.ndarray, repeats: int) -> dict[str, float]:
    """Per-instance seconds of ``codec.encode`` vs ``codec.encode_loop`` over ``n`` instances.

    Args:
        codec: a heatmap codec with ``encode`` and ``encode_loop``.
        keypoints: ``(n, K, 2)`` input px.
        visible: ``(n, K)``.
        repeats: timed passes over all ``n`` instances (median taken).

    Returns:
        ``vectorised_us``, ``loop_us`` (per instance), ``speedup`` and ``max_abs_diff``
        between the two outputs (they must agree).
    """
    n = len(keypoints)
    diff = max(
        float(np.abs(codec.encode(kp, v)["heatmaps"] - codec.encode_loop(kp, v)["heatmaps"]).max())
        for kp, v in zip(keypoints, visible)
    )
    vec = median(time_calls(lambda: [codec.encode(kp, v) for kp, v in zip(keypoints, visible)], repeats))
    loop = median(time_calls(lambda: [codec.encode_loop(kp, v) for kp, v in zip(keypoints, visible)], repeats))
    return {"vectorised_us": 1e6 * vec / n, "loop_us": 1e6 * loop / n, "speedup": loop / vec, "max_abs_diff": diff}


def random_centres(n: int, heatmap_size: Sequence[int], margin: float, seed: int = 0) -> np.ndarray:
    """``(n, 2)`` float ``x, y`` heatmap px, at least ``margin`` px from every border pixel."""
    rng = np.random.default_rng(seed)
    w, h = heatmap_size
    return rng.uniform([margin, margin], [w - 1 - margin, h - 1 - margin], size=(n, 2))


def gaussian_heatmaps(centres: np.ndarray, heatmap_size: Sequence[int], sigma: float) -> torch.Tensor:
    """Exact, untruncated Gaussians (peak 1 at the real-valued centre), ``(n, 1, h, w)`` float32."""
    w, h = heatmap_size
    c = np.asarray(centres, dtype=np.float64)
    gx = np.exp(-((np.arange(w)[None, :] - c[:, :1]) ** 2) / (2 * sigma**2))
    gy = np.exp(-((np.arange(h)[None, :] - c[:, 1:]) ** 2) / (2 * sigma**2))
    return torch.from_numpy((gy[:, :, None] * gx[:, None, :]).astype(np.float32))[:, None]


def decode_errors(
    centres: np.ndarray, heatmap_size: Sequence[int], sigma: float, refines: Sequence[str] = REFINES, stride: int = 4
) -> dict[str, dict[str, float]]:
    """Decode error of :class:`MSRAHeatmap` per refinement on exact Gaussians, heatmap px.

    Args:
        centres: ``(n, 2)`` true ``x, y`` heatmap px.
        heatmap_size: ``(w, h)``.
        sigma: Gaussian sigma (also the DARK smoothing sigma), heatmap px.
        refines: refinements to compare.
        stride: input px per heatmap px of the codec (the error is reported in heatmap px).

    Returns:
        ``{refine: {"mean", "median", "p95", "max"}}`` of the Euclidean error.
    """
    w, h = heatmap_size
    maps = gaussian_heatmaps(centres, heatmap_size, sigma)
    out = {}
    for refine in refines:
        codec = MSRAHeatmap((w * stride, h * stride), (w, h), sigma=sigma, refine=refine)
        kpts, _ = codec.decode(maps)
        err = np.linalg.norm(codec.to_heatmap_px(kpts[:, 0]) - centres, axis=1)
        out[refine] = {
            "mean": float(err.mean()),
            "median": float(np.median(err)),
            "p95": float(np.percentile(err, 95)),
            "max": float(err.max()),
        }
    return out


# --- time to accuracy ---------------------------------------------------------------------------
def time_to_accuracy(
    rows: Sequence[dict[str, float]], metric: str, thresholds: Sequence[float], mode: str = "max"
) -> list[dict[str, Any]]:
    """First validation row reaching each threshold: ``{threshold, minutes, step}`` (``None`` if never).

    ``mode="max"``: reaching means ``metric >= threshold`` (PCK, AP); ``"min"``: ``<=`` (NME, MAE).
    """
    if mode not in ("max", "min"):
        raise ValueError(f"time_to_accuracy: mode must be 'max' or 'min', got {mode!r}")
    out = []
    for thr in thresholds:
        hit = next(
            (
                r
                for r in rows
                if metric in r and (float(r[metric]) >= thr if mode == "max" else float(r[metric]) <= thr)
            ),
            None,
        )
        out.append(
            {
                "threshold": thr,
                "minutes": None if hit is None else float(hit["seconds"]) / 60.0,
                "step": None if hit is None else int(hit["step"]),
            }
        )
    return out


def curve_table(rows: Sequence[dict[str, float]], columns: Sequence[str]) -> str:
    """A markdown table of validation rows (step, minutes, then ``columns``); ``-`` where a value is missing."""
    lines = ["| step | minutes | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|"]
    for r in rows:
        cells = [f"{float(r[c]):.4g}" if c in r else "-" for c in columns]
        lines.append(f"| {int(r['step'])} | {float(r['seconds']) / 60:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pass_mark(ok: bool | None) -> str:
    """``PASS`` / ``MISS`` for a goal, ``—`` where there is none."""
    return "—" if ok is None else ("PASS" if ok else "MISS")


def markdown_table(header: list[str], rows: list[list]) -> list[str]:
    """Markdown table lines; floats get 3 significant digits (integers above 100), ``None`` is ``—``."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.0f}" if abs(v) >= 100 else (f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}")
        return "—" if v is None else str(v)

    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(fmt(v) for v in r) + " |" for r in rows
    ]
