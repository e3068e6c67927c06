"""CrowdPose / AI Challenger layouts: the published OKS sigmas and well-formed flip pairs."""

from __future__ import annotations

import numpy as np

from landmarks.layouts.body_extra import aic14, crowdpose14

# crowdposetools/cocoeval.py (also mmpose's configs/_base_/datasets/crowdpose.py), written out by hand
CROWDPOSE_PUBLISHED = [0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.079, 0.079]


def test_crowdpose_sigmas_are_the_published_ones() -> None:
    spec = crowdpose14()
    assert spec.num_keypoints == 14 and spec.names[-2:] == ("head_top", "neck")
    np.testing.assert_allclose(spec.sigmas, CROWDPOSE_PUBLISHED, rtol=0, atol=1e-12)


def test_flip_pairs_map_left_to_right_and_back() -> None:
    for spec in (crowdpose14(), aic14()):
        flip = np.asarray(spec.flip_indices)
        assert (flip[flip] == np.arange(spec.num_keypoints)).all(), spec.name
        for i, j in enumerate(flip):
            a, b = spec.names[i], spec.names[j]
            assert a == b or {a.split("_")[0], b.split("_")[0]} == {"left", "right"}, (spec.name, a, b)
