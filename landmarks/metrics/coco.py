"""COCO keypoint AP/AR through pycocotools, with top-down rescoring and OKS-NMS.

The numbers come from the COCO API itself (``pycocotools.cocoeval.COCOeval`` with
``iouType='keypoints'``, Lin et al., ECCV 2014); nothing of COCOeval is re-implemented.
Before evaluation, top-down predictions are post-processed as SimpleBaseline / HRNet /
mmpose do on COCO: the instance score becomes ``box score x mean keypoint score`` (over
keypoints scoring above ``score_thr``) and duplicate poses are removed per image by
OKS-NMS (:func:`landmarks.metrics.oks.oks_nms`).

A sibling evaluator for another COCO-style benchmark (e.g. CrowdPose through xtcocotools)
would keep this shape: ground truth as a dict, predictions as arrays, ``compute()`` through
the reference tool.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from landmarks.metrics.oks import oks_nms

STAT_NAMES = ("ap", "ap50", "ap75", "apm", "apl", "ar", "ar50", "ar75", "arm", "arl")
"""Keys of :meth:`CocoKeypointEvaluator.compute`, in ``COCOeval.stats`` order."""

_GT_FIELDS = ("id", "image_id", "category_id", "keypoints", "num_keypoints", "area", "bbox")


def rescore(keypoint_scores: np.ndarray, box_scores: np.ndarray, score_thr: float = 0.2) -> np.ndarray:
    """Top-down instance score: box score times the mean of keypoint scores above ``score_thr``.

    Args:
        keypoint_scores: ``(N, K)`` per-keypoint confidences.
        box_scores: ``(N,)`` detector box scores (1.0 for ground-truth boxes).
        score_thr: keypoints scoring at most this are left out of the mean.

    Returns:
        ``(N,)`` instance scores; 0 where no keypoint is above ``score_thr``.
    """
    kpt = np.asarray(keypoint_scores, dtype=np.float64)
    box = np.asarray(box_scores, dtype=np.float64).reshape(-1)
    if kpt.ndim != 2 or kpt.shape[0] != box.shape[0]:
        raise ValueError(f"keypoint_scores {kpt.shape} must be (N, K) with N = len(box_scores) = {box.shape[0]}")
    above = kpt > score_thr
    n_above = above.sum(axis=1)
    mean = np.where(n_above > 0, (kpt * above).sum(axis=1) / np.maximum(n_above, 1), 0.0)
    return box * mean


def to_results(
    image_ids: np.ndarray,
    keypoints: np.ndarray,
    keypoint_scores: np.ndarray,
    scores: np.ndarray,
    category_id: int = 1,
) -> list[dict[str, Any]]:
    """Predictions as COCO keypoint results entries (the JSON that COCO ``loadRes`` reads).

    Args:
        image_ids: ``(N,)`` COCO image ids.
        keypoints: ``(N, K, 2)`` image px.
        keypoint_scores: ``(N, K)`` confidences, written as the third value of each keypoint.
        scores: ``(N,)`` instance scores.
        category_id: COCO category (1 = person).

    Returns:
        ``N`` dicts ``{"image_id", "category_id", "keypoints": [x, y, s] * K, "score"}`` of
        plain Python numbers (JSON-serialisable).
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    ks = np.asarray(keypoint_scores, dtype=np.float64)
    ids = np.asarray(image_ids).reshape(-1)
    sc = np.asarray(scores, dtype=np.float64).reshape(-1)
    n = ids.shape[0]
    if kp.ndim != 3 or kp.shape[0] != n or kp.shape[2] != 2 or ks.shape != kp.shape[:2] or sc.shape != (n,):
        raise ValueError(
            f"image_ids {ids.shape}, keypoints {kp.shape}, keypoint_scores {ks.shape}, scores {sc.shape} "
            "must be (N,), (N, K, 2), (N, K), (N,)"
        )
    flat = np.concatenate([kp, ks[..., None]], axis=2).reshape(n, -1)
    return [
        {"image_id": int(i), "category_id": int(category_id), "keypoints": row.tolist(), "score": float(s)}
        for i, row, s in zip(ids, flat, sc)
    ]


