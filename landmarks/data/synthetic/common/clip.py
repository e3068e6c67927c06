"""Synthetic clips: frames with per-frame keypoints and track ids, written as MP4 + JSON and read back.

A :class:`Clip` is what the clip makers (:func:`..body.clip.make_body_clip`,
:func:`..hand.clip.make_hand_clip`, :func:`..face.clip.make_face_clip`) return: ``T`` RGB frames
and, per frame, the labelled instances (:class:`ClipInstance`), each with a ``track_id`` that
stays the same while it is in view and when it comes back. An instance fully outside the frame
(a body or hand also when fully hidden) is absent from that frame's list, never listed with
made-up keypoints.

:func:`write_clip` writes ``clip.mp4`` (OpenCV ``mp4v`` at the clip's fps), optionally
``frames/%06d.png`` (lossless), and ``annotations.json``, a COCO-video file (the layout of
YouTube-VIS / TAO, with PoseTrack's ``track_id``), one category, one video:

.. code-block:: text

    info:        {"description": str, "format": "landmarks-clip", "version": 1}
    videos:      [{"id": 1, "file_name": "clip.mp4", "fps": float, "width": W, "height": H,
                   "num_frames": T}]
    images:      [{"id": t + 1, "video_id": 1, "frame_index": t, "file_name": "frames/%06d.png"
                   or "" (then the frame is frame t of the video), "width": W, "height": H}]  (t = 0..T-1, in order)
    annotations: [{"id": int, "image_id": t + 1, "video_id": 1, "frame_index": t, "track_id": int >= 1,
                   "category_id": 1, "keypoints": [x, y, v] * K (image px; v COCO 0/1/2; x = y = 0 when v = 0),
                   "num_keypoints": int (v > 0), "bbox": [x, y, w, h] px, "area": float, "iscrowd": 0,
                   "euler": [yaw, pitch, roll] degrees (faces only), "handedness": "left"|"right" (hands only)}]
    categories:  [{"id": 1, "name": noun, "supercategory": noun, "layout": layout name,
                   "keypoints": [K names], "skeleton": [[i, j], ...] 1-based}]

Numbers are written unrounded (a float32 value survives the round trip exactly), so
:func:`read_clip_annotations` gives back the very arrays that were written. It checks every
record (:mod:`.clip_checks`) and names the file, the record and the field of anything it cannot use.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from landmarks.data.synthetic.common.clip_checks import RecordChecker
from landmarks.layouts.spec import KeypointSpec

__all__ = ["Clip", "ClipInstance", "empty_clip", "read_clip_annotations", "write_clip"]

FORMAT = "landmarks-clip"


@dataclass
class ClipInstance:
    """One labelled instance in one frame.

    Attributes:
        track_id: identity in the clip (>= 1), the same in every frame the instance is seen in.
        keypoints: ``(K, 2)`` float32 image px (0, 0 where ``visible`` is 0).
        visible: ``(K,)`` float32 COCO visibility: 0 outside the frame, 1 hidden, 2 visible.
        bbox: ``(4,)`` float32 ``x, y, w, h`` px, clipped to the frame.
        area: COCO area (visible silhouette px for bodies and hands, box area for faces).
        euler: ``(3,)`` float32 yaw, pitch, roll degrees (:mod:`landmarks.geometry`), faces only.
        handedness: ``"left"`` or ``"right"``, hands only.
    """

    track_id: int
    keypoints: np.ndarray
    visible: np.ndarray
    bbox: np.ndarray
    area: float
    euler: np.ndarray | None = None
    handedness: str | None = None


@dataclass
class Clip:
    """A synthetic clip with ground truth.

    Attributes:
        frames: ``T`` frames ``(H, W, 3)`` uint8 RGB (empty when read from annotations alone).
        instances: ``T`` lists of the instances labelled in each frame.
        fps: frames per second.
        width: W px.
        height: H px.
        noun: category name (``"person"``, ``"hand"``, ``"face"``).
        layout: keypoint layout name (``"coco17"``, ``"hand21"``, ``"ibug68"``, ...).
        keypoint_names: K names.
        skeleton: 0-based index pairs joined when drawing.
        description: free text (which maker and seed made it).
    """

    frames: list[np.ndarray]
    instances: list[list[ClipInstance]]
    fps: float
    width: int
    height: int
    noun: str
    layout: str
    keypoint_names: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...] = ()
    description: str = ""

    @property
    def num_frames(self) -> int:
        """T."""
        return len(self.instances)

    def track_ids(self) -> list[int]:
        """Sorted track ids seen anywhere in the clip."""
        return sorted({inst.track_id for frame in self.instances for inst in frame})

    def tracks(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Per track id: keypoints ``(T, K, 2)`` float32 (NaN in frames without the track) and visible ``(T, K)``."""
        k, out = len(self.keypoint_names), {}
        for tid in self.track_ids():
            kp = np.full((self.num_frames, k, 2), np.nan, dtype=np.float32)
            vis = np.zeros((self.num_frames, k), dtype=np.float32)
            for t, frame in enumerate(self.instances):
                for inst in frame:
                    if inst.track_id == tid:
                        kp[t], vis[t] = inst.keypoints, inst.visible
            out[tid] = (kp, vis)
        return out


