"""Contract tests every synthetic renderer passes (body, hand, face).

Image ``index`` of a split is the same picture and labels in any order, in a twin source and in
a pickled copy; another split or seed draws other pictures; an index past the end and an unknown
split are refused. A sibling renderer adds one entry to :data:`RENDERERS`; its own test file
checks what only it draws.
"""

from __future__ import annotations

from typing import Any

import pytest

from landmarks.data.synthetic.body.renderer import SyntheticBodySource
from landmarks.data.synthetic.face.renderer import SyntheticFaceSource
from landmarks.data.synthetic.hand.renderer import SyntheticHandSource
from tests.data.synthetic.synthetic_checks import (
    assert_deterministic,
    assert_disjoint_streams,
    assert_rejects_bad_index_and_split,
)

#: name -> (renderer class, its arguments (sides not square, so a W/H swap shows), images compared across splits)
RENDERERS: dict[str, tuple[type, dict[str, Any], int]] = {
    "body": (SyntheticBodySource, {"image_size": (192, 160), "max_people": 3}, 8),
    "hand": (SyntheticHandSource, {"image_size": (224, 192)}, 8),
    "face": (SyntheticFaceSource, {"image_size": (160, 160)}, 6),
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_same_index_gives_identical_image_and_labels(name: str) -> None:
    cls, kwargs, _ = RENDERERS[name]
    assert_deterministic(cls(num_images=100, seed=3, **kwargs), cls(num_images=100, seed=3, **kwargs))


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_split_and_seed_are_disjoint_streams(name: str) -> None:
    cls, kwargs, n = RENDERERS[name]
    train, val = cls(num_images=100, seed=3, **kwargs), cls(num_images=100, split="val", seed=3, **kwargs)
    assert_disjoint_streams(train, val, cls(num_images=100, seed=4, **kwargs), n)


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_bad_index_and_split_are_refused(name: str) -> None:
    cls, kwargs, _ = RENDERERS[name]
    assert_rejects_bad_index_and_split(cls(num_images=10, **kwargs), cls)
