"""A truncated or corrupt image is a bad sample: named file, clear reason (not grey rows).

Damaged copies of the real photos in ``shared/realdata`` are written to ``tmp_path``;
``cv2.imread`` decodes the truncated JPEG without an error (the lower rows flat grey),
which is what :func:`load_image_rgb` must refuse.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from landmarks.data.formats.coco import CocoKeypointSource
from landmarks.data.formats.errors import AnnotationError, load_image_rgb
from landmarks.data.formats.image_check import image_problem, jpeg_problem, png_problem

COCO_JPG = "coco/000000000785.jpg"  # 640 x 425, 133674 bytes
PNG = "300w/indoor_020.png"


def _copy(realdata: Path, rel: str, dst: Path, keep: float = 1.0) -> tuple[Path, bytes]:
    data = (realdata / rel).read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst, data


def test_intact_images_decode_as_imread(realdata: Path) -> None:
    for rel in (COCO_JPG, PNG, "mpii/060754485.jpg"):
        path = str(realdata / rel)
        expected = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(load_image_rgb(path), expected)


def test_truncated_jpeg_is_refused_with_file_and_reason(realdata: Path, tmp_path: Path) -> None:
    path, data = _copy(realdata, COCO_JPG, tmp_path / "half.jpg", keep=0.5)
    grey = cv2.imread(str(path))  # what OpenCV alone does: no error, lower rows flat grey
    assert grey is not None and grey.shape == (425, 640, 3) and (grey[-20:] == 128).all()
    with pytest.raises(AnnotationError) as info:
        load_image_rgb(str(path), field="images[].file_name", source="ann.json")
    err = info.value
    assert err.file == str(path) and err.field == "images[].file_name" and err.where == "named by ann.json"
    assert f"a file of {len(data) // 2} bytes: JPEG: no end-of-image marker (FF D9)" in str(err)
    assert "(truncated)" in str(err) and "expected a complete image file" in str(err)


@pytest.mark.parametrize("keep", [0.02, 0.3, 0.9, 0.9999])
def test_jpeg_cut_anywhere_is_found(realdata: Path, keep: float) -> None:
    data = (realdata / COCO_JPG).read_bytes()
    assert jpeg_problem(data) is None
    problem = jpeg_problem(data[: int(len(data) * keep)])
    assert problem is not None and "truncated" in problem


def test_jpeg_with_a_foreign_marker_in_its_data_is_corrupt(realdata: Path) -> None:
    data = bytearray((realdata / COCO_JPG).read_bytes())
    pos = len(data) // 2
    data[pos : pos + 2] = b"\xff\x12"  # FF 12 is no JPEG marker; inside scan data it cannot occur
    problem = jpeg_problem(bytes(data))
    assert problem is not None and problem.startswith(f"byte {pos}: expected a JPEG marker") and "FF 12" in problem


def test_hand_made_jpeg_structures() -> None:
    soi, eoi = b"\xff\xd8", b"\xff\xd9"
    app0 = b"\xff\xe0\x00\x04ab"  # a segment of length 4 (2 length bytes + 2 data bytes)
    sos = b"\xff\xda\x00\x02"
    assert jpeg_problem(soi + app0 + sos + b"\x12\xff\x00\x34\xff\xd0\x56" + eoi) is None  # stuffed FF 00, RST0
    assert jpeg_problem(soi + app0 + eoi + b"trailing camera padding") is None
    assert jpeg_problem(soi + b"\xff\xe0\x00\x10ab") == (
        "marker FF E0 at byte 2 declares 16 bytes; the file ends at byte 8 (truncated or corrupt)"
    )
    assert jpeg_problem(soi + app0 + sos + b"\x12\x34") == (
        "no end-of-image marker (FF D9): the file ends inside the compressed data at byte 14 (truncated)"
    )
    assert jpeg_problem(soi + app0) == (
        "no end-of-image marker (FF D9): the file ends at byte 8 between segments (truncated)"
    )
    assert image_problem(b"BM not checked") is None  # other formats are left to the decoder


def test_truncated_and_damaged_png_are_refused(realdata: Path, tmp_path: Path) -> None:
    path, data = _copy(realdata, PNG, tmp_path / "half.png", keep=0.5)
    with pytest.raises(AnnotationError, match=r"half\.png.*PNG: no IEND chunk: the file ends inside chunk 'IDAT'"):
        load_image_rgb(str(path))
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0x01  # one bit in the compressed data
    assert png_problem(bytes(damaged)) is not None and "fails its CRC-32 check (corrupt)" in png_problem(bytes(damaged))
    (tmp_path / "bit.png").write_bytes(bytes(damaged))
    with pytest.raises(AnnotationError, match=r"bit\.png.*'IDAT' at byte \d+ fails its CRC-32 check"):
        load_image_rgb(str(tmp_path / "bit.png"))


def test_empty_file_is_not_decodable(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(AnnotationError, match=r"empty\.jpg.*a file of 0 bytes that OpenCV cannot decode"):
        load_image_rgb(str(tmp_path / "empty.jpg"))


# ---------------------------------------------------------------------------- through a reader
def _coco_with_a_truncated_image(realdata: Path, root: Path) -> Path:
    data = (realdata / COCO_JPG).read_bytes()
    (root / "good.jpg").write_bytes(data)
    (root / "cut.jpg").write_bytes(data[: len(data) // 3])
    kpts = [v for j in range(17) for v in (300.0 + j, 200.0, 2)]
    images = [{"id": i + 1, "file_name": n, "width": 640, "height": 425} for i, n in enumerate(["good.jpg", "cut.jpg"])]
    anns = [
        {
            "id": 10 + i,
            "image_id": i + 1,
            "bbox": [250.0, 100.0, 120.0, 200.0],
            "keypoints": kpts,
            "num_keypoints": 17,
            "iscrowd": 0,
            "area": 24000.0,
            "category_id": 1,
        }
        for i in range(2)
    ]
    path = root / "ann.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}))
    return path


def test_reader_error_mode_names_the_truncated_file(realdata: Path, tmp_path: Path) -> None:
    ann = _coco_with_a_truncated_image(realdata, tmp_path)
    src = CocoKeypointSource(str(ann), str(tmp_path))
    assert src[0]["image"].shape == (425, 640, 3)
    with pytest.raises(AnnotationError) as info:
        src[1]
    msg = str(info.value)
    assert str(tmp_path / "cut.jpg") in msg and "named by" in msg and str(ann) in msg and "truncated" in msg


def test_reader_skip_mode_logs_the_truncated_file_once(
    realdata: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ann = _coco_with_a_truncated_image(realdata, tmp_path)
    src = CocoKeypointSource(str(ann), str(tmp_path), on_bad_sample="skip")
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        samples = [src[1], src[1], src[0]]
    assert [s["id"] for s in samples] == [10, 10, 10]  # the next loadable instance instead
    warnings = [r.getMessage() for r in caplog.records if r.name == "landmarks.data"]
    assert len(warnings) == 1 and "cut.jpg" in warnings[0] and "no end-of-image marker" in warnings[0]
    assert src.skipped_counts["bad_sample"] == 1
