"""Tracker: crossing tracks keep their ids, gaps up to max_gap are bridged, longer gaps end a track."""

from __future__ import annotations

import numpy as np
import pytest

from landmarks.inference.tracking import Tracker, box_iou_matrix, hungarian_match

OFFSETS = np.array([[-30.0, -30.0], [30.0, -30.0], [0.0, 30.0]])  # K = 3 around the centre


def instance(cx: float, cy: float) -> tuple[np.ndarray, np.ndarray]:
    """A 100 x 100 px box and its 3 keypoints centred on (cx, cy)."""
    return np.array([cx - 50.0, cy - 50.0, 100.0, 100.0]), OFFSETS + [cx, cy]


def frame(*centres: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    parts = [instance(cx, cy) for cx, cy in centres]
    return np.stack([p[0] for p in parts]).reshape(-1, 4), np.stack([p[1] for p in parts]).reshape(-1, 3, 2)


def run_crossing(tracker: Tracker) -> list[list[int]]:
    """Person 1 moves right 20 px a frame on y = 0, person 2 left on y = 4; they pass at t = 2..3."""
    ids = []
    for t in range(6):
        boxes, kpts = frame((20.0 * t, 0.0), (110.0 - 20.0 * t, 4.0))
        ids.append(tracker.update(boxes, kpts, np.ones(2)).tolist())
    return ids


@pytest.mark.parametrize("similarity", ["oks", "iou"])
def test_crossing_tracks_keep_their_ids(similarity: str) -> None:
    # At t = 3 the detections are at x = 60 (person 1) and x = 50 (person 2). From the last seen
    # positions (40 and 70) the swapped pairs are closer (10.8 px vs 20 px); the constant-velocity
    # predictions (60 and 50) match exactly.
    ids = run_crossing(Tracker(similarity=similarity, min_similarity=0.3))  # type: ignore[arg-type]
    assert ids == [[0, 1]] * 6


def test_last_position_matching_swaps_crossing_tracks() -> None:
    """Why the tracker predicts with constant velocity: without it the ids swap at the crossing."""
    ids = run_crossing(Tracker(similarity="oks", min_similarity=0.3, constant_velocity=False))
    assert ids[:3] == [[0, 1]] * 3
    assert ids[3] == [1, 0]


def test_gap_up_to_max_gap_keeps_the_id() -> None:
    tracker = Tracker(similarity="oks", max_gap=3)
    boxes, kpts = frame((100.0, 100.0))
    assert tracker.update(boxes, kpts).tolist() == [0]
    assert tracker.update(boxes, kpts).tolist() == [0]
    for _ in range(3):  # frames 2, 3, 4 missed: 3 <= max_gap
        assert tracker.update(np.zeros((0, 4)), np.zeros((0, 3, 2))).tolist() == []
        assert tracker.ended == []
    assert tracker.update(boxes, kpts).tolist() == [0]
    assert [t.track_id for t in tracker.active_tracks] == [0]
    assert tracker.active_tracks[0].num_frames == 3


def test_gap_longer_than_max_gap_ends_the_track_and_a_new_id_is_born() -> None:
    tracker = Tracker(similarity="oks", max_gap=3)
    boxes, kpts = frame((100.0, 100.0))
    tracker.update(boxes, kpts)
    tracker.update(boxes, kpts)
    for t in range(2, 6):  # 4 missed frames: the track ends at the 4th (frame 5)
        tracker.update(np.zeros((0, 4)), None)
        assert tracker.ended == ([0] if t == 5 else [])
    assert tracker.active_tracks == []
    (done,) = tracker.finished_tracks
    assert (done.track_id, done.first_frame, done.last_frame, done.end_frame, done.num_frames) == (0, 0, 1, 5, 2)
    assert tracker.update(boxes, kpts).tolist() == [1]  # ids are never reused
    assert tracker.born == [1]


def test_born_ended_and_close() -> None:
    tracker = Tracker(similarity="iou", max_gap=0)
    boxes, _ = frame((0.0, 0.0), (500.0, 0.0))
    assert tracker.update(boxes).tolist() == [0, 1]
    assert tracker.born == [0, 1] and tracker.ended == []
    boxes, _ = frame((0.0, 0.0), (900.0, 0.0))  # the second person jumps: no overlap
    assert tracker.update(boxes).tolist() == [0, 2]
    assert tracker.born == [2] and tracker.ended == [1]  # max_gap 0: one missed frame ends it
    tracks = tracker.close()
    assert [t.track_id for t in tracks] == [0, 1, 2]
    assert sorted(tracker.ended) == [0, 2] and tracker.active_tracks == []
    assert all(t.end_frame is not None for t in tracks)


def test_low_scores_do_not_start_tracks() -> None:
    tracker = Tracker(similarity="iou", min_start_score=0.5)
    boxes, _ = frame((0.0, 0.0), (500.0, 0.0))
    assert tracker.update(boxes, None, np.array([0.9, 0.1])).tolist() == [0, -1]


def test_hungarian_match_rejects_pairs_below_min_similarity() -> None:
    # greedy would take (0, 0) = 0.9 and leave row 1 with 0.1 (rejected); the optimum pairs both
    sim = np.array([[0.9, 0.8], [0.85, 0.1]])
    np.testing.assert_array_equal(hungarian_match(sim, 0.3), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(hungarian_match(np.array([[0.2]]), 0.3), np.zeros((0, 2)))
    assert hungarian_match(np.zeros((0, 3)), 0.3).shape == (0, 2)


def test_box_iou_matrix_hand_values() -> None:
    # [0,0,2,2] vs [1,1,2,2]: intersection 1, union 4 + 4 - 1 = 7
    got = box_iou_matrix(np.array([[0, 0, 2, 2]]), np.array([[1, 1, 2, 2], [0, 0, 2, 2], [5, 5, 1, 1]]))
    np.testing.assert_allclose(got, [[1 / 7, 1.0, 0.0]])


def test_bad_input_names_the_argument() -> None:
    tracker = Tracker(similarity="oks")
    boxes, kpts = frame((0.0, 0.0))
    with pytest.raises(ValueError, match="^keypoints:"):
        tracker.update(boxes, None)
    with pytest.raises(ValueError, match="^boxes:"):
        tracker.update(np.zeros((1, 3)), kpts)
    with pytest.raises(ValueError, match="^scores:"):
        tracker.update(boxes, kpts, np.ones(2))
    with pytest.raises(ValueError, match="^keypoints:"):
        Tracker(sigmas=np.ones(5)).update(boxes, kpts)
    with pytest.raises(ValueError, match="^similarity:"):
        Tracker(similarity="l2")  # type: ignore[arg-type]
