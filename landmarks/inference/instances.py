"""What happens to one frame's predicted instances before they are written: the COCO top-down
protocol (rescoring, OKS-NMS) and, for videos, tracking and smoothing.

* **Duplicates** (:class:`DuplicateFilter`): several boxes of one person give several skeletons.
  As in the COCO top-down protocol (SimpleBaseline / HRNet evaluation), each instance is rescored
  (box score x mean of its confident keypoint scores, :func:`~landmarks.inference.oks_nms.rescore`)
  and OKS-NMS (greedy, or soft with Gaussian decay) keeps one pose per person; OKS uses the
  layout's sigmas (layouts without sigmas are not filtered) and the box area.
* **Tracks** (:class:`FrameTracker`): the instances of consecutive frames are matched by the
  Hungarian method on the IoU of their boxes (or on OKS,
  :class:`~landmarks.inference.tracking.Tracker`); each instance gets a track id; keypoints are
  smoothed per track with a constant-velocity Kalman filter (or the One-Euro filter) and head-pose
  angles on rotations
  (:mod:`landmarks.inference.smoothing`), never per Euler angle.

Both work on ``{task: Prediction}`` of one frame's boxes; nothing here names a task: the keypoint
task used for matching is the first one whose prediction has keypoints and whose layout has sigmas.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from landmarks.inference.offline import savgol_entries
from landmarks.inference.oks_nms import oks_nms, rescore, soft_oks_nms
from landmarks.inference.smoothing import ONLINE_FILTERS, KeypointSmoother, RotationSmoother
from landmarks.inference.tracking import Tracker
from landmarks.types import Prediction

__all__ = ["DuplicateFilter", "FrameTracker", "SmoothingOptions", "select"]

log = logging.getLogger("landmarks")

NMS_KINDS = ("oks", "soft_oks", "none")


def select(preds: Mapping[str, Prediction], keep: np.ndarray) -> dict[str, Prediction]:
    """The instances ``keep`` (indices) of every task's prediction (extras with an instance axis too)."""
    n = next((len(p.scores) for p in preds.values()), 0)
    out = {}
    for name, p in preds.items():
        extras = {k: (v[keep] if isinstance(v, np.ndarray) and len(v) == n else v) for k, v in p.extras.items()}
        out[name] = Prediction(p.keypoints[keep], p.scores[keep], extras)
    return out


def _keypoint_task(tasks: Mapping[str, Any], preds: Mapping[str, Prediction]) -> tuple[str | None, np.ndarray | None]:
    """The first task with keypoints in ``preds`` and its layout's sigmas (``None`` when it has none)."""
    for name, p in preds.items():
        if p.keypoints.shape[1] > 0:
            sigmas = getattr(getattr(tasks[name], "spec", None), "sigmas", None)
            return name, (np.asarray(sigmas, np.float64) if sigmas else None)
    return None, None


class DuplicateFilter:
    """Rescoring + OKS-NMS of one frame's instances (module docstring).

    Args:
        tasks: the model's tasks (their layouts give the OKS sigmas).
        kind: ``"oks"`` (greedy), ``"soft_oks"`` (Gaussian decay) or ``"none"``.
        thr: OKS above which a lower-scoring pose is dropped (greedy) / where soft decay is cut.
        kpt_thr: keypoint scores above this count in the rescoring.
    """

    def __init__(self, tasks: Mapping[str, Any], kind: str = "oks", thr: float = 0.9, kpt_thr: float = 0.2) -> None:
        if kind not in NMS_KINDS:
            raise ValueError(f"nms: expected one of {', '.join(NMS_KINDS)}, got {kind!r}")
        self.tasks, self.kind, self.thr, self.kpt_thr = tasks, kind, float(thr), float(kpt_thr)
        self.dropped = 0

    def __call__(
        self, preds: Mapping[str, Prediction], boxes: np.ndarray, box_scores: np.ndarray
    ) -> tuple[dict[str, Prediction], np.ndarray, np.ndarray]:
        """``(preds, boxes, box_scores)`` of the instances kept (input order)."""
        name, sigmas = _keypoint_task(self.tasks, preds)
        if self.kind == "none" or name is None or sigmas is None or len(boxes) < 2:
            return dict(preds), boxes, box_scores
        p = preds[name]
        scores = rescore(box_scores, p.scores, self.kpt_thr)
        areas = np.asarray(boxes, np.float64)[:, 2] * np.asarray(boxes, np.float64)[:, 3]
        if self.kind == "oks":
            keep = np.sort(oks_nms(p.keypoints, scores, areas, sigmas, thr=self.thr))
        else:
            keep, _ = soft_oks_nms(p.keypoints, scores, areas, sigmas, thr=self.thr, score_thr=1e-3)
            keep = np.sort(keep)
        self.dropped += len(boxes) - len(keep)
        return select(preds, keep), boxes[keep], box_scores[keep]


