"""Predictor: a trained model (or a checkpoint file) -> one :class:`Prediction` per task for the boxes of an image.

``landmarks.run.load_predictor(path)`` rebuilds the model from the file alone (weights + resolved
config, loaded with ``weights_only=True``). :meth:`Predictor.predict` crops each box as in
validation, runs the model (flip test as configured) on ``device`` and turns each head's output
into a :class:`Prediction` with the task's own :meth:`~landmarks.task.Task.predict`: the same
output path as validation, the training panel and evaluate. How a prediction is written and
drawn is the task's too (``to_json`` / ``draw``; :mod:`landmarks.inference.results`); the whole
loop over images, folders, globs and videos is :func:`landmarks.inference.loop.run_inference`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import torch
from torch.utils.data import default_collate

from landmarks.data.transforms import TopDownTransform
from landmarks.module import LandmarkModule
from landmarks.task import Task
from landmarks.types import Prediction, Sample

__all__ = ["DEVICES", "Predictor", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto`` (CUDA when available, else the CPU), ``cpu``, ``cuda`` or ``cuda:N`` as a :class:`torch.device`.

    Raises:
        ValueError: another value, or ``cuda`` without a CUDA device.
    """
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not (name == "cuda" or name.startswith("cuda:")):
        raise ValueError(f"device: expected one of {', '.join(DEVICES)} (or cuda:N), got {name!r}")
    if name != "cpu" and not torch.cuda.is_available():
        raise ValueError(
            f"device={name}: no CUDA device is available here (torch.cuda.is_available() is False); "
            "use device=auto or device=cpu"
        )
    return torch.device(name)


class Predictor:
    """Run a trained :class:`LandmarkModule` on the boxes of whole images.

    Args:
        model: the trained model (put in eval mode and moved to ``device``).
        batch_size: crops per forward pass.
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` (:func:`resolve_device`).
    """

    def __init__(self, model: LandmarkModule, batch_size: int = 32, device: str | torch.device = "auto") -> None:
        self.device = resolve_device(device)
        self.model = model.eval().to(self.device)
        self.batch_size = batch_size
        codecs = [t.codec for t in self.tasks.values()]
        self.input_size = tuple(codecs[0].input_size)
        udp = any(getattr(c, "udp", False) for c in codecs)
        self.transform = TopDownTransform(self.input_size, train=False, udp=udp)

    @property
    def tasks(self) -> Mapping[str, Task]:
        """The model's tasks by name (``model.tasks``, typed)."""
        return cast(Mapping[str, Task], self.model.tasks)

    @property
    def box_category(self) -> str | None:
        """What a box holds for every task of the model (:attr:`landmarks.task.Task.box_category`, e.g.
        ``"face"``); ``None`` when the tasks do not say or differ. Decides which detector may supply boxes."""
        categories = {t.box_category for t in self.tasks.values()}
        return categories.pop() if len(categories) == 1 else None

    @torch.no_grad()
    def predict(
        self, image: np.ndarray, boxes: np.ndarray | None = None, return_heatmaps: bool = False
    ) -> dict[str, Prediction]:
        """Predict every task for each box of one image.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
            boxes: ``(N, 4)`` xywh image px; ``None`` or empty uses the whole image as one box.
            return_heatmaps: keep raw head outputs in ``Prediction.extras["heatmaps"]`` (numpy, CPU).

        Returns:
            ``{task: Prediction}`` (:meth:`landmarks.task.Task.predict`) with ``N`` instances:
            ``keypoints (N, K, 2)`` image px, ``scores (N, K)``, task extras (e.g. ``euler (N, 3)``).
        """
        h, w = image.shape[:2]
        whole = boxes is None or len(boxes) == 0
        boxes = np.array([[0, 0, w, h]], np.float32) if whole else np.asarray(boxes, np.float32)
        items = [self._item(image, box) for box in boxes]
        results: dict[str, list[Prediction]] = {}
        for start in range(0, len(items), self.batch_size):
            batch = default_collate(items[start : start + self.batch_size])
            outs = self.model.predict_outputs(batch["image"].to(self.device))
            for name, out in outs.items():
                pred = self.tasks[name].predict(out, batch)
                if return_heatmaps:
                    pred.extras["heatmaps"] = out.float().cpu().numpy()
                results.setdefault(name, []).append(pred)
        return {name: _concat(preds) for name, preds in results.items()}

    def _item(self, image: np.ndarray, box: np.ndarray) -> dict[str, Any]:
        sample: Sample = {
            "image": image,
            "bbox": box,
            "keypoints": np.zeros((1, 2), np.float32),
            "visible": np.zeros(1, np.float32),
        }
        crop = self.transform(sample, np.random.default_rng(0))
        return {
            "image": torch.from_numpy(np.ascontiguousarray(crop["image"])).permute(2, 0, 1),
            "meta": {"center": crop["center"], "scale": crop["scale"], "rot": crop["rot"]},
        }


def _concat(preds: Sequence[Prediction]) -> Prediction:
    extras = {k: np.concatenate([p.extras[k] for p in preds]) for k in preds[0].extras}
    return Prediction(np.concatenate([p.keypoints for p in preds]), np.concatenate([p.scores for p in preds]), extras)
