"""Jitter before / after smoothing on synthetic clips, per task kind: the table of docs/benchmarks.md ("Video").

``python benchmarks/jitter.py body=BODY.ckpt hand=HAND.ckpt face=FACE.ckpt head_pose=POSE.ckpt [--clips 4]
[--kind one_euro kalman] [--min-cutoff 1.0] [--beta 0.05] [--measurement-noise 0.02] [--acceleration-noise 4]
[--savgol-window 9] [--seed-base 1000]`` (the online filters' parameters, as ``infer.py smoothing.kind=... smoothing.beta=...``;
for ``head_pose`` they are the rotation filter's, in degrees, as ``smoothing.rotation.*``). A filter option left out is
what ``infer.py`` ships (:class:`~landmarks.inference.instances.SmoothingOptions`' defaults; for ``head_pose``
:data:`~landmarks.inference.instances.ROTATION_DEFAULTS`), so a plain run measures the shipped filters.
Several values give a row per combination (the model runs once per frame; the filters re-read its output):
tune them on clips of another ``--seed-base`` (e.g. 2000) than the ones the table reports.

Each checkpoint is evaluated on ``--clips`` synthetic clips of its kind (seeds 1000.., 48 frames, as
``evaluate.py clips=...``: :func:`landmarks.inference.clip_eval.evaluate_clips` on ground-truth boxes).
The goal of the video issue: smoothing cuts jitter by >= 50 % at <= 2 % relative accuracy cost, and
identity switches <= 1 per 100 track-frames. Jitter = the acceleration error (keypoints px / frame^2,
angles deg / frame^2) and, for keypoints, LDEQ's normalised mean flicker; accuracy = PCK@0.1 (keypoints)
or the angle MAE (head pose).
"""

from __future__ import annotations

import argparse
from typing import Any

CLIPS = {  # kind -> (maker, keyword arguments)
    "body": ("landmarks.data.synthetic.body.clip:make_body_clip", {"num_people": 3}),
    "hand": ("landmarks.data.synthetic.hand.clip:make_hand_clip", {"num_hands": 2}),
    "face": ("landmarks.data.synthetic.face.clip:make_face_clip", {"num_faces": 2}),
    "head_pose": ("landmarks.data.synthetic.face.clip:make_face_clip", {"num_faces": 2}),
}


def _maker(path: str) -> Any:
    import importlib

    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def _row(kind: str, variant: str, m: dict[str, float], task: str, label: str = "") -> str:
    angles = f"{task}/raw/mae" in m
    acc_key = "mae" if angles else "pck"
    jitter_change = m[f"{task}/{variant}/accel_change"]
    nmf = "" if angles else f"{m[f'{task}/raw/nmf']:.0f} -> {m[f'{task}/{variant}/nmf']:.0f}"
    acc_change = m[f"{task}/{variant}/{acc_key}_change"]
    cost = acc_change if angles else -acc_change  # MAE up or PCK down is a cost
    ok = jitter_change <= -0.5 and cost <= 0.02
    return (
        f"| {kind} | {variant}{label} | {m[f'{task}/raw/accel']:.2f} -> {m[f'{task}/{variant}/accel']:.2f} "
        f"({100 * jitter_change:+.0f} %) | {nmf} | {acc_key} {m[f'{task}/raw/{acc_key}']:.3f} -> "
        f"{m[f'{task}/{variant}/{acc_key}']:.3f} ({100 * acc_change:+.1f} %) | {'PASS' if ok else 'MISS'} |"
    )


class CachedPredictor:
    """The predictor's output per (frame, boxes), computed once: a grid of filters re-reads the same frames."""

    def __init__(self, predictor: Any) -> None:
        self.predictor, self.tasks, self.cache = predictor, predictor.tasks, {}

    def predict(self, image: Any, boxes: Any) -> Any:
        key = (id(image), boxes.tobytes())
        if key not in self.cache:
            self.cache[key] = (image, self.predictor.predict(image, boxes))  # the image kept: its id stays unique
        return self.cache[key][1]


def shipped_filter(kind: str) -> dict[str, Any]:
    """The online filter ``infer.py`` ships for a task ``kind``: its ``kind`` and parameters (head pose: the
    rotation filter's, in degrees)."""
    from dataclasses import asdict

    from landmarks.inference.instances import ROTATION_DEFAULTS, SmoothingOptions

    return dict(ROTATION_DEFAULTS) if kind == "head_pose" else asdict(SmoothingOptions())