ONE_EURO_KEYS = ("min_cutoff", "beta", "d_cutoff")
KALMAN_KEYS = ("measurement_noise", "acceleration_noise")
ROTATION_DEFAULTS: dict[str, Any] = {
    "kind": "one_euro",
    "min_cutoff": 2.0,
    "beta": 0.01,
    "d_cutoff": 1.0,
    "measurement_noise": 4.0,
    "acceleration_noise": 3000.0,
}
"""Head-pose rotations (:class:`~landmarks.inference.smoothing.RotationSmoother`), parameters in degrees.
One-Euro 2 Hz / 0.01 s per degree: tuned on a head-pose model's clips (seeds 2000-2003, docs/benchmarks.md), where
the Kalman filter on rotations traded jitter for error worse than One-Euro at every setting (its values here
are the best of that grid: 4 degrees, 3000 deg / s^2)."""


def _keys(kind: str) -> tuple[str, ...]:
    """The parameter names of an online filter kind."""
    return ONE_EURO_KEYS if kind == "one_euro" else KALMAN_KEYS


@dataclass
class SmoothingOptions:
    """Online smoothing of tracked keypoints: ``kind`` ``"kalman"`` (the default: a constant-velocity
    Kalman filter, ``measurement_noise`` and ``acceleration_noise`` in box sizes and box sizes / s^2;
    :class:`~landmarks.inference.kalman.ConstantVelocityKalman`) or ``"one_euro"`` (Casiez et al. 2012:
    ``min_cutoff`` Hz, lower: smoother when still; ``beta``, higher: less lag when moving). On the
    synthetic clips the Kalman filter with these defaults cut jitter by 53-56 % at <= 1.8 % PCK for
    body, hand and face, where One-Euro's defaults cut 43-49 % (docs/benchmarks.md). Head-pose
    rotations have their own filter, ``rotation`` (``kind`` and parameters in degrees; One-Euro at 2 Hz by
    default, :data:`ROTATION_DEFAULTS`). ``enabled=False`` tracks without smoothing.

    ``per_task`` overrides the kind and parameters for the tasks it names (``{"hand": {"kind": "one_euro"}}``).
    ``offline="savgol"`` (a finished file, not a camera) replaces the online filter: each track is
    smoothed when the run ends (:mod:`landmarks.inference.offline`; ``savgol_window`` frames, polynomial
    ``savgol_order``; the clip evaluation's ``savgol`` variant uses the same two).
    """

    enabled: bool = True
    kind: str = "kalman"
    min_cutoff: float = 1.0
    beta: float = 0.05
    d_cutoff: float = 1.0
    measurement_noise: float = 0.02
    acceleration_noise: float = 4.0
    per_task: dict[str, dict[str, Any]] = field(default_factory=dict)
    rotation: dict[str, Any] = field(default_factory=dict)
    offline: str = "none"
    savgol_window: int = 9
    savgol_order: int = 2

    def __post_init__(self) -> None:
        if self.offline not in ("none", "savgol"):
            raise ValueError(f"smoothing.offline: expected 'none' or 'savgol', got {self.offline!r}")
        if self.savgol_window % 2 != 1 or self.savgol_window <= self.savgol_order:
            raise ValueError(
                f"smoothing.savgol_window: expected an odd length > savgol_order ({self.savgol_order}), "
                f"got {self.savgol_window}"
            )
        unknown = sorted(set(self.rotation) - set(ROTATION_DEFAULTS))
        if unknown:
            raise ValueError(
                f"smoothing.rotation: unknown parameter(s) {unknown}; expected some of {list(ROTATION_DEFAULTS)}"
            )
        for where, kind in [("smoothing.kind", self.kind), ("smoothing.rotation.kind", self.rotation_kind)] + [
            (f"smoothing.per_task.{task}.kind", params["kind"])
            for task, params in self.per_task.items()
            if "kind" in params
        ]:
            if kind not in ONLINE_FILTERS:
                raise ValueError(f"{where}: expected one of {sorted(ONLINE_FILTERS)}, got {kind!r}")
        for task, params in self.per_task.items():
            unknown = sorted(set(params) - {"kind", *ONE_EURO_KEYS, *KALMAN_KEYS})
            if unknown:
                raise ValueError(
                    f"smoothing.per_task.{task}: unknown parameter(s) {unknown}; expected some of "
                    f"{['kind', *ONE_EURO_KEYS, *KALMAN_KEYS]}"
                )

    def kind_of(self, task: str) -> str:
        """``task``'s online filter: its ``per_task`` kind, else ``kind``."""
        return str(self.per_task.get(task, {}).get("kind", self.kind))

    @property
    def rotation_kind(self) -> str:
        """The head-pose rotations' filter (``rotation.kind``, default :data:`ROTATION_DEFAULTS`)."""
        return str(self.rotation.get("kind", ROTATION_DEFAULTS["kind"]))

    def rotation_filter(self) -> dict[str, Any]:
        """``{kind, **parameters}`` (degrees) of the rotation filter: ``rotation`` over :data:`ROTATION_DEFAULTS`."""
        kind = self.rotation_kind
        return {"kind": kind, **{k: float(self.rotation.get(k, ROTATION_DEFAULTS[k])) for k in _keys(kind)}}

    def online(self, task: str) -> dict[str, Any]:
        """``{kind, **parameters}`` of ``task``'s keypoint filter (:class:`~landmarks.inference.smoothing.KeypointSmoother`)."""
        kind, own = self.kind_of(task), self.per_task.get(task, {})
        return {"kind": kind, **{k: float(own[k] if k in own else getattr(self, k)) for k in _keys(kind)}}


