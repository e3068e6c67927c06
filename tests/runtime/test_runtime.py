"""The torch-free runtime: no torch in the process, the same JSON as the tasks, clear errors.

The subprocess test blocks ``torch`` (and Lightning, Hydra, timm) with a meta-path finder before
anything is imported, runs ``python -m landmarks.runtime`` on a real COCO photo and checks
``sys.modules`` afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from landmarks.runtime import Runtime, SidecarError, load_sidecar  # noqa: E402
from landmarks.runtime.entries import frame_entries  # noqa: E402
from landmarks.runtime.runner import as_rgb_uint8  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BLOCKER = """
import sys, runpy
class Block:
    BANNED = ("torch", "pytorch_lightning", "lightning", "hydra", "timm", "torchmetrics", "omegaconf")
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.BANNED:
            raise ImportError(f"blocked in this test: {name}")
        return None
sys.meta_path.insert(0, Block())
sys.argv = ["landmarks.runtime", *sys.argv[1:]]
try:
    runpy.run_module("landmarks.runtime", run_name="__main__")
finally:
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in Block.BANNED)
    print("BANNED_LOADED=" + ",".join(loaded))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, object]:
    from landmarks.export import export_model
    from tests.export.test_parity import build_tiny

    tmp = tmp_path_factory.mktemp("runtime")
    model = build_tiny("face_head_pose", tmp)
    return export_model(model, str(tmp / "export"))["onnx"], model


@pytest.mark.slow
def test_runs_on_a_real_photo_with_torch_unimportable(
    exported: tuple[str, object], realdata: Path, tmp_path: Path
) -> None:
    onnx_path, _ = exported
    photo = realdata / "coco" / "000000196141.jpg"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            BLOCKER,
            onnx_path,
            str(photo),
            "--out",
            str(tmp_path / "out"),
            "--boxes",
            "30,40,200,300",
            "250,60,180,260",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "BANNED_LOADED=\n" in proc.stdout, proc.stdout
    entries = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert [e["task"] for e in entries] == ["face", "face"]
    for e in entries:
        assert len(e["keypoints"]) == 68 * 3 and len(e["keypoint_scores"]) == 68
        assert set(("euler", "yaw", "pitch", "roll", "bbox", "score", "box_source")) <= set(e)
        assert e["euler"] == [e["yaw"], e["pitch"], e["roll"]]
    assert (tmp_path / "out" / "overlays" / "000000196141.png").is_file()


def test_entries_equal_the_tasks_to_json(exported: tuple[str, object], realdata: Path) -> None:
    """Runtime JSON fields == Task.to_json of the PyTorch prediction (values to 1e-3)."""
    import cv2
    import torch

    from landmarks.types import Prediction

    onnx_path, model = exported
    runtime = Runtime(onnx_path)
    image = cv2.cvtColor(cv2.imread(str(realdata / "coco" / "000000196141.jpg")), cv2.COLOR_BGR2RGB)
    boxes = np.array([[30, 40, 200, 300]], np.float32)
    entries, overlay = frame_entries(runtime, image, boxes, box_source="det_file", file_name="x.jpg")
    crops, centers, scales = runtime.crop(image, boxes)
    batch = {
        "image": torch.from_numpy(crops.astype(np.uint8)),
        "meta": {"center": centers, "scale": scales, "rot": np.zeros(1, np.float32)},
    }
    with torch.no_grad():
        preds = model.predict_batch(batch)
    expected = {
        **model.tasks["head_pose"].to_json(preds["head_pose"], 0),
        **model.tasks["face"].to_json(preds["face"], 0),
    }
    assert (
        len(entries) == 1
        and entries[0]["box_source"] == "det_file"
        and entries[0]["bbox"] == [30.0, 40.0, 200.0, 300.0]
    )
    for key, value in expected.items():
        np.testing.assert_allclose(np.asarray(entries[0][key], float), np.asarray(value, float), atol=2e-3, err_msg=key)
    assert overlay.shape == image.shape and overlay.dtype == np.uint8 and (overlay != image).any()
    assert isinstance(preds["face"], Prediction)


