"""The argument checks every keypoint codec shares (:mod:`landmarks.codecs.protocol`)."""

from __future__ import annotations

import numpy as np
import pytest

from landmarks.codecs.coords import CoordinateCodec
from landmarks.codecs.protocol import input_size_pair, keypoint_encode_inputs
from landmarks.codecs.simcc import SimCCCodec
from landmarks.codecs.visibility import VisibilityCodec


def test_input_size_pair_is_two_ints_of_at_least_two_px() -> None:
    assert input_size_pair((64, 48), "X") == (64, 48)
    for bad in ([64], [64, 1], [2, 2, 2]):
        with pytest.raises(ValueError, match=r"^X: input_size must be \(W, H\) >= 2 px"):
            input_size_pair(bad, "X")


@pytest.mark.parametrize("cls", [CoordinateCodec, SimCCCodec, VisibilityCodec])
def test_codecs_name_themselves_in_input_size_errors(cls: type) -> None:
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: input_size must be \(W, H\) >= 2 px, got \[1, 64\]"):
        cls((1, 64))


def test_keypoint_encode_inputs_shapes_and_errors() -> None:
    kpts, vis = keypoint_encode_inputs(np.array([[1, 2], [3, 4]]), np.array([[2], [0]]), "Y")
    assert kpts.dtype == np.float64 and kpts.shape == (2, 2) and vis.tolist() == [2, 0]
    with pytest.raises(ValueError, match=r"^Y\.encode: expected keypoints \(K, 2\) and visible \(K,\), got \(2, 3\)"):
        keypoint_encode_inputs(np.zeros((2, 3)), np.ones(2), "Y")
    with pytest.raises(ValueError, match=r"^SimCCCodec\.encode: expected keypoints \(K, 2\)"):
        SimCCCodec((32, 32)).encode(np.zeros((3, 2)), np.ones(2))