class FrameTracker:
    """Track ids for each frame's instances, and their smoothed keypoints / angles.

    Args:
        tasks: the model's tasks.
        fps: frames per second of the source (the filters' sampling rate).
        smoothing: :class:`SmoothingOptions`.
        min_similarity: OKS (or IoU) below which an instance starts a new track.
        max_gap: frames a track may go unseen and keep its id.
        similarity: ``"iou"`` (boxes; the default: on synthetic clips it switched identities 0.19
            times per 100 track-frames against 1.49 for OKS with a 600-step body model, whose poses
            are noisier than its boxes) or ``"oks"`` (poses; models without keypoints use IoU).
    """

    def __init__(
        self,
        tasks: Mapping[str, Any],
        fps: float,
        smoothing: SmoothingOptions | None = None,
        min_similarity: float = 0.3,
        max_gap: int = 10,
        similarity: str = "iou",
    ) -> None:
        if similarity not in ("iou", "oks"):
            raise ValueError(f"track_similarity: expected 'iou' or 'oks', got {similarity!r}")
        self.similarity = similarity
        self.tasks, self.fps = tasks, float(fps)
        self.smoothing = smoothing or SmoothingOptions()
        self.min_similarity, self.max_gap = float(min_similarity), int(max_gap)
        self._tracker: Tracker | None = None
        self._keypoints: dict[str, KeypointSmoother] = {}
        self._angles: dict[tuple[str, int], RotationSmoother] = {}
        self.frames = 0

    def __call__(self, preds: Mapping[str, Prediction], boxes: np.ndarray) -> tuple[dict[str, Prediction], np.ndarray]:
        """``(smoothed preds, track ids (N,))`` of one frame's instances (every frame, in order)."""
        name, sigmas = _keypoint_task(self.tasks, preds)
        if self._tracker is None:
            kind = "oks" if name is not None and self.similarity == "oks" else "iou"
            self._tracker = Tracker(kind, self.min_similarity, self.max_gap, sigmas=sigmas)
        kpts = preds[name].keypoints if name is not None else None
        scores = next((p.scores.mean(axis=1) for p in preds.values() if p.scores.shape[1]), None)
        ids = self._tracker.update(np.asarray(boxes, np.float64), kpts, scores)
        self.frames += 1
        if not self.smoothing.enabled or self.smoothing.offline != "none":
            return dict(preds), ids
        b = np.asarray(boxes, np.float64).reshape(-1, 4)
        scales = np.sqrt(np.clip(b[:, 2] * b[:, 3], 1.0, None))  # the Kalman noises are relative to the box size
        out = {}
        for task, p in preds.items():
            extras = dict(p.extras)
            keypoints = p.keypoints
            if p.keypoints.shape[1]:
                if task not in self._keypoints:
                    self._keypoints[task] = KeypointSmoother(**self.smoothing.online(task), rate=self.fps)
                smoother = self._keypoints[task]
                keypoints = smoother(ids, p.keypoints.astype(np.float64), scales=scales).astype(np.float32)
                smoother.forget(self._tracker.ended)
            if "euler" in extras:
                extras["euler"] = self._smooth_angles(task, ids, np.asarray(extras["euler"], np.float64))
            out[task] = Prediction(keypoints, p.scores, extras)
        return out, ids

    def _smooth_angles(self, task: str, ids: np.ndarray, euler: np.ndarray) -> np.ndarray:
        assert self._tracker is not None
        for ended in self._tracker.ended:
            self._angles.pop((task, int(ended)), None)
        smoothed = euler.copy()
        for i, tid in enumerate(ids):
            if tid < 0:
                continue
            key = (task, int(tid))
            if key not in self._angles:
                self._angles[key] = RotationSmoother(**self.smoothing.rotation_filter(), rate=self.fps)
            smoother = self._angles[key]
            y, p, r = smoother(euler[i, 0], euler[i, 1], euler[i, 2])
            smoothed[i] = [float(y), float(p), float(r)]
        return smoothed.astype(np.float32)

    def finish(self, entries: list[dict[str, Any]], frame_numbers: list[int]) -> list[dict[str, Any]]:
        """The run's entries as written, or with ``smoothing.offline="savgol"`` smoothed along each track."""
        if not self.smoothing.enabled or self.smoothing.offline == "none":
            return entries
        log.info(
            "infer: keypoints and angles of %d tracks smoothed offline (Savitzky-Golay, window %d, order %d); "
            "the overlay shows them as predicted",
            self.tracks,
            self.smoothing.savgol_window,
            self.smoothing.savgol_order,
        )
        return savgol_entries(entries, frame_numbers, self.smoothing.savgol_window, self.smoothing.savgol_order)

    @property
    def tracks(self) -> int:
        """Tracks born so far."""
        if self._tracker is None:
            return 0
        return len(self._tracker.active_tracks) + len(self._tracker.finished_tracks)
