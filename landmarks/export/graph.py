"""The exported graph: pixels of the crop in, decoded keypoints / angles out.

Input ``image``: ``(N, 3, H, W)`` float32, **RGB**, values 0..255 (the crop made by
:mod:`landmarks.data.crop`); the backbone's mean/std normalisation is inside the graph. Outputs,
per task ``t`` of the model (names ``t.keypoints`` etc., listed in the sidecar):

* keypoint tasks: ``t.keypoints`` ``(N, K, 2)`` float32 input (crop) px, ``t.scores`` ``(N, K)``;
* head-pose tasks: ``t.euler`` ``(N, 3)`` yaw, pitch, roll degrees in the crop's frame,
  ``t.rotation`` ``(N, 3, 3)`` (:func:`landmarks.geometry.euler_to_matrix` convention);
* visibility tasks: ``t.visibility`` ``(N, K)`` probabilities that each keypoint is visible.

Flip test: off by default (``flip_test=false``: one backbone pass, the fast deployable graph);
``flip_test=true`` puts the model's own flip test in the graph (a second backbone pass on the
mirrored crop, each task's ``flip_back`` and ``merge_flip``), so the graph then matches the
PyTorch prediction with the flip test on.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from landmarks.export.decoders import KIND_FIELDS, decoder_for
from landmarks.module import LandmarkModule

__all__ = ["ExportGraph"]


class ExportGraph(nn.Module):
    """A :class:`LandmarkModule` with every task's decoding appended.

    Args:
        model: the trained model (put in eval mode; its ``flip_test`` is replaced by ``flip_test``).
        flip_test: put the flip test inside the graph.

    Attributes:
        kinds: ``{task: "keypoints" | "head_pose" | "visibility"}``.
        output_names: graph output names, in the order :meth:`forward` returns them.
    """

    def __init__(self, model: LandmarkModule, flip_test: bool = False) -> None:
        super().__init__()
        self.model = model.eval()
        self.model.flip_test = bool(flip_test)
        self.model.channels_last = False  # the memory layout is the runtime's business
        w, h = self.input_size
        with torch.no_grad():
            sample = self.model(torch.zeros(1, 3, h, w))
        self.kinds: dict[str, str] = {}
        self.decoders = nn.ModuleDict()
        for name, task in self.model.tasks.items():
            self.kinds[name], self.decoders[name] = decoder_for(task, sample[name])
        self.output_names: list[str] = []
        for name, kind in self.kinds.items():
            self.output_names += [f"{name}.{f}" for f in KIND_FIELDS[kind]]
        self.eval()  # torch.onnx.export restores the wrapper's mode afterwards: a training wrapper would
        # leave BatchNorm of the caller's model in training mode

    @property
    def input_size(self) -> tuple[int, int]:
        """``(W, H)`` of the network input (the first task's codec; all tasks share it)."""
        codec = self.model.task_items()[0][1].codec
        return int(codec.input_size[0]), int(codec.input_size[1])

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(N, 3, H, W)`` RGB 0..255 -> the outputs named by :attr:`output_names`."""
        outs: dict[str, Any] = self.model.predict_outputs(image)
        result: list[torch.Tensor] = []
        for name in self.kinds:
            result.extend(self.decoders[name](outs[name]))
        return tuple(result)
