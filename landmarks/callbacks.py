"""Lightning callbacks users expect: a panel of prediction overlays and training curves.

* :class:`PredictionPanel` draws the first validation crops with every task's prediction
  (``Task.predict`` then ``Task.draw``: the output the metrics measure), saves a PNG per
  validation and logs it to wandb.
* :class:`TrainingCurves` records the training loss and the monitored metric against
  steps and wall-clock seconds, writes ``training_curves.png`` and a JSON time-to-accuracy log.

The random states a resumed run needs live in :mod:`landmarks.resume` (``RngState``).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn

from landmarks import viz
from landmarks.types import Prediction


class PredictionPanel(pl.Callback):
    """Overlay predictions on the first ``num_images`` validation crops.

    Args:
        out_dir: folder for ``step_XXXXXX.png`` panels.
        num_images: images in the panel.
        kpt_thr: keypoints below this score are not drawn.
    """

    def __init__(self, out_dir: str, num_images: int = 8, kpt_thr: float = 0.2) -> None:
        self.out_dir = out_dir
        self.num_images = num_images
        self.kpt_thr = kpt_thr

    def on_validation_batch_end(
        self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if batch_idx != 0 or not trainer.is_global_zero or trainer.sanity_checking:
            return
        source = batch if "image" in batch else next(iter(batch.values()))
        n = min(self.num_images, len(source["image"]))
        sub = {"image": source["image"][:n], "meta": {k: v[:n] for k, v in source["meta"].items()}}
        with torch.no_grad():  # the tasks' one output path: what the metrics measure is what is drawn
            preds = pl_module.predict_batch(sub)
        crops = [np.ascontiguousarray(im.permute(1, 2, 0).cpu().numpy()) for im in sub["image"]]
        h, w = crops[0].shape[:2]
        for name, pred in preds.items():
            task = pl_module.tasks[name]
            shown = _in_crop(pred, sub["meta"], (w, h), bool(getattr(task.codec, "udp", False)))
            crops = [task.draw(c, shown, i, box=(0, 0, w, h), kpt_thr=self.kpt_thr) for i, c in enumerate(crops)]
        panel = viz.image_grid(crops, cols=min(4, len(crops)))
        os.makedirs(self.out_dir, exist_ok=True)
        path = os.path.join(self.out_dir, f"step_{trainer.global_step:06d}.png")
        viz.save_image(path, panel)
        for logger in trainer.loggers:
            log_image = getattr(logger, "log_image", None)  # only some loggers (W&B) draw images
            if callable(log_image):
                log_image(key="val/predictions", images=[panel], step=trainer.global_step)


def _in_crop(pred: Prediction, meta: dict[str, Any], size: tuple[int, int], udp: bool) -> Prediction:
    """``pred`` (original-image px) moved into the network-input crop of its sample (the crop's affine);
    boxes of a detection task (``extras["boxes"]``, ``(B, N, 4)`` xywh) by their corners (``rot`` 0)."""
    from landmarks.data.crop import batch_affines

    boxes = pred.extras.get("boxes")
    if pred.keypoints.shape[1] == 0 and boxes is None:
        return pred
    centers, scales, rots = (
        v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        for v in (meta["center"], meta["scale"], meta["rot"])
    )
    affine = batch_affines(centers, scales, rots, size, udp=udp)  # (B, 2, 3) image px -> input px

    def move(p: np.ndarray) -> np.ndarray:
        return np.einsum("bkj,bij->bki", p.astype(np.float64), affine[:, :, :2]) + affine[:, None, :, 2]

    extras = dict(pred.extras)
    if boxes is not None:
        b = np.asarray(boxes, np.float64)
        p0, p1 = move(b[..., :2]), move(b[..., :2] + b[..., 2:])
        extras["boxes"] = np.concatenate([p0, p1 - p0], axis=-1).astype(np.float32)
    return Prediction(move(pred.keypoints).astype(np.float32), pred.scores, extras)


_BREAKDOWNS = {"ap50", "ap75", "apm", "apl", "ar50", "ar75", "arm", "arl"}


class TrainingCurves(pl.Callback):
    """Training loss and validation metrics vs step and time; PNG + JSON next to ``out_path``.

    Args:
        out_path: PNG path; the JSON log is written beside it (``.json``).
    """

    def __init__(self, out_path: str) -> None:
        self.out_path = out_path
        self.start = 0.0
        self.elapsed_before = 0.0
        self.loss: list[tuple[int, float]] = []
        self.val: list[dict[str, float]] = []

    def on_train_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        # Trainer sets log_every_n_steps at run time (logger connector); its class does not declare it
        every = trainer.log_every_n_steps  # pyright: ignore[reportAttributeAccessIssue]
        if trainer.global_step % max(every, 1) == 0:
            loss = outputs["loss"] if isinstance(outputs, dict) else outputs
            self.loss.append((trainer.global_step, float(loss)))

    def on_validation_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if (
            trainer.sanity_checking
            or not trainer.is_global_zero
            or not self.start
            or trainer.state.fn != TrainerFn.FITTING
        ):
            return
        row = {"step": trainer.global_step, "seconds": self.elapsed_before + time.perf_counter() - self.start}
        row.update({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")})
        self.val.append(row)
        self._write()

    def state_dict(self) -> dict[str, Any]:
        elapsed = self.elapsed_before + (time.perf_counter() - self.start if self.start else 0.0)
        return {"loss": self.loss, "val": self.val, "elapsed": elapsed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.loss = [tuple(x) for x in state.get("loss", [])]
        self.val = list(state.get("val", []))
        self.elapsed_before = float(state.get("elapsed", 0.0))

    def _write(self) -> None:
        series: dict[str, tuple[list[float], list[float]]] = {}
        if self.loss:
            steps, losses = zip(*self.loss)
            top = max(losses) or 1.0
            series["train loss (scaled to 1)"] = (list(steps), [v / top for v in losses])
        # Rates in [0, 1] on one axis (PCK, PDJ, AP, AR, AUC, FR); the COCO size/IoU
        # breakdowns stay in the JSON. Pixel or degree errors would flatten the rates.
        names = {k for r in self.val for k in r if k.startswith("val/") and not k.endswith("loss")}
        metric_names = sorted(
            k
            for k in names
            if k.split("/")[-1] not in _BREAKDOWNS and all(0.0 <= r[k] <= 1.0 for r in self.val if k in r)
        )
        for k in metric_names:
            pts = [(r["step"], r[k]) for r in self.val if k in r]
            series[k] = ([p[0] for p in pts], [p[1] for p in pts])
        if not series:
            return
        viz.plot_curves(series, self.out_path, xlabel="step", ylabel="rate (0-1)", title="training")
        with open(os.path.splitext(self.out_path)[0] + ".json", "w") as f:
            json.dump({"validation": self.val}, f, indent=1)
