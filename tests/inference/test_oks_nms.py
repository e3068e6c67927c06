"""OKS, rescoring, OKS-NMS and soft-OKS-NMS against a hand-computed case of three poses."""

from __future__ import annotations

import numpy as np
import pytest

from landmarks.inference.oks_nms import oks, oks_nms, rescore, soft_oks_nms
from landmarks.metrics.oks import oks as pair_oks

# Three poses of K = 2 keypoints, sigmas 0.5 (so (2 sigma)^2 = 1) and areas 1 (scale s = 1):
# OKS = mean_i exp(-d_i^2 / (2 s (2 sigma)^2)) = mean_i exp(-d_i^2 / 2).
#   A = [(0, 0), (1, 0)]                       score 0.9 (index 1)
#   B = A + (0.5, 0): d^2 = 0.25, 0.25         score 0.8 (index 0)
#   C = A + (0, 2):   d^2 = 4, 4               score 0.7 (index 2)
# OKS(A, B) = exp(-0.125) = 0.882497
# OKS(A, C) = exp(-2)     = 0.135335
# OKS(B, C) = d^2 = 0.25 + 4 = 4.25 -> exp(-2.125) = 0.119433
A = np.array([[0.0, 0.0], [1.0, 0.0]])
POSES = np.stack([A + [0.5, 0.0], A, A + [0.0, 2.0]])
SCORES = np.array([0.8, 0.9, 0.7])
AREAS = np.ones(3)
SIGMAS = np.array([0.5, 0.5])


def test_oks_one_against_many_matches_hand_values_and_metrics_oks() -> None:
    got = oks(A, POSES, 1.0, AREAS, SIGMAS)
    np.testing.assert_allclose(got, [0.882497, 1.0, 0.135335], atol=1e-6)
    assert got[2] == pytest.approx(pair_oks(POSES[2], A, np.ones(2), 1.0, SIGMAS))
    # only keypoint 0 visible: B still 0.882497 (both keypoints move alike), the scale uses mean areas
    np.testing.assert_allclose(
        oks(A, POSES[:1], 1.0, np.array([3.0]), SIGMAS, visible=np.array([1, 0])), [np.exp(-0.25 / 4)]
    )


def test_oks_nms_hand_case() -> None:
    # visit A (0.9): suppress B (0.8825 > 0.5), keep C (0.1353 <= 0.5)
    np.testing.assert_array_equal(oks_nms(POSES, SCORES, AREAS, SIGMAS, thr=0.5), [1, 2])
    # thr 0.9: nothing overlaps that much; order is by score
    np.testing.assert_array_equal(oks_nms(POSES, SCORES, AREAS, SIGMAS, thr=0.9), [1, 0, 2])


def test_soft_oks_nms_gaussian_hand_case() -> None:
    # sigma 0.5: factor exp(-OKS^2 / 0.5), and OKS^2 = exp(-2x) here.
    # keep A 0.9; B: 0.8 * exp(-exp(-0.25) / 0.5) = 0.8 * exp(-1.557602) = 0.8 * 0.210641 = 0.168513
    #            C: 0.7 * exp(-exp(-4) / 0.5)    = 0.7 * exp(-0.036631) = 0.674822
    # keep C 0.674822; B: 0.168513 * exp(-exp(-4.25) / 0.5) = 0.168513 * 0.971875 = 0.163773; keep B
    keep, scores = soft_oks_nms(POSES, SCORES, AREAS, SIGMAS, method="gaussian", sigma=0.5)
    np.testing.assert_array_equal(keep, [1, 2, 0])
    np.testing.assert_allclose(scores, [0.9, 0.674822, 0.163773], atol=1e-6)
    keep, _ = soft_oks_nms(POSES, SCORES, AREAS, SIGMAS, sigma=0.5, score_thr=0.17)
    np.testing.assert_array_equal(keep, [1, 2])  # B decayed below the score threshold
    keep, _ = soft_oks_nms(POSES, SCORES, AREAS, SIGMAS, max_dets=1)
    np.testing.assert_array_equal(keep, [1])


def test_soft_oks_nms_linear_hand_case() -> None:
    # thr 0.3: B decays by (1 - 0.882497) -> 0.8 * 0.117503 = 0.094002; C (0.1353 < 0.3) and then B
    # against C (0.1194 < 0.3) are unchanged
    keep, scores = soft_oks_nms(POSES, SCORES, AREAS, SIGMAS, thr=0.3, method="linear")
    np.testing.assert_array_equal(keep, [1, 2, 0])
    np.testing.assert_allclose(scores, [0.9, 0.7, 0.094002], atol=1e-6)


def test_rescore_box_times_mean_of_confident_keypoints() -> None:
    # row 0: 0.5 and 0.9 are > 0.2 -> 0.9 * 0.7 = 0.63; row 1: none > 0.2 (0.2 is not) -> 0
    got = rescore(np.array([0.9, 0.5]), np.array([[0.1, 0.5, 0.9], [0.1, 0.2, 0.15]]), thr=0.2)
    np.testing.assert_allclose(got, [0.63, 0.0])


def test_empty_inputs() -> None:
    empty = np.zeros((0, 2, 2))
    assert oks_nms(empty, np.zeros(0), np.zeros(0), SIGMAS).shape == (0,)
    keep, scores = soft_oks_nms(empty, np.zeros(0), np.zeros(0), SIGMAS)
    assert keep.shape == scores.shape == (0,)
    assert rescore(np.zeros(0), np.zeros((0, 17))).shape == (0,)
    assert oks(A, empty, 1.0, np.zeros(0), SIGMAS).shape == (0,)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: oks_nms(POSES[:, :1], SCORES, AREAS, SIGMAS), "kpts"),
        (lambda: oks_nms(POSES, SCORES[:2], AREAS, SIGMAS), "kpts"),
        (lambda: oks_nms(POSES, SCORES, AREAS[:2], SIGMAS), "areas"),
        (lambda: soft_oks_nms(POSES, SCORES, AREAS, SIGMAS, method="box"), "method"),  # type: ignore[arg-type]
        (lambda: rescore(SCORES, np.ones((2, 3))), "kpt_scores"),
        (lambda: oks(A[:1], POSES, 1.0, AREAS, SIGMAS), "kpts_a"),
        (lambda: oks(A, POSES, 1.0, AREAS[:1], SIGMAS), "areas_b"),
    ],
)
def test_wrong_shapes_name_the_argument(call, name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}:"):
        call()