def _quiet() -> contextlib.AbstractContextManager:
    """Swallow the progress prints of pycocotools."""
    return contextlib.redirect_stdout(io.StringIO())


class CocoKeypointEvaluator:
    """Accumulates top-down predictions and computes COCO keypoint AP/AR with pycocotools.

    Args:
        sigmas: ``(K,)`` per-keypoint OKS sigmas (COCO: :data:`landmarks.layouts.spec.COCO17_SIGMAS`).
        use_oks_nms: run OKS-NMS per image before evaluation.
        nms_thr: OKS above which a lower-scored duplicate pose is dropped.
        score_thr: keypoint-score threshold of the rescoring (:func:`rescore`).

    Example:
        >>> ev = CocoKeypointEvaluator(sigmas=coco17().sigmas)
        >>> ev.add_ground_truth(json.load(open("person_keypoints_val2017.json")))
        >>> ev.add_predictions(image_ids, keypoints, keypoint_scores, box_scores, areas)
        >>> ev.compute()["ap"]
    """

    def __init__(
        self,
        sigmas: Sequence[float] | np.ndarray,
        use_oks_nms: bool = True,
        nms_thr: float = 0.9,
        score_thr: float = 0.2,
    ) -> None:
        self.sigmas = np.asarray(sigmas, dtype=np.float64)
        if self.sigmas.ndim != 1 or self.sigmas.size == 0:
            raise ValueError(f"sigmas must be a non-empty 1-D sequence (one per keypoint), got {sigmas!r}")
        self.use_oks_nms = bool(use_oks_nms)
        self.nms_thr = float(nms_thr)
        self.score_thr = float(score_thr)
        self._gt: dict[str, list[dict[str, Any]]] = {"images": [], "annotations": [], "categories": []}
        self._preds: list[dict[str, np.ndarray]] = []

    @property
    def num_keypoints(self) -> int:
        """K, the number of keypoints (length of ``sigmas``)."""
        return int(self.sigmas.shape[0])

    def add_ground_truth(self, coco_dict: dict[str, Any]) -> None:
        """Add a COCO ``person_keypoints`` dict (``images``, ``annotations``, ``categories``).

        The dict is copied. Several calls merge; image and annotation ids must stay unique.

        Raises:
            ValueError: a section or an annotation field is missing, an annotation has the wrong
                number of keypoint values, or an id is repeated.
        """
        for key in ("images", "annotations", "categories"):
            if not isinstance(coco_dict.get(key), list):
                raise ValueError(f"COCO ground truth: field '{key}' missing or not a list")
        k3 = 3 * self.num_keypoints
        for ann in coco_dict["annotations"]:
            missing = [f for f in _GT_FIELDS if f not in ann]
            if missing:
                raise ValueError(f"COCO ground truth: annotation {ann.get('id', '?')} lacks field(s) {missing}")
            if len(ann["keypoints"]) != k3:
                raise ValueError(
                    f"COCO ground truth: annotation {ann['id']} has {len(ann['keypoints'])} keypoint values, "
                    f"expected {k3} (3 x {self.num_keypoints} sigmas)"
                )
        for key in ("images", "annotations"):
            counts = Counter(x["id"] for x in self._gt[key] + coco_dict[key])
            dup = [i for i, c in counts.items() if c > 1]
            if dup:
                raise ValueError(f"COCO ground truth: repeated {key} id(s) {sorted(dup)[:10]}")
        known_cats = {c["id"] for c in self._gt["categories"]}
        self._gt["images"] += copy.deepcopy(coco_dict["images"])
        self._gt["annotations"] += copy.deepcopy(coco_dict["annotations"])
        self._gt["categories"] += [copy.deepcopy(c) for c in coco_dict["categories"] if c["id"] not in known_cats]

    def add_predictions(
        self,
        image_ids: np.ndarray,
        keypoints: np.ndarray,
        keypoint_scores: np.ndarray,
        box_scores: np.ndarray,
        areas: np.ndarray,
    ) -> None:
        """Add a batch of top-down predictions.

        Args:
            image_ids: ``(N,)`` COCO image ids.
            keypoints: ``(N, K, 2)`` image px.
            keypoint_scores: ``(N, K)`` confidences.
            box_scores: ``(N,)`` detector scores (1.0 for ground-truth boxes).
            areas: ``(N,)`` instance areas px^2 (box area), the OKS-NMS scale.
        """
        ids = np.asarray(image_ids).reshape(-1).astype(np.int64)
        kp = np.asarray(keypoints, dtype=np.float64)
        ks = np.asarray(keypoint_scores, dtype=np.float64)
        bs = np.asarray(box_scores, dtype=np.float64).reshape(-1)
        ar = np.asarray(areas, dtype=np.float64).reshape(-1)
        n, k = ids.shape[0], self.num_keypoints
        if kp.shape != (n, k, 2) or ks.shape != (n, k) or bs.shape != (n,) or ar.shape != (n,):
            raise ValueError(
                f"add_predictions: image_ids {ids.shape}, keypoints {kp.shape}, keypoint_scores {ks.shape}, "
                f"box_scores {bs.shape}, areas {ar.shape}; expected (N,), (N, {k}, 2), (N, {k}), (N,), (N,)"
            )
        self._preds.append({"image_ids": ids, "keypoints": kp, "keypoint_scores": ks, "box_scores": bs, "areas": ar})

    def reset(self, ground_truth: bool = False) -> None:
        """Drop the accumulated predictions (and the ground truth too when ``ground_truth``)."""
        self._preds = []
        if ground_truth:
            self._gt = {"images": [], "annotations": [], "categories": []}

    def results(self) -> list[dict[str, Any]]:
        """The accumulated predictions, rescored and (optionally) OKS-NMS'd, as COCO results."""
        if not self._preds:
            return []
        cat = {key: np.concatenate([p[key] for p in self._preds]) for key in self._preds[0]}
        scores = rescore(cat["keypoint_scores"], cat["box_scores"], self.score_thr)
        keep = np.arange(scores.shape[0])
        if self.use_oks_nms:
            kept = []
            for image_id in np.unique(cat["image_ids"]):
                idx = np.flatnonzero(cat["image_ids"] == image_id)
                sel = oks_nms(cat["keypoints"][idx], scores[idx], cat["areas"][idx], self.sigmas, self.nms_thr)
                kept.append(idx[sel])
            keep = np.concatenate(kept)
        return to_results(cat["image_ids"][keep], cat["keypoints"][keep], cat["keypoint_scores"][keep], scores[keep])

    def compute(self) -> dict[str, float]:
        """COCO keypoint AP/AR of the accumulated predictions, computed by pycocotools.

        Images of the ground truth without predictions count as misses. With no prediction
        at all the values are those COCOeval gives (0 where ground truth exists, -1 where an
        area range has none).

        Returns:
            ``{"ap", "ap50", "ap75", "apm", "apl", "ar", "ar50", "ar75", "arm", "arl"}`` -> float.

        Raises:
            ValueError: no ground truth was added, or a prediction names an unknown image id.
        """
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval

        if not self._gt["images"]:
            raise ValueError("CocoKeypointEvaluator.compute: no ground truth; call add_ground_truth() first")
        results = self.results()
        known = {img["id"] for img in self._gt["images"]}
        unknown = sorted({r["image_id"] for r in results} - known)
        if unknown:
            raise ValueError(
                f"CocoKeypointEvaluator: predictions for image id(s) {unknown[:10]} not in the ground truth"
            )
        with _quiet():
            # types-pycocotools declares `dataset` as its own TypedDicts and `loadRes` as taking a file
            # name; pycocotools takes the same COCO JSON as plain dicts, and a list of results
            gt = COCO()
            gt.dataset = self._gt  # pyright: ignore[reportAttributeAccessIssue]
            gt.createIndex()
            if results:
                dt = gt.loadRes(results)  # pyright: ignore[reportArgumentType]
            else:  # loadRes cannot read an empty list; an empty result set is still valid
                dt = COCO()
                dt.dataset = {  # pyright: ignore[reportAttributeAccessIssue]
                    "images": list(self._gt["images"]),
                    "categories": list(self._gt["categories"]),
                    "annotations": [],
                }
                dt.createIndex()
            ev = COCOeval(gt, dt, "keypoints")
            ev.params.kpt_oks_sigmas = self.sigmas.copy()
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return {name: float(v) for name, v in zip(STAT_NAMES, ev.stats)}