def filter_settings(args: argparse.Namespace, shipped: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, filter kind, its parameters) for every filter setting the arguments ask for; an option the
    arguments leave out (None) takes its ``shipped`` value (``kind`` and the parameters infer.py uses)."""

    def values(option: str) -> list[Any]:
        given = getattr(args, option)
        return list(given) if given is not None else [shipped[option]]

    out = []
    kinds = values("kind")
    if "one_euro" in kinds:
        for c in values("min_cutoff"):
            for b in values("beta"):
                for d in values("d_cutoff"):
                    params = {"min_cutoff": c, "beta": b, "d_cutoff": d}
                    out.append((f" ({c:g} Hz, beta {b:g}, d {d:g} Hz)", "one_euro", params))
    if "kalman" in kinds:
        for m in values("measurement_noise"):
            for a in values("acceleration_noise"):
                params = {"measurement_noise": m, "acceleration_noise": a}
                out.append((f" (sigma_m {m:g}, sigma_a {a:g})", "kalman", params))
    return out


def main() -> None:
    import torch

    from landmarks.inference.clip_eval import evaluate_clips
    from landmarks.inference.instances import SmoothingOptions
    from landmarks.run import load_predictor

    parser = argparse.ArgumentParser()
    parser.add_argument("ckpts", nargs="+", help="kind=checkpoint, kind in body, hand, face, head_pose")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--kind", nargs="+", choices=["one_euro", "kalman"], help="online filters (default: the shipped one)"
    )
    parser.add_argument("--min-cutoff", type=float, nargs="+", help="One-Euro min_cutoff, Hz (default: shipped)")
    parser.add_argument("--beta", type=float, nargs="+", help="One-Euro beta (default: shipped)")
    parser.add_argument("--d-cutoff", type=float, nargs="+", help="One-Euro d_cutoff, Hz (default: shipped)")
    parser.add_argument(
        "--measurement-noise", type=float, nargs="+", help="Kalman measurement std, box sizes (default: shipped)"
    )
    parser.add_argument(
        "--acceleration-noise",
        type=float,
        nargs="+",
        help="Kalman acceleration std, box sizes / s^2 (default: shipped)",
    )
    parser.add_argument(
        "--savgol-window", type=int, nargs="+", default=[9], help="offline Savitzky-Golay window, frames (order 2)"
    )
    parser.add_argument("--seed-base", type=int, default=1000, help="clip seeds: seed-base, seed-base + 1, ...")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        "| kind | smoothing | acceleration error (raw -> smoothed) | NMF | accuracy | goal: jitter -50 %, cost <= 2 % |\n"
        "|---|---|---|---|---|---|"
    )
    switches = []
    for item in args.ckpts:
        kind, ckpt = item.split("=", 1)
        path, kwargs = CLIPS[kind]
        maker = _maker(path)
        clips = [maker(seed=args.seed_base + i, num_frames=48, **kwargs) for i in range(args.clips)]
        predictor = CachedPredictor(load_predictor(ckpt, flip_test=False, device="cpu"))
        grid = filter_settings(args, shipped_filter(kind))
        for g, (label, online, params) in enumerate(grid):
            if kind == "head_pose":  # the grid is the rotation filter's, in degrees (smoothing.rotation)
                options = SmoothingOptions(rotation={"kind": online, **params}, savgol_window=args.savgol_window[0])
            else:
                options = SmoothingOptions(kind=online, savgol_window=args.savgol_window[0], **params)
            m = evaluate_clips(predictor, clips, options)
            task = next(n for n in predictor.tasks if kind != "head_pose" or f"{n}/raw/mae" in m)
            variant = options.rotation_kind if kind == "head_pose" else options.kind  # rotations: their own filter
            print(_row(kind, variant, m, task, label if len(grid) > 1 else ""), flush=True)
            for w, window in enumerate(args.savgol_window if g == 0 else []):
                if w:
                    m = evaluate_clips(predictor, clips, SmoothingOptions(savgol_window=window))
                note = f" (window {window})" if len(args.savgol_window) > 1 else ""
                print(_row(kind, "savgol", m, task, note), flush=True)
        switches.append(
            f"| {kind} | {m['id_switches']:.0f} | {m['track_frames']:.0f} | {m['id_switches_per_100']:.2f} |"
        )
    print("\n| kind | identity switches | track-frames | per 100 (goal <= 1) |\n|---|---|---|---|")
    print("\n".join(switches))


if __name__ == "__main__":
    main()
