"""Frames per second of the whole video path: decode -> detect -> pose -> OKS-NMS -> track -> smooth -> JSON + overlay video.

``python benchmarks/video_fps.py --pose POSE.ckpt --detector DET.ckpt|hog [--people 1,3,6] [--threads 2]``

For each number of people, a synthetic body clip (``make_body_clip``, 640x480, 48 frames at 25 fps)
is written to MP4 first (not timed); then :func:`landmarks.inference.loop.run_inference` runs on it
in this process with the pose model, the detector, OKS-NMS, the tracker and the default smoothing, as
``infer.py source=clip.mp4 detector=...`` does. Timed: the loop alone (models loaded before), the
median of ``--repeats`` runs. A second row per clip takes the boxes from the clip's ground truth
(``det_file``) to show the cost of the detector. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository root

from benchmarks.bench import median, time_calls  # noqa: E402


def _clip(out_dir: str, people: int, seed: int) -> tuple[str, str, int]:
    """``(video, det_file of the ground-truth boxes, frames)`` of a synthetic body clip."""
    from landmarks.data.synthetic.body.clip import make_body_clip
    from landmarks.data.synthetic.common.clip import write_clip

    clip = make_body_clip(seed=seed, num_frames=48, num_people=people, size=(640, 480))
    write_clip(clip, out_dir)
    dets = [
        {"image_id": t, "category_id": 1, "bbox": [float(v) for v in inst.bbox], "score": 1.0}
        for t, frame in enumerate(clip.instances)
        for inst in frame
    ]
    det_file = os.path.join(out_dir, "gt_boxes.json")
    with open(det_file, "w") as f:
        json.dump(dets, f)
    return os.path.join(out_dir, "clip.mp4"), det_file, clip.num_frames


def _fps(run: Any, frames: int, repeats: int) -> float:
    """Frames per second of ``run`` (one pass over ``frames`` frames): the median of ``repeats`` timed passes, no warm-up."""
    return frames / median(time_calls(run, repeats, warmup=0))


def main() -> None:
    import torch

    from landmarks.inference.instances import DuplicateFilter, FrameTracker
    from landmarks.inference.loop import run_inference
    from landmarks.run import load_detector, load_predictor

    parser = argparse.ArgumentParser()
    parser.add_argument("--pose", required=True)
    parser.add_argument("--detector", required=True, help="a detection checkpoint, or hog")
    parser.add_argument("--people", default="1,3,6")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    predictor = load_predictor(args.pose, flip_test=False, device="cpu")
    if args.detector == "hog":
        from landmarks.inference.box_detectors import HogPersonDetector

        detector: Any = HogPersonDetector()
    else:
        detector = load_detector(args.detector, category="person", device="cpu")
    print(f"torch {torch.__version__}, {args.threads} threads; pose {args.pose}; detector {args.detector}")
    print(f"\n| people | boxes from | frames/s (median of {args.repeats}) |\n|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for people in [int(p) for p in args.people.split(",")]:
            folder = os.path.join(tmp, str(people))
            video, det_file, frames = _clip(folder, people, seed=2000 + people)
            for label, kwargs in (
                ("detector", {"face_detector": detector}),
                ("ground truth (det_file)", {"det_file": det_file}),
            ):

                def run(kwargs: dict[str, Any] = kwargs, video: str = video, folder: str = folder) -> None:
                    run_inference(
                        predictor,
                        video,
                        os.path.join(folder, "out"),
                        duplicates=DuplicateFilter(predictor.tasks),
                        tracker=FrameTracker(predictor.tasks, fps=25.0),
                        **kwargs,
                    )

                print(f"| {people} | {label} | {_fps(run, frames, args.repeats):.1f} |", flush=True)


if __name__ == "__main__":
    main()
