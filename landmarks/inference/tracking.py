"""Multi-object tracking of per-frame instances by OKS or box IoU with the Hungarian method.

Tracking by detection in the manner of SORT (Bewley et al., ICIP 2016), with OKS as the
similarity of pose trackers (SimpleBaseline, Xiao et al., ECCV 2018): every frame, detections
are matched one-to-one to the live tracks by maximising the total similarity (Kuhn-Munkres, via
``scipy.optimize.linear_sum_assignment`` on ``1 - similarity``); a pair whose similarity is
below ``min_similarity`` is never matched. An unmatched detection starts a new track (ids
count up from 0 and are never reused); a track left unmatched for more than ``max_gap``
consecutive frames ends.

Motion model (the choice made here): a track is compared at its **constant-velocity
prediction** ``last + v * frames_since_seen``, where ``v`` is the per-frame displacement
(box and keypoints) between its last two matched frames; a track seen once has ``v = 0``, so
this is the last seen position. It keeps ids of crossing instances and bridges short gaps of
moving ones; ``constant_velocity=False`` matches at the last seen position instead.

Similarities: ``"oks"`` is :func:`landmarks.inference.oks_nms.oks` (scale = mean of the two
box areas); ``"iou"`` is the IoU of ``[x, y, w, h]`` boxes. To add one, add a branch to
:meth:`Tracker._similarity` returning a ``(N, M)`` matrix in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment

from landmarks.inference.oks_nms import oks

__all__ = ["DEFAULT_TRACK_SIGMA", "Track", "Tracker", "box_iou_matrix", "hungarian_match"]

DEFAULT_TRACK_SIGMA = 0.1
"""Uniform OKS sigma when none is given: generous, because the tracker compares a pose with
itself a frame later, not with a human label."""


@dataclass
class Track:
    """One identity.

    Attributes:
        track_id: the id, unique over the tracker's life.
        first_frame: frame index of the detection that started it.
        last_frame: frame index of its last matched detection.
        num_frames: how many frames it was matched in (its track-frames).
        box: ``(4,)`` last matched box ``[x, y, w, h]`` px.
        keypoints: ``(K, 2)`` last matched keypoints px, or ``None``.
        score: last matched detection score.
        velocity_box: ``(4,)`` per-frame box displacement (0 until seen twice).
        velocity_kpts: ``(K, 2)`` per-frame keypoint displacement, or ``None``.
        end_frame: the frame at which it ended (``None`` while active).
    """

    track_id: int
    first_frame: int
    last_frame: int
    box: np.ndarray
    keypoints: np.ndarray | None
    score: float
    num_frames: int = 1
    velocity_box: np.ndarray = field(default_factory=lambda: np.zeros(4))
    velocity_kpts: np.ndarray | None = None
    end_frame: int | None = None


def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` ``(N, 4)`` with every box in ``b`` ``(M, 4)``, both ``[x, y, w, h]`` -> ``(N, M)``."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, :2] + a[:, None, 2:], b[None, :, :2] + b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=-1)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def hungarian_match(similarity: np.ndarray, min_similarity: float) -> np.ndarray:
    """One-to-one matching of rows to columns maximising total similarity.

    Pairs below ``min_similarity`` are given a prohibitive cost before the assignment (so the
    solver prefers more admissible pairs) and are removed from the result.

    Args:
        similarity: ``(N, M)`` in [0, 1].
        min_similarity: the least similarity of a matched pair.

    Returns:
        ``(P, 2)`` int64 ``(row, column)`` pairs, rows increasing.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.ndim != 2:
        raise ValueError(f"similarity: expected a (N, M) matrix, got shape {sim.shape}")
    if sim.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    admissible = sim >= min_similarity
    cost = np.where(admissible, 1.0 - sim, 1e6)
    rows, cols = linear_sum_assignment(cost)
    ok = admissible[rows, cols]
    return np.stack([rows[ok], cols[ok]], axis=1).astype(np.int64)


