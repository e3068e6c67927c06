"""Flip pairs derived from left/right names: one test per naming style, and the errors."""

from __future__ import annotations

import pytest

from landmarks.convert.flip_pairs import derive_flip_pairs
from landmarks.convert.skeletons import builtin_layouts, load_layout
from landmarks.data.formats.errors import AnnotationError


@pytest.mark.parametrize(
    "names, pairs",
    [
        (["nose", "left_eye", "right_eye"], [("left_eye", "right_eye")]),  # left_ prefix
        (["nose", "Left-Eye", "Right-Eye"], [("Left-Eye", "Right-Eye")]),  # Left- prefix
        (["leftEye", "rightEye", "mouth"], [("leftEye", "rightEye")]),  # camel prefix
        (["eye_left", "eye_right"], [("eye_left", "eye_right")]),  # _left suffix
        (["eyeRight", "eyeLeft"], [("eyeRight", "eyeLeft")]),  # camel suffix
        (["front_left_paw", "front_right_paw", "tail"], [("front_left_paw", "front_right_paw")]),  # inside
        (["hip_l", "hip_r", "knee_L", "knee_R"], [("hip_l", "hip_r"), ("knee_L", "knee_R")]),  # _l / _L suffix
        (["l_hip", "r_hip"], [("l_hip", "r_hip")]),  # l_ prefix
        (["hand_L_tip", "hand_R_tip"], [("hand_L_tip", "hand_R_tip")]),  # _L_ inside
        (["LShoulder", "RShoulder", "Neck"], [("LShoulder", "RShoulder")]),  # L prefix (camel)
        (["ShoulderR", "ShoulderL"], [("ShoulderR", "ShoulderL")]),  # R suffix (camel)
        (["leftear", "rightear", "snout"], [("leftear", "rightear")]),  # DLC style, no separator
    ],
)
def test_each_naming_style(names: list[str], pairs: list[tuple[str, str]]) -> None:
    assert derive_flip_pairs(names) == pairs


def test_words_that_only_look_sided_are_not_pairs() -> None:
    assert derive_flip_pairs(["LED", "leftover", "copyright", "Root", "tail"]) == []


def test_ambiguous_names_are_an_error_listing_them() -> None:
    with pytest.raises(AnnotationError) as err:
        derive_flip_pairs(["left_arm_r", "right_arm_r", "left_arm_l", "head"], source="layout.xml")
    message = str(err.value)
    assert message.startswith("layout.xml: field 'keypoint names'")
    assert "ambiguous names: left_arm_r -> left_arm_l / right_arm_r" in message


def test_a_side_without_its_mirror_is_an_error() -> None:
    with pytest.raises(AnnotationError, match=r"no counterpart for: left_wing \(no right_wing\), hip_l \(no hip_r\)"):
        derive_flip_pairs(["left_wing", "hip_l", "tail"])


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in builtin_layouts()
        if n not in ("wholebody_face", "wholebody133", "wholebody_lefthand", "wholebody_righthand")
    ],
)
def test_builtin_layout_flip_pairs_agree_with_their_names(name: str) -> None:
    spec = load_layout(name)
    derived = {frozenset(p) for p in derive_flip_pairs(list(spec.names))}
    assert derived == {frozenset((spec.names[a], spec.names[b])) for a, b in spec.flip_pairs}