def empty_clip(spec: KeypointSpec, noun: str, size: tuple[int, int], fps: float, description: str) -> Clip:
    """A clip with no frames yet, labelled with ``spec``'s layout (the makers append frames)."""
    if fps <= 0:
        raise ValueError(f"clip: fps must be > 0, got {fps}")
    return Clip(
        frames=[],
        instances=[],
        fps=float(fps),
        width=int(size[0]),
        height=int(size[1]),
        noun=noun,
        layout=spec.name,
        keypoint_names=tuple(spec.names),
        skeleton=tuple((int(a), int(b)) for a, b in spec.skeleton),
        description=description,
    )


def _annotation(inst: ClipInstance, ann_id: int, t: int) -> dict:
    flat = [float(v) for row in np.concatenate([inst.keypoints, inst.visible[:, None]], 1) for v in row]
    flat[2::3] = [int(v) for v in flat[2::3]]
    ann: dict[str, Any] = {
        "id": ann_id,
        "image_id": t + 1,
        "video_id": 1,
        "frame_index": t,
        "track_id": int(inst.track_id),
        "category_id": 1,
        "keypoints": flat,
        "num_keypoints": int((inst.visible > 0).sum()),
        "bbox": [float(v) for v in inst.bbox],
        "area": float(inst.area),
        "iscrowd": 0,
    }
    if inst.euler is not None:
        ann["euler"] = [float(v) for v in inst.euler]
    if inst.handedness is not None:
        ann["handedness"] = inst.handedness
    return ann


def clip_to_json(clip: Clip, video: str = "clip.mp4", frame_files: bool = False) -> dict:
    """The ``annotations.json`` dict of ``clip`` (module docstring)."""
    size = {"width": clip.width, "height": clip.height}
    images = [
        {
            "id": t + 1,
            "video_id": 1,
            "frame_index": t,
            "file_name": f"frames/{t:06d}.png" if frame_files else "",
            **size,
        }
        for t in range(clip.num_frames)
    ]
    anns = [_annotation(inst, 0, t) for t, frame in enumerate(clip.instances) for inst in frame]
    for n, ann in enumerate(anns):
        ann["id"] = n + 1
    return {
        "info": {"description": clip.description, "format": FORMAT, "version": 1},
        "videos": [{"id": 1, "file_name": video, "fps": float(clip.fps), "num_frames": clip.num_frames, **size}],
        "images": images,
        "annotations": anns,
        "categories": [
            {
                "id": 1,
                "name": clip.noun,
                "supercategory": clip.noun,
                "layout": clip.layout,
                "keypoints": list(clip.keypoint_names),
                "skeleton": [[int(a) + 1, int(b) + 1] for a, b in clip.skeleton],
            }
        ],
    }


