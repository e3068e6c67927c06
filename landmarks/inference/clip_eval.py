"""Video evaluation on clips with ground truth: per-frame accuracy, identity switches and jitter,
before and after smoothing (``evaluate.py ckpt=... clips=body``).

Each frame of a :class:`~landmarks.data.synthetic.common.clip.Clip` is predicted on its
ground-truth boxes (so the numbers measure the pose model, its tracking and its smoothing, not a
detector); :class:`~landmarks.inference.instances.FrameTracker` gives track ids and the online
smoothed predictions of the same frames (``smoothing.kind``: the Kalman filter, or One-Euro);
Savitzky-Golay smoothing of each predicted track
(offline, :func:`~landmarks.inference.smoothing.savgol_track`) is the third variant.

Reported per variant (``raw``; the online filter, named by its kind for the task: ``kalman`` or
``one_euro``; for angles, which are smoothed on rotations, the kind of ``smoothing.rotation``; ``savgol``), over every clip:

* keypoint tasks: ``pck`` (PCK@0.1 of the box's longer side over labelled keypoints), ``nme``
  (mean error / sqrt(box area)), ``nmf`` (normalised mean flicker of LDEQ, CVPR 2023, per track,
  averaged) and ``accel`` (mean acceleration error, px / frame^2: Kanazawa et al. 2019), all from
  :mod:`landmarks.metrics.jitter`;
* angle tasks (``extras["euler"]``): ``mae`` (degrees, on the wrapped difference) and ``accel``
  (degrees / frame^2 of the error);
* tasks with neither (e.g. ``body_visibility``'s visibility head) are not scored;
* ``id_switches`` (CLEAR-MOT IDSW of the tracker against the clip's track ids) and ``track_frames``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from landmarks.inference.instances import FrameTracker, SmoothingOptions
from landmarks.inference.smoothing import savgol_track
from landmarks.metrics.jitter import count_track_frames, identity_switches, mean_acceleration_error
from landmarks.metrics.jitter import normalised_mean_flicker as nmf
from landmarks.types import Prediction

__all__ = ["evaluate_clips"]


def _predict_clip(predictor: Any, clip: Any, smoothing: SmoothingOptions) -> list[dict[str, Any]]:
    """Per frame: ground truth, raw, online-smoothed and Savitzky-Golay predictions, predicted track ids."""
    online = dataclasses.replace(smoothing, offline="none")  # the savgol variant is made below, from the raw one
    tracker = FrameTracker(predictor.tasks, fps=clip.fps, smoothing=online)
    frames = []
    for image, instances in zip(clip.frames, clip.instances):
        if not instances:
            frames.append({"gt": [], "raw": {}, "online": {}, "ids": np.zeros(0, np.int64)})
            continue
        boxes = np.stack([inst.bbox for inst in instances]).astype(np.float32)
        raw = predictor.predict(image, boxes)
        smooth, ids = tracker(raw, boxes)
        frames.append({"gt": instances, "raw": raw, "online": smooth, "ids": ids})
    _savgol(frames, smoothing.savgol_window, smoothing.savgol_order)
    return frames


def _savgol(frames: list[dict[str, Any]], window: int = 9, order: int = 2) -> None:
    """Add ``savgol``: each predicted track's raw keypoints / angles smoothed offline (Savitzky-Golay), a gap
    in a track splitting it as in ``infer.py smoothing.offline=savgol``."""
    for f in frames:
        f["savgol"] = {n: Prediction(p.keypoints.copy(), p.scores, dict(p.extras)) for n, p in f["raw"].items()}
    tracks: dict[int, list[tuple[int, int]]] = {}
    for t, f in enumerate(frames):
        for i, tid in enumerate(f["ids"]):
            tracks.setdefault(int(tid), []).append((t, i))
    for members in tracks.values():
        times = [t for t, _ in members]
        for name in frames[members[0][0]]["raw"]:
            kp = np.stack([frames[t]["raw"][name].keypoints[i] for t, i in members]).astype(np.float64)
            if kp.shape[1]:
                for (t, i), value in zip(members, savgol_track(times, kp, window, order)):
                    frames[t]["savgol"][name].keypoints[i] = value
            if "euler" in frames[members[0][0]]["raw"][name].extras:
                euler = np.stack([frames[t]["raw"][name].extras["euler"][i] for t, i in members])
                for (t, i), value in zip(members, savgol_track(times, euler, window, order, angles=True)):
                    extras = frames[t]["savgol"][name].extras
                    extras["euler"] = np.array(extras["euler"], np.float32, copy=True)
                    extras["euler"][i] = value


def _gt_tracks(frames: list[dict[str, Any]], name: str, variant: str) -> dict[int, dict[str, list]]:
    """Per ground-truth track: frame-aligned lists of (t, gt instance, prediction row)."""
    out: dict[int, dict[str, list]] = {}
    for t, f in enumerate(frames):
        for i, inst in enumerate(f["gt"]):
            pred = f[variant][name]
            rec = out.setdefault(inst.track_id, {"t": [], "gt": [], "kp": [], "euler": []})
            rec["t"].append(t)
            rec["gt"].append(inst)
            rec["kp"].append(pred.keypoints[i])
            rec["euler"].append(pred.extras["euler"][i] if "euler" in pred.extras else None)
    return out


def _keypoint_metrics(tracks: dict[int, dict[str, list]], num_frames: int) -> dict[str, list[float]]:
    res: dict[str, list[float]] = {"pck": [], "nme": [], "nmf": [], "accel": []}
    for rec in tracks.values():
        k = rec["kp"][0].shape[0]
        pred = np.full((num_frames, k, 2), np.nan)
        gt = np.full((num_frames, k, 2), np.nan)
        valid = np.zeros((num_frames, k), bool)
        sizes = np.ones(num_frames)
        for t, inst, kp in zip(rec["t"], rec["gt"], rec["kp"]):
            pred[t], gt[t], valid[t] = kp, inst.keypoints, inst.visible > 0
            sizes[t] = max(float(np.sqrt(inst.bbox[2] * inst.bbox[3])), 1.0)
            err = np.linalg.norm(kp - inst.keypoints, axis=1)[valid[t]]
            if err.size:
                res["pck"].append(float((err <= 0.1 * max(inst.bbox[2], inst.bbox[3])).mean()))
                res["nme"].append(float(err.mean() / sizes[t]))
        if valid.sum(axis=1).astype(bool).sum() >= 3:
            res["nmf"].append(nmf(pred, gt, valid, sizes=sizes))
            res["accel"].append(mean_acceleration_error(pred, gt, valid))
    return res


def _angle_metrics(tracks: dict[int, dict[str, list]]) -> dict[str, list[float]]:
    res: dict[str, list[float]] = {"mae": [], "accel": []}
    for rec in tracks.values():
        gt = np.stack([inst.euler for inst in rec["gt"]]).astype(np.float64)
        pred = np.stack(rec["euler"]).astype(np.float64)
        err = (pred - gt + 180.0) % 360.0 - 180.0
        res["mae"].extend(np.abs(err).mean(axis=1).tolist())
        t = np.asarray(rec["t"])
        run = np.r_[False, np.diff(t) == 1]  # second differences only over consecutive frames
        err = np.unwrap(err, period=360, axis=0)
        for j in range(2, len(t)):
            if run[j] and run[j - 1]:
                res["accel"].append(float(np.abs(err[j] - 2 * err[j - 1] + err[j - 2]).mean()))
    return res


def evaluate_clips(predictor: Any, clips: Sequence[Any], smoothing: SmoothingOptions | None = None) -> dict[str, float]:
    """``{"<task>/<variant>/<metric>": value, "id_switches": n, "track_frames": n, ...}`` over ``clips``.

    Args:
        predictor: anything with ``tasks`` and ``predict(image, boxes) -> {task: Prediction}``.
        clips: :class:`~landmarks.data.synthetic.common.clip.Clip` objects with frames.
        smoothing: the filters (default :class:`SmoothingOptions`: Kalman online).

    Raises:
        ValueError: a clip without frames, or whose ground truth the model's tasks cannot be scored on.
    """
    smoothing = smoothing or SmoothingOptions()
    pooled: dict[str, list[float]] = {}
    switches = track_frames = 0
    for c, clip in enumerate(clips):
        if len(clip.frames) != clip.num_frames:
            raise ValueError(
                f"clips[{c}] ('{clip.description}'): {len(clip.frames)} frames for {clip.num_frames} annotated"
            )
        frames = _predict_clip(predictor, clip, smoothing)
        gt_ids = [[inst.track_id for inst in f["gt"]] for f in frames]
        pred_ids = [[int(i) for i in f["ids"]] for f in frames]
        switches += identity_switches(gt_ids, pred_ids, [[(i, i) for i in range(len(g))] for g in gt_ids])
        track_frames += count_track_frames(gt_ids)
        names = next((list(f["raw"]) for f in frames if f["raw"]), [])
        for name in names:
            for variant in ("raw", "online", "savgol"):
                tracks = _gt_tracks(frames, name, variant)
                first = next(iter(tracks.values()))
                has_kp = first["kp"][0].shape[0] > 0
                if not has_kp and first["euler"][0] is None:
                    break  # neither keypoints nor angles (e.g. a visibility task): nothing to score on clips
                if has_kp and len(first["gt"][0].keypoints) != first["kp"][0].shape[0]:
                    raise ValueError(
                        f"clips[{c}]: task '{name}' predicts {first['kp'][0].shape[0]} keypoints, the clip's "
                        f"layout '{clip.layout}' has {len(first['gt'][0].keypoints)}"
                    )
                if first["euler"][0] is not None and first["gt"][0].euler is None:
                    raise ValueError(f"clips[{c}]: task '{name}' predicts angles; the clip's instances have none")
                metrics = _keypoint_metrics(tracks, clip.num_frames) if has_kp else _angle_metrics(tracks)
                online = smoothing.kind_of(name) if has_kp else smoothing.rotation_kind  # rotations: their own filter
                label = online if variant == "online" else variant
                for key, values in metrics.items():
                    pooled.setdefault(f"{name}/{label}/{key}", []).extend(values)
    out = {k: float(np.mean(v)) if v else float("nan") for k, v in sorted(pooled.items())}
    out.update(_changes(out))
    out["id_switches"] = float(switches)
    out["track_frames"] = float(track_frames)
    out["id_switches_per_100"] = 100.0 * switches / max(track_frames, 1)
    return out


def _changes(metrics: Mapping[str, float]) -> dict[str, float]:
    """Relative change of each smoothed variant against ``raw`` (``<task>/<variant>/<metric>_change``)."""
    out = {}
    for key, value in metrics.items():
        name, variant, metric = key.split("/")
        if variant != "raw":
            base = metrics.get(f"{name}/raw/{metric}", float("nan"))
            out[f"{key}_change"] = (value - base) / base if base else float("nan")
    return out