def test_overlay_drawing_equals_viz(realdata: Path) -> None:
    from landmarks import viz
    from landmarks.layouts.face import ibug68
    from landmarks.runtime import draw

    spec = ibug68()
    layout = {"keypoints": list(spec.names), "skeleton": [list(p) for p in spec.skeleton]}
    image = np.full((120, 160, 3), 40, np.uint8)
    rng = np.random.default_rng(0)
    kpts = rng.uniform(10, 110, size=(68, 2))
    scores = rng.uniform(0, 1, size=68)
    assert np.array_equal(
        draw.draw_keypoints(image, kpts, scores, layout), viz.draw_keypoints(image, kpts, scores, spec)
    )
    hollow = rng.uniform(0, 1, size=68) < 0.5  # predicted occluded: rings
    assert np.array_equal(
        draw.draw_keypoints(image, kpts, scores, layout, hollow=hollow),
        viz.draw_keypoints(image, kpts, scores, spec, hollow=hollow),
    )
    for euler in ([10.0, -20.0, 5.0], [-60.0, 30.0, -40.0]):
        assert np.array_equal(
            draw.draw_head_pose(image, np.array(euler), (80, 60), 40),
            viz.draw_head_pose(image, np.array(euler), (80, 60), size=40),
        )


def test_missing_sidecar_names_the_expected_path(tmp_path: Path) -> None:
    onnx_path = tmp_path / "model.onnx"
    onnx_path.write_bytes(b"")
    with pytest.raises(SidecarError, match=f"expected '{tmp_path / 'model.json'}'"):
        Runtime(str(onnx_path))


def test_sidecar_of_another_format_version_is_refused(exported: tuple[str, object], tmp_path: Path) -> None:
    onnx_path, _ = exported
    meta = json.loads(Path(onnx_path).with_suffix(".json").read_text())
    meta["format_version"] = 99
    (tmp_path / "model.onnx").write_bytes(Path(onnx_path).read_bytes())
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(SidecarError, match=r"'format_version' is 99 but this runtime reads versions 1, 2"):
        load_sidecar(str(tmp_path / "model.onnx"))


def test_sidecar_of_version_1_still_loads_and_predicts(
    exported: tuple[str, object], tmp_path: Path, realdata: Path
) -> None:
    """Version 2 only added the task kind ``visibility``: a version-1 export (no such task) reads as before."""
    import cv2

    onnx_path, _ = exported
    bgr = cv2.imread(str(realdata / "coco" / "000000196141.jpg"))
    assert bgr is not None
    meta = json.loads(Path(onnx_path).with_suffix(".json").read_text())
    assert meta["format_version"] == 2
    meta["format_version"] = 1
    (tmp_path / "model.onnx").write_bytes(Path(onnx_path).read_bytes())
    (tmp_path / "model.json").write_text(json.dumps(meta))
    image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    old, new = Runtime(str(tmp_path / "model.onnx")), Runtime(onnx_path)
    box = np.array([[30, 40, 200, 300]], np.float32)
    entries, _ = frame_entries(old, image, box)
    assert entries == frame_entries(new, image, box)[0] and "keypoint_visibility" not in entries[0]


def test_gray_and_rgba_images_are_converted_and_floats_refused(exported: tuple[str, object]) -> None:
    rgb = np.random.default_rng(1).integers(0, 255, size=(50, 40, 3), dtype=np.uint8)
    gray = rgb[:, :, 0]
    assert as_rgb_uint8(gray).shape == (50, 40, 3) and np.array_equal(as_rgb_uint8(gray)[:, :, 2], gray)
    rgba = np.concatenate([rgb, np.full((50, 40, 1), 7, np.uint8)], axis=2)
    assert np.array_equal(as_rgb_uint8(rgba), rgb)
    with pytest.raises(ValueError, match=r"expected uint8 pixels 0\.\.255, got dtype float32"):
        as_rgb_uint8(rgb.astype(np.float32) / 255)
    with pytest.raises(ValueError, match=r"got shape \(50, 40, 2\)"):
        as_rgb_uint8(rgb[:, :, :2])
    runtime = Runtime(exported[0])
    a, b = runtime.predict(rgba)["face"], runtime.predict(rgb)["face"]
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
