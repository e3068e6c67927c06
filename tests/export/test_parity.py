"""Exported graphs give Task.predict's numbers: every task kind, real photos, ORT and OpenCV DNN.

Each case builds a tiny model (resnet18 at 64x64, random weights, seeded) from its
``conf/task/*.yaml``, exports it with :func:`landmarks.export.export_model` (flip test off) and
runs :class:`landmarks.runtime.Runtime` on real photos from ``../shared/realdata`` with two
boxes each; PyTorch gets the very same crops and ``Task.predict`` unwarps them. Bounds
(measured, the worst over the cases at the time of writing in the comments): keypoints 1e-3 image
px (seen: 4e-4, heatmap DARK in float32 in both), scores 1e-4, angles 1e-3 degrees (seen: 5e-6),
rotation 1e-5. OpenCV DNN: within 1e-2 px where it loads the graph, else its error must name the op.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")

from hydra import compose, initialize_config_dir  # noqa: E402

from landmarks import run  # noqa: E402
from landmarks.export import ExportError, export_model  # noqa: E402
from landmarks.geometry import euler_to_matrix  # noqa: E402
from landmarks.runtime import Runtime  # noqa: E402

CONF = Path(__file__).resolve().parents[2] / "conf"
CASES = {  # case -> (task file, extra overrides)
    "body": ("body", []),
    "body_udp_quarter": (
        "body",
        [
            "tasks.body.codec._target_=landmarks.codecs.heatmap.UDPHeatmap",
            "~tasks.body.codec.unbiased",
            "tasks.body.codec.refine=quarter",
        ],
    ),
    "hand": ("hand", []),
    "hand_integral": ("hand", ["tasks.hand.decode=integral"]),
    "face": ("face", []),
    "face_heatmap": ("face_heatmap", []),
    "head_pose": ("head_pose", []),
    "head_pose_6d": ("head_pose_6d", []),
    "face_head_pose": ("face_head_pose", []),
    "body_visibility": ("body_visibility", []),
    "custom": ("custom", []),
}
PHOTOS = [
    ("coco/000000196141.jpg", [[30, 40, 200, 300], [250, 60, 180, 260]]),
    ("aflw/face_alignment_aflw-test.jpg", [[10, 20, 120, 140], [40, 30, 90, 110]]),
]


def build_tiny(case: str, tmp: Path) -> Any:
    """The case's model, random weights (seed 0), eval mode."""
    task_file, extra = CASES[case]
    if task_file == "custom":
        layout = tmp / "layout.yaml"
        layout.write_text(
            "keypoints: [tip, left_jaw, right_jaw, hinge, tail]\nflip_pairs: [[left_jaw, right_jaw]]\n"
            "skeleton: [[tip, hinge], [hinge, tail], [left_jaw, hinge], [right_jaw, hinge]]\n"
            "sigmas: [0.05, 0.05, 0.05, 0.08, 0.1]\n"
        )
        extra = [*extra, f"spec_file={layout}", f"data.root={tmp}"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                f"task={task_file}",
                "backbone=resnet18",
                "input_size=[64,64]",
                "output_dir=/tmp/unused",
                "logger=csv",
                *extra,
            ],
        )
    torch.manual_seed(0)
    return run.build_model(cfg).eval()


def photo(realdata: Path, rel: str) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(realdata / rel))
    assert bgr is not None, realdata / rel
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def torch_predictions(model: Any, runtime: Runtime, image: np.ndarray, boxes: np.ndarray) -> dict[str, Any]:
    """Task.predict on the runtime's own crops (so only the graph and the unwarp are compared)."""
    crops, centers, scales = runtime.crop(image, boxes)
    batch = {
        "image": torch.from_numpy(crops.astype(np.uint8)),
        "meta": {"center": centers, "scale": scales, "rot": np.zeros(len(boxes), np.float32)},
    }
    with torch.no_grad():
        return model.predict_batch(batch)