def write_clip(clip: Clip, out_dir: str, write_frames: bool = False) -> str:
    """Writes ``out_dir/clip.mp4``, ``out_dir/annotations.json`` and, optionally, ``out_dir/frames/``.

    Args:
        clip: the clip; every frame ``(H, W, 3)`` uint8 RGB.
        out_dir: output folder (created).
        write_frames: also write each frame as ``frames/%06d.png`` (lossless; the MP4 is not).

    Returns:
        The path of ``annotations.json``.
    """
    if len(clip.frames) != clip.num_frames or clip.num_frames == 0:
        raise ValueError(
            f"write_clip: the clip has {len(clip.frames)} frames and {clip.num_frames} annotated frames; "
            "expected the same number, at least 1"
        )
    os.makedirs(out_dir, exist_ok=True)
    video = os.path.join(out_dir, "clip.mp4")
    writer = cv2.VideoWriter(video, cv2.VideoWriter.fourcc(*"mp4v"), float(clip.fps), (clip.width, clip.height))
    if not writer.isOpened():
        raise OSError(f"write_clip: OpenCV cannot open '{video}' for writing (codec mp4v)")
    try:
        for t, frame in enumerate(clip.frames):
            if frame.shape != (clip.height, clip.width, 3) or frame.dtype != np.uint8:
                raise ValueError(
                    f"write_clip: frame {t} is {frame.dtype} {frame.shape}, expected uint8 "
                    f"{(clip.height, clip.width, 3)}"
                )
            bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
            writer.write(bgr)
            if write_frames:
                os.makedirs(os.path.join(out_dir, "frames"), exist_ok=True)
                path = os.path.join(out_dir, "frames", f"{t:06d}.png")
                if not cv2.imwrite(path, bgr):
                    raise OSError(f"write_clip: could not write '{path}'")
    finally:
        writer.release()
    json_path = os.path.join(out_dir, "annotations.json")
    with open(json_path, "w") as fh:
        json.dump(clip_to_json(clip, "clip.mp4", write_frames), fh)
    return json_path


def read_clip_annotations(path: str) -> Clip:
    """Reads an ``annotations.json`` written by :func:`write_clip` (frames are not loaded).

    Args:
        path: the JSON file.

    Returns:
        A :class:`Clip` with ``frames == []`` and everything else as written.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, or a record lacks a field or holds a wrong value; the message names
            the file, the record and the field.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"read_clip_annotations: no file '{path}'")
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"read_clip_annotations: '{path}' is not a JSON file: {e}") from e
    check = RecordChecker(path, "read_clip_annotations")
    fps, width, height, num = check.video(data)
    noun, layout, names, skeleton = check.category(data)
    frame_of = check.frames(data, num)
    instances: list[list[ClipInstance]] = [[] for _ in range(num)]
    for n, ann in enumerate(check.get(data, "top level", "annotations", list, "must be a list")):
        a = check.annotation(ann, f"annotations[{n}]", len(names), frame_of)
        t = a["frame"]
        if any(i.track_id == a["track_id"] for i in instances[t]):
            raise check.error(f"annotations[{n}]", "track_id", f"must be unique within frame {t}", a["track_id"])
        instances[t].append(
            ClipInstance(a["track_id"], a["keypoints"], a["visible"], a["bbox"], a["area"], a["euler"], a["handedness"])
        )
    info = data.get("info")
    return Clip(
        frames=[],
        instances=instances,
        fps=fps,
        width=width,
        height=height,
        noun=noun,
        layout=layout,
        keypoint_names=names,
        skeleton=skeleton,
        description=str(info.get("description", "")) if isinstance(info, dict) else "",
    )
