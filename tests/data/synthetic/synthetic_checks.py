"""Checks shared by the synthetic renderer tests (body, hand, face): determinism, split streams,
sample arrays, labels and boxes in the image, COCO export scored against itself, render time.

Imported by ``tests/test_synthetic_*.py`` (pytest puts ``tests/`` on ``sys.path``). A sibling
renderer's tests call the same checks with its own source.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest


def assert_deterministic(source: Any, twin: Any, index: int = 7) -> tuple[np.ndarray, list[dict]]:
    """``render(index)`` gives the same picture and labels in any order, in a twin and in a pickled copy.

    Args:
        source: the renderer under test.
        twin: a second renderer built with the same arguments.
        index: the image to compare.

    Returns:
        ``source.render(index)``.
    """
    img_a, inst_a = source.render(index)
    source.render(3)  # order must not matter
    img_b, inst_b = twin.render(index)
    assert np.array_equal(img_a, img_b)
    assert len(inst_a) == len(inst_b) >= 1
    for a, b in zip(inst_a, inst_b):
        assert a.keys() == b.keys()
        for key in a:
            assert np.array_equal(a[key], b[key]), key
    s1, s2 = source[index], pickle.loads(pickle.dumps(twin))[index]  # DataLoader workers get a pickled copy
    assert np.array_equal(s1["image"], s2["image"]) and np.array_equal(s1["keypoints"], s2["keypoints"])
    return img_a, inst_a


def assert_disjoint_streams(train: Any, val: Any, other_seed: Any, n: int) -> None:
    """Another split or seed draws another picture; the first ``n`` train and val images share none."""
    train_img = train.render(5)[0]
    for other in (val, other_seed):
        assert np.abs(train_img.astype(np.int16) - other.render(5)[0].astype(np.int16)).mean() > 10.0
    assert not {train.render(i)[0].tobytes() for i in range(n)} & {val.render(i)[0].tobytes() for i in range(n)}


def assert_sample_arrays(s: dict, width: int, height: int, num_keypoints: int) -> None:
    """A Sample's arrays: image ``(H, W, 3)`` uint8, keypoints ``(K, 2)``, visible ``(K,)``, bbox ``(4,)`` float32."""
    assert s["image"].shape == (height, width, 3) and s["image"].dtype == np.uint8
    assert s["keypoints"].shape == (num_keypoints, 2) and s["keypoints"].dtype == np.float32
    assert s["visible"].shape == (num_keypoints,) and s["visible"].dtype == np.float32
    assert s["bbox"].shape == (4,) and s["bbox"].dtype == np.float32


def assert_labels_in_image(s: dict, width: int, height: int) -> None:
    """Unlabelled keypoints (v = 0) are zeroed; labelled ones lie on pixel centres of the image."""
    kp, v = s["keypoints"], s["visible"]
    assert np.all(kp[v == 0] == 0.0), "unlabelled keypoints must be zeroed"
    lab = kp[v > 0]
    assert np.all((lab[:, 0] >= 0) & (lab[:, 0] <= width - 1) & (lab[:, 1] >= 0) & (lab[:, 1] <= height - 1))


def assert_box_in_image(s: dict, width: int, height: int) -> tuple[float, float, float, float]:
    """The box lies in the image, is at least 1 px a side and holds the silhouette area; returns ``x, y, w, h``."""
    x, y, w, h = (float(t) for t in s["bbox"])
    assert x >= 0 and y >= 0 and x + w <= width + 1e-3 and y + h <= height + 1e-3 and w >= 1 and h >= 1
    assert 0 < s["area"] <= w * h + 1e-3
    return x, y, w, h


def coco_self_ap(gt: Any, sigmas: Sequence[float] | np.ndarray | None = None) -> float:
    """OKS-AP of a pycocotools ``COCO`` ground truth scored against itself (1 for a valid export).

    Args:
        gt: ``pycocotools.coco.COCO`` with its index built.
        sigmas: per-keypoint OKS sigmas (default: pycocotools' COCO-17 person sigmas).
    """
    from pycocotools.cocoeval import COCOeval

    dets = [
        {"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
        for a in gt.loadAnns(gt.getAnnIds())
        if a["num_keypoints"] > 0
    ]
    ev = COCOeval(gt, gt.loadRes(dets), "keypoints")
    if sigmas is not None:
        ev.params.kpt_oks_sigmas = np.asarray(sigmas)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return float(ev.stats[0])


def render_ms(source: Any, n: int) -> tuple[float, list[np.ndarray]]:
    """CPU milliseconds per ``render`` over images ``1..n`` (after a warm-up render of image 0), and the images."""
    source.render(0)
    start = time.process_time()
    images = [source.render(i)[0] for i in range(1, n + 1)]
    ms = (time.process_time() - start) / n * 1e3
    print(f"{type(source).__name__}: {ms:.2f} ms per {source.width}x{source.height} image (CPU time)")
    return ms, images


def assert_rejects_bad_index_and_split(source: Any, cls: type) -> None:
    """``source[len(source)]`` raises IndexError; ``cls(split="dev")`` a ValueError naming the split."""
    with pytest.raises(IndexError):
        source[len(source)]
    with pytest.raises(ValueError, match="split 'dev'"):
        cls(split="dev")