def compare(model: Any, runtime: Runtime, realdata: Path, kp_tol: float, angle_tol: float) -> dict[str, float]:
    """Worst differences; keypoints in crop px (image px divided by the box's image px per crop px,
    so the bound does not grow with the photo's resolution: the unwarp is the same numpy code)."""
    worst = {"kp": 0.0, "score": 0.0, "angle": 0.0, "rotation": 0.0, "visibility": 0.0}
    for rel, boxes in PHOTOS:
        image = photo(realdata, rel)
        boxes = np.asarray(boxes, np.float32)
        ours, ref = runtime.predict(image, boxes), torch_predictions(model, runtime, image, boxes)
        assert set(ours) == set(ref)
        for name, p in ours.items():
            r = ref[name]
            assert p.keypoints.shape == r.keypoints.shape and p.scores.shape == r.scores.shape
            if p.keypoints.shape[1]:
                _, _, scales = runtime.crop(image, boxes)
                per_px = (scales / np.asarray(runtime.input_size, np.float32)).max(axis=1)  # image px per crop px
                err = np.abs(p.keypoints - r.keypoints).max(axis=(1, 2)) / per_px
                worst["kp"] = max(worst["kp"], float(err.max()))
                worst["score"] = max(worst["score"], float(np.abs(p.scores - r.scores).max()))
            if "euler" in r.extras:
                euler = np.asarray(r.extras["euler"], np.float64)
                worst["angle"] = max(worst["angle"], float(np.abs(p.extras["euler"] - euler).max()))
                matrix = euler_to_matrix(euler[:, 0], euler[:, 1], euler[:, 2])
                worst["rotation"] = max(worst["rotation"], float(np.abs(p.rotation - matrix).max()))
            if "visibility" in r.extras:  # probabilities (N, K)
                diff = np.abs(p.extras["visibility"] - np.asarray(r.extras["visibility"]))
                worst["visibility"] = max(worst["visibility"], float(diff.max()))
    assert worst["kp"] <= kp_tol, worst
    assert worst["score"] <= 1e-4, worst
    assert worst["angle"] <= angle_tol, worst
    assert worst["rotation"] <= 1e-4, worst
    assert worst["visibility"] <= 1e-5, worst
    return worst


@pytest.mark.parametrize("case", sorted(CASES))
def test_onnxruntime_equals_task_predict_on_real_photos(case: str, tmp_path: Path, realdata: Path) -> None:
    model = build_tiny(case, tmp_path)
    paths = export_model(model, str(tmp_path / "export"))
    worst = compare(model, Runtime(paths["onnx"]), realdata, kp_tol=1e-3, angle_tol=1e-3)
    print(case, "onnxruntime worst", worst)
    try:
        runtime = Runtime(paths["onnx"], backend="opencv")
        worst = compare(model, runtime, realdata, kp_tol=1e-2, angle_tol=1e-2)
        print(case, "opencv worst", worst)
    except RuntimeError as err:  # OpenCV DNN refused the graph: the message names the op
        assert "OpenCV DNN" in str(err) and ("op" in str(err) or "layer" in str(err).lower()), str(err)
        print(case, "opencv:", err)


def test_dynamic_batch_and_batch_consistency(tmp_path: Path, realdata: Path) -> None:
    """One box or five in one run: the same numbers per box (dynamic N)."""
    model = build_tiny("body", tmp_path)
    runtime = Runtime(export_model(model, str(tmp_path / "export"))["onnx"], batch_size=8)
    image = photo(realdata, PHOTOS[0][0])
    boxes = np.array(
        [[30, 40, 200, 300], [250, 60, 180, 260], [0, 0, 100, 100], [100, 100, 50, 80], [5, 5, 300, 200]], np.float32
    )
    together = runtime.predict(image, boxes)["body"]
    for i, box in enumerate(boxes):
        alone = runtime.predict(image, box[None])["body"]
        np.testing.assert_allclose(alone.keypoints[0], together.keypoints[i], atol=1e-3)


def test_flip_test_inside_the_graph_matches_pytorch_flip_test(tmp_path: Path, realdata: Path) -> None:
    model = build_tiny("head_pose", tmp_path)
    paths = export_model(model, str(tmp_path / "export"), flip_test=True)
    assert model.flip_test is True
    compare(model, Runtime(paths["onnx"]), realdata, kp_tol=1e-3, angle_tol=1e-3)


@pytest.mark.parametrize("flip_test", [False, True])
def test_visibility_probabilities_equal_task_predict(tmp_path: Path, realdata: Path, flip_test: bool) -> None:
    """Non-zero visibility logits (the head's last layer starts at zero: 0.5 everywhere), plain and flip-tested."""
    model = build_tiny("body_visibility", tmp_path)
    with torch.no_grad():
        for p in model.tasks["visibility"].head.final.parameters():
            p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(1)) * 0.5)
    paths = export_model(model, str(tmp_path / "export"), flip_test=flip_test)
    assert model.flip_test is flip_test
    runtime = Runtime(paths["onnx"])
    image = photo(realdata, PHOTOS[0][0])
    probs = runtime.predict(image, np.asarray(PHOTOS[0][1], np.float32))["visibility"].extras["visibility"]
    assert probs.shape == (2, 17) and np.ptp(probs) > 0.1  # not the untrained 0.5 everywhere
    worst = compare(model, runtime, realdata, kp_tol=1e-3, angle_tol=1e-3)  # visibility to 1e-5
    print("body_visibility flip_test", flip_test, "worst", worst)


def test_a_task_without_an_exportable_decode_names_task_and_operation(tmp_path: Path) -> None:
    model = build_tiny("body", tmp_path)

    class Strange:  # a codec the exporter does not know
        input_size = (64, 64)

    model.tasks["body"]._codec = Strange()
    with pytest.raises(ExportError, match=r"task 'body': operation 'decode' of codec Strange"):
        export_model(model, str(tmp_path / "export"))
