"""Tests for the synthetic clips: motion (common/motion.py), the three clip makers, and the clip file format."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from landmarks.data.synthetic.body.clip import make_body_clip
from landmarks.data.synthetic.common.clip import Clip, read_clip_annotations, write_clip
from landmarks.data.synthetic.common.motion import MOTIONS, draw_motions, interpolate, key_frames
from landmarks.data.synthetic.face.clip import make_face_clip
from landmarks.data.synthetic.hand.clip import make_hand_clip

# ----------------------------------------------------------------------------- helpers


def _motion(clip: Clip) -> tuple[float, float]:
    """Largest per-frame keypoint move (px) and second difference (px / frame^2), labelled keypoints only."""
    speed = accel = 0.0
    for kp, vis in clip.tracks().values():
        seen = vis > 0
        both = seen[1:] & seen[:-1]
        if both.any():
            speed = max(speed, float(np.linalg.norm(kp[1:] - kp[:-1], axis=-1)[both].max()))
        three = seen[2:] & seen[1:-1] & seen[:-2]
        if three.any():
            accel = max(accel, float(np.linalg.norm(kp[2:] - 2 * kp[1:-1] + kp[:-2], axis=-1)[three].max()))
    return speed, accel


def _present(clip: Clip, track_id: int) -> np.ndarray:
    """``(T,)`` bool: the track is listed in frame t."""
    return np.array([any(i.track_id == track_id for i in frame) for frame in clip.instances])


def _assert_ids_stable(clip: Clip, num_tracks: int) -> None:
    """Ids are 1..n, unique per frame, and a track seen in two frames in a row is nearest to itself."""
    for frame in clip.instances:
        ids = [i.track_id for i in frame]
        assert len(ids) == len(set(ids)) and set(ids) <= set(range(1, num_tracks + 1))
    for prev, cur in zip(clip.instances[:-1], clip.instances[1:]):
        for inst in cur:
            cands = [(p, (p.visible > 0) & (inst.visible > 0)) for p in prev]
            cands = [(p, m) for p, m in cands if m.sum() >= 3]  # compared on >= 3 keypoints labelled in both
            if inst.track_id in {p.track_id for p, _ in cands}:
                dists = [np.linalg.norm(p.keypoints - inst.keypoints, axis=1)[m].mean() for p, m in cands]
                assert cands[int(np.argmin(dists))][0].track_id == inst.track_id


def _assert_clip_arrays(clip: Clip, frames: int, size: tuple[int, int], k: int) -> None:
    assert clip.num_frames == len(clip.frames) == frames
    assert all(f.shape == (size[1], size[0], 3) and f.dtype == np.uint8 for f in clip.frames)
    assert len(clip.keypoint_names) == k
    for frame in clip.instances:
        for inst in frame:
            assert inst.keypoints.shape == (k, 2) and inst.keypoints.dtype == np.float32
            assert inst.visible.shape == (k,) and set(np.unique(inst.visible)) <= {0.0, 1.0, 2.0}
            assert np.all(inst.keypoints[inst.visible == 0] == 0)
            x, y, w, h = inst.bbox
            assert x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= size[0] + 1e-3 and y + h <= size[1] + 1e-3


# ----------------------------------------------------------------------------- motion


def test_interpolate_hits_keys_and_matches_hermite_by_hand() -> None:
    # Keys 0, 10, 20 at frames 0, 10, 20: slopes 1 and 1 everywhere -> a straight line.
    line = interpolate(np.array([[0.0], [10.0], [20.0]]), 21)[:, 0]
    assert np.allclose(line, np.arange(21))
    # Keys 0, 10, 0: the middle slope is 0 (direction changes), the end slope 1 px/frame. Hermite on
    # frames 0..10 at s = 0.5: h10 * 10 * 1 + h01 * 10 = 0.125 * 10 + 0.5 * 10 = 6.25.
    peak = interpolate(np.array([[0.0], [10.0], [0.0]]), 21)[:, 0]
    assert peak[5] == pytest.approx(6.25) and peak[10] == 10.0 and peak.max() == 10.0  # no overshoot
    assert list(key_frames(48)) == [0, 23, 47]
    rng = np.random.default_rng(0)  # random keys: never past the keys, never faster than 4/3 of the key speed
    for frames in (5, 48, 49):
        keys = rng.normal(0.0, 10.0, (3, 200))
        curve = interpolate(keys, frames)
        assert (curve <= keys.max(0) + 1e-9).all() and (curve >= keys.min(0) - 1e-9).all()
        key_speed = np.abs(np.diff(keys, axis=0) / np.diff(key_frames(frames))[:, None]).max(0)
        assert (np.abs(np.diff(curve, axis=0)).max(0) <= 4 / 3 * key_speed + 1e-9).all()
    with pytest.raises(ValueError, match="num_frames"):
        key_frames(2)


def test_makers_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="motions"):
        make_body_clip(0, num_frames=4, num_people=2, motions=["stay"])
    with pytest.raises(ValueError, match="motions"):
        make_hand_clip(0, num_frames=4, num_hands=1, motions=["fly"])
    with pytest.raises(ValueError, match="num_faces"):
        make_face_clip(0, num_frames=4, num_faces=9)
    with pytest.raises(ValueError, match="max_yaw"):
        make_face_clip(0, num_frames=4, max_yaw=95.0)
    with pytest.raises(ValueError, match="num_frames"):
        make_body_clip(0, num_frames=2)


# ----------------------------------------------------------------------------- clip makers


def test_body_clip_smooth_ids_stable_people_enter_leave_and_occlude() -> None:
    size, motions = (256, 256), ["stay", "cross", "reenter", "stay"]
    clip = make_body_clip(3, num_frames=48, num_people=4, size=size, motions=motions)
    _assert_clip_arrays(clip, 48, size, 17)
    assert (clip.noun, clip.layout, clip.fps) == ("person", "coco17", 25.0)
    speed, accel = _motion(clip)
    assert speed <= 0.08 * size[0] and accel <= 0.02 * size[0], (speed, accel)
    _assert_ids_stable(clip, 4)
    assert _present(clip, 1).all()
    cross, back = _present(clip, 2), _present(clip, 3)
    assert not cross[0] and cross[20:28].any() and not cross[-1]  # enters, then leaves on the other side
    assert back[0] and back[-1] and not back[18:30].all()  # leaves and comes back with the same id
    assert any((i.visible == 1).any() for frame in clip.instances for i in frame)  # something hides something
    again = make_body_clip(3, num_frames=48, num_people=4, size=size, motions=motions)
    assert np.array_equal(again.frames[30], clip.frames[30])


def test_draw_motions_first_stays_others_move_with_probability() -> None:
    rng = np.random.default_rng(0)
    assert draw_motions(rng, 6, 0.0) == ["stay"] * 6
    moving = draw_motions(rng, 200, 1.0)
    assert moving[0] == "stay" and set(moving[1:]) == set(MOTIONS) - {"stay"}
    mixed = draw_motions(np.random.default_rng(1), 400, 0.5)
    assert 150 < sum(m == "stay" for m in mixed[1:]) < 250


def test_hand_clip_smooth_ids_stable_and_articulating() -> None:
    size = (192, 192)
    clip = make_hand_clip(5, num_frames=48, num_hands=3, size=size, motions=["stay", "leave", "enter"])
    _assert_clip_arrays(clip, 48, size, 21)
    speed, accel = _motion(clip)
    assert speed <= 0.08 * size[0] and accel <= 0.03 * size[0], (speed, accel)
    _assert_ids_stable(clip, 3)
    assert _present(clip, 1).all() and _present(clip, 2)[0] and not _present(clip, 2)[-1]
    assert not _present(clip, 3)[0] and _present(clip, 3)[-1]
    assert all(i.handedness in ("left", "right") for frame in clip.instances for i in frame)
    kp, vis = clip.tracks()[1]
    wrist = kp[:, 0]  # articulation: the fingertips move relative to the wrist
    tips = np.linalg.norm(kp[:, [4, 8, 12, 16, 20]] - wrist[:, None], axis=-1)
    assert (vis[:, [0, 4, 8, 12, 16, 20]] > 0).all() and np.ptp(tips, axis=0).max() > 5.0


def test_face_clip_yaw_sweeps_smoothly_with_euler_per_frame() -> None:
    size = (128, 128)
    clip = make_face_clip(2, num_frames=48, num_faces=2, size=size, motions=["stay", "cross"])
    _assert_clip_arrays(clip, 48, size, 68)
    speed, accel = _motion(clip)
    assert speed <= 0.08 * size[0] and accel <= 0.04 * size[0], (speed, accel)
    _assert_ids_stable(clip, 2)
    yaw = np.array([i.euler[0] for frame in clip.instances for i in frame if i.track_id == 1 and i.euler is not None])
    assert len(yaw) == 48 and np.ptp(yaw) > 40 and yaw.min() < 0 < yaw.max()  # sweeps across frontal
    assert np.abs(np.diff(yaw)).max() < 6.0  # degrees per frame
    cross = _present(clip, 2)
    assert not cross[0] and cross.any() and not cross[-1]


# ----------------------------------------------------------------------------- file format


@pytest.mark.parametrize(
    "make",
    [
        lambda: make_body_clip(1, num_frames=12, num_people=2, size=(96, 80), fps=12.5),
        lambda: make_hand_clip(1, num_frames=6, num_hands=2, size=(64, 64)),
        lambda: make_face_clip(1, num_frames=4, size=(64, 64), layout="wflw98"),
    ],
    ids=["body", "hand", "face"],
)
def test_write_read_round_trip(make, tmp_path) -> None:
    clip = make()
    path = write_clip(clip, str(tmp_path), write_frames=True)
    back = read_clip_annotations(path)
    for name in ("fps", "width", "height", "noun", "layout", "keypoint_names", "skeleton", "description"):
        assert getattr(back, name) == getattr(clip, name), name
    assert back.frames == [] and back.num_frames == clip.num_frames
    for fa, fb in zip(clip.instances, back.instances):
        assert len(fa) == len(fb)
        for a, b in zip(fa, fb):
            assert (a.track_id, a.area, a.handedness) == (b.track_id, b.area, b.handedness)
            for key in ("keypoints", "visible", "bbox", "euler"):
                va, vb = getattr(a, key), getattr(b, key)
                if va is None or vb is None:
                    assert va is None and vb is None, key
                else:
                    assert np.array_equal(va, vb) and va.dtype == vb.dtype, key
    cap = cv2.VideoCapture(os.path.join(tmp_path, "clip.mp4"))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(clip.fps)
    count = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (clip.height, clip.width, 3)
        count += 1
    cap.release()
    assert count == clip.num_frames
    png = cv2.imread(os.path.join(tmp_path, "frames", f"{clip.num_frames - 1:06d}.png"))
    assert png is not None and np.array_equal(png[..., ::-1], clip.frames[-1])  # lossless frames


def test_read_rejects_bad_files_naming_file_record_and_field(tmp_path) -> None:
    clip = make_body_clip(0, num_frames=3, num_people=1, size=(64, 64), motions=["stay"])
    path = write_clip(clip, str(tmp_path))
    data = json.load(open(path))
    assert data["annotations"] and data["images"][2]["frame_index"] == 2
    with pytest.raises(FileNotFoundError, match="nothing.json"):
        read_clip_annotations(str(tmp_path / "nothing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text('{"videos": [')
    with pytest.raises(ValueError, match="broken.json.*not a JSON"):
        read_clip_annotations(str(broken))
    cases = [
        (lambda d: d["annotations"][0].pop("track_id"), r"annotations\[0\]: field 'track_id' is missing"),
        (lambda d: d["annotations"][0]["keypoints"].pop(), r"annotations\[0\]: field 'keypoints' must be a list of 51"),
        (lambda d: d["annotations"][0]["keypoints"].__setitem__(2, 3), r"visibility values must be 0, 1 or 2"),
        (lambda d: d["annotations"][0].__setitem__("image_id", 99), r"annotations\[0\]: field 'image_id'"),
        (lambda d: d["videos"][0].__setitem__("fps", 0), r"videos\[0\]: field 'fps'"),
        (lambda d: d["images"].reverse(), r"images\[0\]: field 'frame_index' must be 0"),
    ]
    for n, (damage, message) in enumerate(cases):
        bad = json.loads(json.dumps(data))
        damage(bad)
        file = tmp_path / f"bad{n}.json"
        file.write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=f"bad{n}.json.*{message}"):
            read_clip_annotations(str(file))
