"""OKS sigmas measured from repeated annotations of the same instances.

Definition (COCO keypoint evaluation, https://cocodataset.org/#keypoints-eval, section 1.3
"Tuning OKS"): for keypoint type ``i``, ``sigma_i`` is the standard deviation of human
annotations with respect to the object scale ``s = sqrt(area)``,

    sigma_i^2 = E[d_i^2 / s^2],

where ``d_i`` is the Euclidean distance between an annotation of the keypoint and its true
location. OKS then uses ``kappa_i = 2 sigma_i`` (pycocotools: ``kpt_oks_sigmas`` holds the
``sigma_i``, and ``cocoeval`` squares ``2 * sigma``). COCO measured them on 5000 images of
``val`` annotated more than once.

Estimator used here. The true location is unknown, so each group of ``R`` annotations of one
instance is centred on its own mean ``p_bar``; ``sum_r |p_r - p_bar|^2 / (R - 1)`` is an
unbiased estimate of ``E[d^2]`` (the trace of the 2-D annotation covariance). Groups are
pooled by their degrees of freedom::

    sigma_i^2 = sum_g sum_r |p_gr - p_bar_g|^2 / s_g^2  /  sum_g (R_gi - 1)

over the annotations with ``v > 0`` for keypoint ``i``; ``s_g^2`` is the mean ``area`` of
the group (the box area ``w * h`` where ``area`` is absent). Note ``d`` is a 2-D distance:
isotropic noise of standard deviation ``t * s`` per axis gives ``sigma = sqrt(2) * t``.

Grouping: annotations are repeats of one instance when they share ``image_id`` and the
value of an id field (``group_by="instance_id"``, or any other field such as ``track_id``),
or, with ``group_by="iou"``, when their boxes overlap with IoU >= ``iou_thr`` (greedy, in
file order, against the first box of each group). A group of one annotation carries no
information and is counted, not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SigmaEstimate:
    """Estimated OKS sigmas.

    Attributes:
        sigmas: ``(K,)`` float64; NaN for a keypoint no group labelled twice.
        dof: ``(K,)`` int degrees of freedom per keypoint (``sum_g (R_gi - 1)``).
        num_groups: groups with at least two annotations.
        num_singletons: annotations without a repeat (not used).
    """

    sigmas: np.ndarray
    dof: np.ndarray
    num_groups: int
    num_singletons: int


def estimate_sigmas(
    coco_dict: dict[str, Any],
    num_keypoints: int,
    group_by: str = "instance_id",
    iou_thr: float = 0.5,
    source: str = "<coco dict>",
) -> SigmaEstimate:
    """Per-keypoint OKS sigmas from a COCO keypoint dict with repeated annotations.

    Args:
        coco_dict: ``{"annotations": [...]}`` (COCO keypoint format); crowd annotations are
            left out.
        num_keypoints: K; every annotation must hold ``3 * K`` keypoint values.
        group_by: an annotation field naming the instance (with ``image_id``), or ``"iou"``.
        iou_thr: box IoU at or above which two annotations are one instance (``"iou"`` only).
        source: the file name used in error messages.

    Returns:
        A :class:`SigmaEstimate`.

    Raises:
        ValueError: naming ``source``, the field and the annotation, when an annotation has
            the wrong keypoint count, lacks the ``group_by`` field or a usable box/area, or
            when no instance is annotated twice.
    """
    k = int(num_keypoints)
    anns = [a for a in coco_dict.get("annotations", []) if isinstance(a, dict) and not a.get("iscrowd", 0)]
    groups = _group_iou(anns, iou_thr) if group_by == "iou" else _group_field(anns, group_by, source)
    sq = np.zeros(k)
    dof = np.zeros(k, dtype=np.int64)
    used = 0
    for group in groups:
        if len(group) < 2:
            continue
        used += 1
        kpts = np.stack([_keypoints(a, k, source) for a in group])  # (R, K, 3)
        scale2 = float(np.mean([_area(a, source) for a in group]))
        for i in range(k):
            labelled = kpts[:, i, 2] > 0
            r = int(labelled.sum())
            if r < 2:
                continue
            pts = kpts[labelled, i, :2]
            sq[i] += float(np.sum((pts - pts.mean(axis=0)) ** 2)) / scale2
            dof[i] += r - 1
    if used == 0:
        how = f"field '{group_by}' shared within an image" if group_by != "iou" else f"box IoU >= {iou_thr}"
        raise ValueError(
            f"{source}: field 'annotations': expected instances annotated at least twice "
            f"(grouped by {how}), got {len(anns)} annotations and no repeat"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        sigmas = np.where(dof > 0, np.sqrt(sq / np.maximum(dof, 1)), np.nan)
    return SigmaEstimate(sigmas=sigmas, dof=dof, num_groups=used, num_singletons=sum(1 for g in groups if len(g) == 1))


def _group_field(anns: list[dict[str, Any]], field: str, source: str) -> list[list[dict[str, Any]]]:
    groups: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for j, a in enumerate(anns):
        if field not in a:
            where = f"annotation id {a['id']}" if "id" in a else f"annotations[{j}]"
            raise ValueError(
                f"{source} ({where}): field '{field}': expected the instance id that groups repeated "
                "annotations (or group_by='iou' to match boxes), got no such field"
            )
        groups.setdefault((a.get("image_id"), a[field]), []).append(a)
    return list(groups.values())


def _group_iou(anns: list[dict[str, Any]], thr: float) -> list[list[dict[str, Any]]]:
    groups: list[list[dict[str, Any]]] = []
    by_image: dict[Any, list[int]] = {}
    for a in anns:
        for g in by_image.get(a.get("image_id"), []):
            if box_iou(groups[g][0]["bbox"], a["bbox"]) >= thr:
                groups[g].append(a)
                break
        else:
            by_image.setdefault(a.get("image_id"), []).append(len(groups))
            groups.append([a])
    return groups


def box_iou(a: Any, b: Any) -> float:
    """IoU of two COCO boxes ``[x, y, w, h]``."""
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _keypoints(a: dict[str, Any], k: int, source: str) -> np.ndarray:
    raw = a.get("keypoints")
    if not isinstance(raw, list) or len(raw) != 3 * k:
        got = f"{len(raw)} values" if isinstance(raw, list) else repr(raw)
        raise ValueError(
            f"{source} (annotation id {a.get('id', '?')}): field 'keypoints': expected 3*K = {3 * k} "
            f"values (K = {k}), got {got}"
        )
    return np.asarray(raw, dtype=np.float64).reshape(k, 3)


def _area(a: dict[str, Any], source: str) -> float:
    area = a.get("area")
    if isinstance(area, (int, float)) and not isinstance(area, bool) and area > 0:
        return float(area)
    box = a.get("bbox")
    if isinstance(box, list) and len(box) == 4 and float(box[2]) > 0 and float(box[3]) > 0:
        return float(box[2]) * float(box[3])
    raise ValueError(
        f"{source} (annotation id {a.get('id', '?')}): field 'area': expected a positive object "
        f"area (or a 'bbox' [x, y, w, h] with w, h > 0), got area={area!r}, bbox={box!r}"
    )
