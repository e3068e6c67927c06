"""What the file readers share: the policy's keep / none_kept, InstanceReader, box_sample, load_coco_image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from landmarks.data.formats.coco_records import load_coco_image
from landmarks.data.formats.errors import AnnotationError, BadSamplePolicy
from landmarks.data.formats.reader import InstanceReader, box_sample


def _even(n: int) -> int:
    if n % 2:
        raise AnnotationError("f.txt", "n", "an even number", n, f"line {n}")
    return 10 * n


def test_keep_leaves_out_bad_records_in_skip_mode_and_raises_in_error_mode() -> None:
    skip = BadSamplePolicy("skip")
    assert skip.keep(range(5), _even) == [0, 20, 40] and skip.skipped == 2
    err = skip.none_kept("f.txt", "n", "an even number", "5 lines")
    assert "0 faces (5 lines, 2 bad and skipped)" in str(err) and err.field == "n"
    with pytest.raises(AnnotationError, match=r"line 1"):
        BadSamplePolicy("error").keep(range(5), _even)


class _Pairs(InstanceReader):
    def __init__(self) -> None:
        self._policy = BadSamplePolicy("skip", owner="_Pairs(test)")
        self._instances = [1, 2]

    def _load(self, index: int) -> Any:
        if self._instances[index] == 1:
            raise AnnotationError("img1.png", "image", "a loadable image", "none")
        empty = np.zeros(4, np.float32)
        return box_sample(np.zeros((2, 2, 3), np.uint8), empty.reshape(2, 2), empty[:2], empty, index, index, "")


def test_instance_reader_wraps_indices_skips_unloadable_and_counts() -> None:
    reader = _Pairs()
    assert len(reader) == 2 and reader[-1].get("id") == 1
    assert reader[0].get("id") == 1 and reader.skipped_counts == {"bad_sample": 1}  # 0 fails: the next one
    with pytest.raises(IndexError, match=r"_Pairs\(test\): index 2"):
        reader[2]


def test_box_sample_copies_and_takes_the_box_area() -> None:
    kp, vis, box = np.ones((3, 2), np.float32), np.full(3, 2.0, np.float32), np.array([1, 2, 4, 5], np.float32)
    s: dict[str, Any] = dict(box_sample(np.zeros((8, 8, 3), np.uint8), kp, vis, box, 7, 9, "a.png"))
    assert s["area"] == 20.0 and s["score"] == 1.0 and (s["image_id"], s["id"], s["path"]) == (7, 9, "a.png")
    kp[0, 0] = 5.0
    assert s["keypoints"][0, 0] == 1.0 and s["bbox"] is not box


def test_load_coco_image_checks_the_size_the_record_gives(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.zeros((3, 4, 3), np.uint8))
    assert load_coco_image(str(path), {"width": 4, "height": 3}, 1, "ann.json").shape == (3, 4, 3)
    with pytest.raises(AnnotationError, match=r"ann\.json \(image id 1\): field 'images\[\]\.width/height'.*5x3"):
        load_coco_image(str(path), {"width": 5, "height": 3}, 1, "ann.json")