class Tracker:
    """Frame-by-frame tracker; call :meth:`update` once per frame, in order.

    Args:
        similarity: ``"oks"`` (needs keypoints) or ``"iou"`` (boxes).
        min_similarity: least OKS / IoU for a detection to continue a track.
        max_gap: frames a track may go unmatched and still be continued; at ``max_gap + 1``
            consecutive missed frames it ends.
        sigmas: ``(K,)`` OKS sigmas (``"oks"``); ``None``: :data:`DEFAULT_TRACK_SIGMA` for all.
        constant_velocity: match at the constant-velocity prediction (see the module doc),
            else at the last seen position.
        min_start_score: an unmatched detection scoring below it starts no track (id -1).
    """

    def __init__(
        self,
        similarity: Literal["oks", "iou"] = "oks",
        min_similarity: float = 0.3,
        max_gap: int = 10,
        sigmas: np.ndarray | None = None,
        constant_velocity: bool = True,
        min_start_score: float = 0.0,
    ) -> None:
        if similarity not in ("oks", "iou"):
            raise ValueError(f"similarity: expected 'oks' or 'iou', got {similarity!r}")
        if max_gap < 0:
            raise ValueError(f"max_gap: expected >= 0 frames, got {max_gap}")
        self.similarity = similarity
        self.min_similarity = float(min_similarity)
        self.max_gap = int(max_gap)
        self.sigmas = None if sigmas is None else np.asarray(sigmas, dtype=np.float64).reshape(-1)
        self.constant_velocity = bool(constant_velocity)
        self.min_start_score = float(min_start_score)
        self.frame_index = -1
        self.active_tracks: list[Track] = []
        self.finished_tracks: list[Track] = []
        self.born: list[int] = []
        """Ids started by the last :meth:`update`."""
        self.ended: list[int] = []
        """Ids ended by the last :meth:`update` (or by :meth:`close`)."""
        self._next_id = 0

    def update(
        self, boxes: np.ndarray, keypoints: np.ndarray | None = None, scores: np.ndarray | None = None
    ) -> np.ndarray:
        """Advance one frame and assign ids to its detections.

        Args:
            boxes: ``(N, 4)`` ``[x, y, w, h]`` px (N may be 0).
            keypoints: ``(N, K, 2)`` px; required for ``similarity="oks"``.
            scores: ``(N,)``; ``None`` counts as 1.

        Returns:
            ``(N,)`` int64 track ids (-1 for a detection that neither matched nor started a track).
        """
        boxes_a = np.asarray(boxes, dtype=np.float64)
        if boxes_a.size == 0:
            boxes_a = boxes_a.reshape(0, 4)
        if boxes_a.ndim != 2 or boxes_a.shape[1] != 4:
            raise ValueError(f"boxes: expected shape (N, 4) [x, y, w, h], got {boxes_a.shape}")
        n = boxes_a.shape[0]
        kpts = self._check_keypoints(keypoints, n)
        score = np.ones(n) if scores is None else np.asarray(scores, dtype=np.float64).reshape(-1)
        if score.shape != (n,):
            raise ValueError(f"scores: expected shape ({n},) (N = len(boxes)), got {score.shape}")
        self.frame_index += 1
        self.born, self.ended = [], []
        ids = np.full(n, -1, dtype=np.int64)
        tracks = self.active_tracks
        pairs = hungarian_match(self._similarity(boxes_a, kpts, tracks), self.min_similarity)
        for det, t in pairs:
            self._continue(tracks[t], boxes_a[det], None if kpts is None else kpts[det], float(score[det]))
            ids[det] = tracks[t].track_id
        for det in np.flatnonzero(ids < 0):
            if score[det] >= self.min_start_score:
                ids[det] = self._start(boxes_a[det], None if kpts is None else kpts[det], float(score[det]))
        still: list[Track] = []
        for track in self.active_tracks:
            if self.frame_index - track.last_frame > self.max_gap:
                self._end(track)
            else:
                still.append(track)
        self.active_tracks = still
        return ids

    def close(self) -> list[Track]:
        """End every active track (end of the video); returns all tracks, by id."""
        self.ended = []
        for track in self.active_tracks:
            self._end(track)
        self.active_tracks = []
        return sorted(self.finished_tracks, key=lambda t: t.track_id)

    def _check_keypoints(self, keypoints: np.ndarray | None, n: int) -> np.ndarray | None:
        if keypoints is None:
            if self.similarity == "oks" and n > 0:
                raise ValueError("keypoints: similarity='oks' needs (N, K, 2) keypoints, got None")
            return None
        kpts = np.asarray(keypoints, dtype=np.float64)
        if n == 0 and kpts.size == 0:
            return None
        if kpts.ndim != 3 or kpts.shape[0] != n or kpts.shape[2] != 2:
            raise ValueError(f"keypoints: expected shape ({n}, K, 2) (N = len(boxes)), got {kpts.shape}")
        if self.sigmas is not None and self.sigmas.shape[0] != kpts.shape[1]:
            raise ValueError(f"keypoints: expected K = len(sigmas) = {self.sigmas.shape[0]}, got {kpts.shape[1]}")
        return kpts

    def _predict(self, track: Track) -> tuple[np.ndarray, np.ndarray | None]:
        steps = self.frame_index - track.last_frame if self.constant_velocity else 0
        box = track.box + steps * track.velocity_box
        box[2:] = np.maximum(box[2:], 1.0)  # an extrapolated shrinking box keeps a positive size
        if track.keypoints is None:
            return box, None
        vk = track.velocity_kpts if track.velocity_kpts is not None else 0.0
        return box, track.keypoints + steps * vk

    def _similarity(self, boxes: np.ndarray, kpts: np.ndarray | None, tracks: list[Track]) -> np.ndarray:
        sim = np.zeros((boxes.shape[0], len(tracks)))
        if sim.size == 0:
            return sim
        predicted = [self._predict(t) for t in tracks]
        if self.similarity == "iou":
            return box_iou_matrix(boxes, np.stack([p[0] for p in predicted]))
        assert kpts is not None  # checked in update
        sigmas = self.sigmas if self.sigmas is not None else np.full(kpts.shape[1], DEFAULT_TRACK_SIGMA)
        areas = boxes[:, 2] * boxes[:, 3]
        for j, (box, tk) in enumerate(predicted):
            if tk is not None and tk.shape == kpts.shape[1:]:
                sim[:, j] = oks(tk, kpts, float(box[2] * box[3]), areas, sigmas)
        return sim

    def _continue(self, track: Track, box: np.ndarray, kpts: np.ndarray | None, score: float) -> None:
        steps = self.frame_index - track.last_frame
        track.velocity_box = (box - track.box) / steps
        if kpts is not None and track.keypoints is not None and kpts.shape == track.keypoints.shape:
            track.velocity_kpts = (kpts - track.keypoints) / steps
        track.box, track.keypoints, track.score = box.copy(), None if kpts is None else kpts.copy(), score
        track.last_frame = self.frame_index
        track.num_frames += 1

    def _start(self, box: np.ndarray, kpts: np.ndarray | None, score: float) -> int:
        track = Track(
            self._next_id, self.frame_index, self.frame_index, box.copy(), None if kpts is None else kpts.copy(), score
        )
        track.velocity_kpts = None if kpts is None else np.zeros_like(kpts)
        self._next_id += 1
        self.active_tracks.append(track)
        self.born.append(track.track_id)
        return track.track_id

    def _end(self, track: Track) -> None:
        track.end_frame = self.frame_index
        self.finished_tracks.append(track)
        self.ended.append(track.track_id)
