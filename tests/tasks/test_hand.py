"""Hand task: integral decode vs argmax, hand metrics by hand, the flip/handedness rule, a tiny fit.

(Over 300 lines: the hand task's read-outs, metrics and flip rule share the fixtures of one synthetic hand.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from landmarks.codecs.heatmap import MSRAHeatmap, UDPHeatmap
from landmarks.codecs.integral import IntegralHeatmap, argmax_agreement_bound, soft_argmax
from landmarks.codecs.refine import heatmap_argmax
from landmarks.data.dataset import TopDownDataset
from landmarks.data.synthetic.hand.renderer import SyntheticHandSource
from landmarks.data.transforms import TopDownTransform, flip_handedness
from landmarks.layouts.hand import hand21
from landmarks.losses.heatmap import KeypointMSELoss
from landmarks.types import Prediction
from tasks.hand import HandTask

CONF = Path(__file__).resolve().parents[2] / "conf"


def _task(codec: Any, **kw: Any) -> HandTask:
    return HandTask(spec=hand21(), codec=codec, head=lambda **_: torch.nn.Identity(), loss=KeypointMSELoss(), **kw)


# ------------------------------------------------------------------ integral decode
def test_soft_argmax_matches_argmax_on_sharp_maps() -> None:
    gen = torch.Generator().manual_seed(0)
    maps = torch.rand(4, 21, 24, 32, generator=gen, dtype=torch.float64) * 0.3
    peaks = torch.randint(0, 24 * 32, (4, 21), generator=gen)
    maps.view(4, 21, -1).scatter_(2, peaks[..., None], 1.0)  # one sharp peak, margin >= 0.7
    soft, _ = soft_argmax(maps, beta=20.0)
    hard, _ = heatmap_argmax(maps)
    bound = argmax_agreement_bound(maps, beta=20.0)
    assert torch.all((soft - hard).abs() <= bound + 1e-9)
    assert bound.max() < 0.02  # eps <= 767 e^-14 / (1 + ...) ~ 6e-4, times 31 px
    # a delta peak (margin 1): the documented bound is ~6.5e-5 px on a 32x32 map
    delta = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    delta[0, 0, 5, 27] = 1.0
    soft, _ = soft_argmax(delta, beta=20.0)
    assert torch.allclose(soft[0, 0], torch.tensor([27.0, 5.0], dtype=torch.float64), atol=1e-4)


@pytest.mark.parametrize(
    ("codec_cls", "sigma", "tol_hm_px"), [(MSRAHeatmap, 3.0, 0.005), (MSRAHeatmap, 2.0, 0.08), (UDPHeatmap, 2.5, 0.03)]
)
def test_integral_decode_recovers_subpixel_gaussian_peaks(codec_cls: type, sigma: float, tol_hm_px: float) -> None:
    kw = {"unbiased": True} if codec_cls is MSRAHeatmap else {}
    base = codec_cls((128, 128), (32, 32), sigma=sigma, **kw)
    codec = IntegralHeatmap(base, beta=20.0)
    rng = np.random.default_rng(1)
    kpts = rng.uniform(6 * 4, 26 * 4, size=(21, 2))  # input px, peaks >= 6 heatmap px from the border
    target = codec.encode(kpts, np.full(21, 2.0))
    decoded, scores = codec.decode(torch.from_numpy(target["heatmaps"])[None])
    err_hm = np.abs(decoded[0] - kpts) / codec.input_px_per_heatmap_px
    assert err_hm.max() < tol_hm_px
    np.testing.assert_allclose(scores[0], target["heatmaps"].reshape(21, -1).max(1), rtol=1e-6)
    np.testing.assert_allclose(target["coords"], kpts.astype(np.float32))


def test_integral_decode_is_differentiable_and_encode_masks_coords() -> None:
    codec = IntegralHeatmap(MSRAHeatmap((64, 64), (16, 16), sigma=2.0, unbiased=True), beta=20.0)
    logits = torch.zeros(1, 2, 16, 16, requires_grad=True)
    coords = codec.decode_tensor(logits)
    np.testing.assert_allclose(coords.detach().numpy(), 7.5 * 4)  # uniform map: the mean pixel, input px
    coords[0, 0, 0].backward()
    assert logits.grad is not None and logits.grad[0, 0].abs().sum() > 0 and logits.grad[0, 1].abs().sum() == 0
    enc = codec.encode(np.array([[10.0, 12.0], [500.0, 3.0]]), np.array([2.0, 2.0]))
    assert enc["target_weight"].tolist() == [1.0, 0.0] and enc["coords"][1].tolist() == [0.0, 0.0]


def test_coord_loss_pulls_soft_argmax_to_target() -> None:
    codec = IntegralHeatmap(MSRAHeatmap((64, 64), (16, 16), sigma=2.0, unbiased=True), beta=20.0)
    task = _task(codec, decode="integral", coord_loss_weight=1.0)
    kpts = np.tile([[20.0, 44.0]], (21, 1))
    target = {k: torch.from_numpy(v)[None] for k, v in codec.encode(kpts, np.full(21, 2.0)).items()}
    batch = {"targets": {"hand": target}}
    # the exact target maps: tiny coordinate error, in heatmap px
    terms = task.loss(target["heatmaps"].clone(), batch)
    assert terms["coord"] < 0.05 and set(terms) == {"loss", "heatmap", "coord"}
    logits = torch.zeros(1, 21, 16, 16, requires_grad=True)
    opt = torch.optim.SGD([logits], lr=2.0)
    first = None
    for _ in range(20):
        opt.zero_grad()
        loss = task.coord_l1(logits, target["coords"], target["target_weight"])
        first = float(loss) if first is None else first
        loss.backward()
        opt.step()
    assert float(loss) < 0.5 * first
    with pytest.raises(TypeError, match="integral codec"):
        _task(MSRAHeatmap((64, 64), (16, 16)), decode="integral")
    with pytest.raises(ValueError, match="decode must be one of"):
        _task(codec, decode="soft")


# ------------------------------------------------------------------ limb heatmaps
def test_limb_heatmaps_hand_computed() -> None:
    from landmarks.codecs.limbs import limb_heatmaps

    points = torch.tensor([[[1.0, 1.0], [5.0, 1.0], [0.0, 0.0]]])
    pairs = torch.tensor([[0, 1], [1, 2]])
    maps, weight = limb_heatmaps(points, torch.tensor([[1.0, 1.0, 0.0]]), pairs, (8, 4), sigma=2.0)
    assert maps.shape == (1, 2, 4, 8) and weight.tolist() == [[1.0, 0.0]]  # a limb needs both ends labelled
    ridge = maps[0, 0]
    assert float(ridge[1, 3]) == pytest.approx(1.0)  # on the segment
    assert float(ridge[3, 3]) == pytest.approx(np.exp(-4 / 8))  # 2 px beside it
    assert float(ridge[1, 7]) == pytest.approx(np.exp(-4 / 8))  # 2 px beyond the end point (5, 1)
    assert float(ridge[3, 7]) == pytest.approx(np.exp(-8 / 8))  # sqrt(8) px from the end point
    with pytest.raises(ValueError, match="sigma"):
        limb_heatmaps(points, torch.ones(1, 3), pairs, (8, 4), sigma=0.0)


def test_limb_loss_adds_head_channels_seen_only_in_training() -> None:
    codec = IntegralHeatmap(MSRAHeatmap((64, 64), (16, 16), sigma=2.0, unbiased=True), beta=20.0)
    built: dict[str, int] = {}

    class First(torch.nn.Module):
        def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
            return features[0]

    def head(num_keypoints: int, **_: Any) -> torch.nn.Module:
        built["k"] = num_keypoints
        return First()

    task = HandTask(spec=hand21(), codec=codec, head=head, loss=KeypointMSELoss(), limb_loss_weight=0.5)
    task.build([8], [4])
    assert built["k"] == 21 + 20 == 21 + task.num_limbs
    kpts = np.random.default_rng(0).uniform(8, 56, (21, 2))
    target = {k: torch.from_numpy(v)[None] for k, v in codec.encode(kpts, np.full(21, 2.0)).items()}
    points = codec.to_heatmap_px(target["coords"])
    np.testing.assert_allclose(points[0].numpy(), kpts / 4, rtol=1e-5)  # MSRA: heatmap px = input px / stride
    from landmarks.codecs.limbs import limb_heatmaps

    limbs, _ = limb_heatmaps(points, target["target_weight"], task.limb_pairs, (16, 16), task.limb_sigma)
    out = torch.cat([target["heatmaps"], limbs], dim=1)
    terms = task.train().loss(out, {"targets": {"hand": target}})
    assert set(terms) == {"loss", "heatmap", "limb"} and float(terms["limb"]) < 1e-9
    assert task.train()([out]).shape[1] == 41 and task.eval()([out]).shape[1] == 21
    assert set(task.loss(out[:, :21], {"targets": {"hand": target}})) == {"loss"}  # evaluation: keypoints only
    with pytest.raises(ValueError, match="limb"):
        HandTask(spec=hand21(), codec=codec, head=head, loss=KeypointMSELoss(), limb_loss_weight=-1.0)


# ------------------------------------------------------------------ metrics
def _batch(gt: np.ndarray, visible: np.ndarray, bbox: np.ndarray) -> dict[str, Any]:
    n = len(gt)
    return {
        "meta": {
            "keypoints": gt,
            "visible": visible,
            "bbox": bbox,
            "area": bbox[:, 2] * bbox[:, 3],
            "image_id": np.arange(n),
            "id": np.arange(n),
            "score": np.ones(n),
            "head_size": np.full(n, np.nan),
        }
    }


def _metrics(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, bbox: np.ndarray) -> dict[str, float]:
    task = _task(IntegralHeatmap(MSRAHeatmap((64, 64), (16, 16))))
    task.update_metrics(Prediction(keypoints=pred, scores=np.ones(pred.shape[:2])), _batch(gt, visible, bbox))
    return task.compute_metrics()


def test_hand_metrics_hand_computed() -> None:
    k = np.arange(21, dtype=np.float64)
    gt = np.full((2, 21, 2), 50.0)
    pred = gt.copy()
    pred[0, :, 0] += k  # sample 0: keypoint k is k px off (along x)
    pred[1, :, 1] -= 2 * k  # sample 1: 2k px off (along y)
    visible = np.full((2, 21), 2.0)
    visible[1, 20] = 0  # unlabelled: left out everywhere
    bbox = np.array([[0, 0, 100, 50], [0, 0, 40, 60]], dtype=np.float64)  # longer sides 100 and 60
    out = _metrics(pred, gt, visible, bbox)
    # PCK@0.2: sample 0 correct when k < 20 (k = 0..19), sample 1 when 2k < 12 (k = 0..5);
    # per keypoint: k <= 5: 2/2, 6 <= k <= 19: 1/2, k = 20: 0/1 -> mean (6 + 14 * 0.5 + 0) / 21
    assert out["pck"] == pytest.approx(13 / 21)
    # EPE: (0 + 1 + ... + 20) + 2 (0 + ... + 19) over 41 labelled keypoints
    assert out["epe"] == pytest.approx((210 + 380) / 41)
    # AUC: mean over t = 0, 1.5, ..., 28.5 of the mean per-keypoint rate of error < t
    curve = []
    for t in 1.5 * np.arange(20):
        rates = [(int(k_ < t) + int(2 * k_ < t)) / 2 if k_ < 20 else float(20 < t) for k_ in range(21)]
        curve.append(np.mean(rates))
    assert out["auc"] == pytest.approx(np.mean(curve))


def test_auc_closed_form_values() -> None:
    gt = np.zeros((1, 21, 2))
    box = np.array([[0.0, 0.0, 100.0, 100.0]])
    vis = np.full((1, 21), 2.0)
    # a perfect prediction scores 19/20: the first threshold is 0 px and "correct" means error < t
    assert _metrics(gt.copy(), gt, vis, box)["auc"] == pytest.approx(0.95)
    off = gt.copy()
    off[..., 0] = 10.0  # 10 px everywhere: correct for t = 10.5 .. 28.5, 13 of 20 thresholds
    out = _metrics(off, gt, vis, box)
    assert out["auc"] == pytest.approx(0.65) and out["epe"] == pytest.approx(10.0) and out["pck"] == 1.0
    off[..., 0] = 40.0  # beyond 30 px and beyond 0.2 * 100 px
    out = _metrics(off, gt, vis, box)
    assert out["auc"] == 0.0 and out["pck"] == 0.0


# ------------------------------------------------------------------ flip / handedness
def test_flip_handedness_rule() -> None:
    assert flip_handedness("left") == "right" and flip_handedness("right") == "left"
    with pytest.raises(ValueError, match="handedness"):
        flip_handedness("both")
    spec = hand21()
    assert np.array_equal(spec.flip_indices, np.arange(21))  # a flip keeps the keypoint order
    sample = SyntheticHandSource(num_images=4, image_size=(128, 128), split="val", seed=1)[0]
    crops = {}
    for prob in (0.0, 1.0):
        transform = TopDownTransform((64, 64), train=True, flip_prob=prob, photometric=0.0)
        crops[prob] = transform(sample, np.random.default_rng(5), spec.flip_indices)
    plain, flipped = crops[0.0], crops[1.0]
    assert plain["handedness"] == sample["handedness"] and not plain["flipped"]
    assert flipped["flipped"] and flipped["handedness"] == flip_handedness(sample["handedness"])
    np.testing.assert_allclose(flipped["keypoints"][:, 0], 63 - plain["keypoints"][:, 0], atol=1e-4)
    np.testing.assert_allclose(flipped["keypoints"][:, 1], plain["keypoints"][:, 1], atol=1e-4)
    np.testing.assert_array_equal(flipped["image"], plain["image"][:, ::-1])
    no_hand = {k: v for k, v in sample.items() if k != "handedness"}
    assert "handedness" not in TopDownTransform((64, 64))(no_hand, np.random.default_rng(0), spec.flip_indices)


def test_dataset_meta_carries_flipped_handedness() -> None:
    source = SyntheticHandSource(num_images=6, image_size=(128, 128), split="val", seed=2)
    codec = IntegralHeatmap(UDPHeatmap((64, 64), (16, 16), sigma=2.0))
    transform = TopDownTransform((64, 64), train=True, flip_prob=1.0, photometric=0.0, udp=True)
    dataset = TopDownDataset(source, transform, {"hand": codec})
    for i in range(3):
        item = dataset[i]
        assert item["meta"]["flipped"] and item["meta"]["handedness"] == flip_handedness(source[i]["handedness"])
    batch = torch.utils.data.default_collate([dataset[i] for i in range(3)])
    assert batch["meta"]["handedness"] == [flip_handedness(source[i]["handedness"]) for i in range(3)]


def test_flip_test_with_identity_indices_recovers_keypoints() -> None:
    """The eval flip test (predict_outputs): heatmaps of the mirrored crop, flipped back, decode in place."""
    codec = IntegralHeatmap(UDPHeatmap((128, 128), (32, 32), sigma=2.0), beta=20.0)
    task = _task(codec, decode="integral")
    kpts = np.random.default_rng(3).uniform(30, 97, size=(21, 2))  # >= 7 heatmap px from the border
    mirrored = kpts.copy()
    mirrored[:, 0] = 127 - mirrored[:, 0]  # the crop flipped: x -> W - 1 - x, same keypoint order
    hm = torch.from_numpy(codec.encode(mirrored, np.full(21, 2.0))["heatmaps"])[None]
    assert np.array_equal(task.flip_indices, np.arange(21))
    back = task.flip_back(hm)
    for mode in ("integral", "argmax_dark"):
        task.decode_mode = mode
        decoded, _ = task._decode_input(back)
        np.testing.assert_allclose(decoded[0], kpts, atol=0.3)  # 0.07 heatmap px (4.1 input px each)


# ------------------------------------------------------------------ tiny fit
@pytest.mark.slow
@pytest.mark.parametrize(
    "variant",
    [
        [],
        ["tasks.hand.decode=integral", "tasks.hand.coord_loss_weight=1.0"],
        ["tasks.hand.limb_loss_weight=1.0", "head=staged"],
    ],
)
def test_tiny_fit_task_hand(tmp_path: Path, variant: list[str]) -> None:
    from hydra import compose, initialize_config_dir

    from landmarks import run

    overrides = [
        "task=hand",
        "input_size=[64,64]",
        "trainer.max_steps=4",
        "trainer.val_check_interval=4",
        "trainer.enable_progress_bar=false",
        "data.num_workers=0",
        "data.batch_size=4",
        "data.val.num_images=8",
        "data.val_batch_size=8",
        "logger=csv",
        f"output_dir={tmp_path}",
        "threads=1",
        *variant,
    ]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    assert cfg.tasks.hand.codec.heatmap.heatmap_size == [16, 16] and cfg.monitor == "val/auc"
    metrics = run.train(cfg)
    assert metrics["global_step"] == 4
    for key in ("val/pck", "val/epe", "val/auc"):
        assert np.isfinite(metrics[key]), key
    assert 0.0 <= metrics["val/auc"] <= 0.95 and 0.0 <= metrics["val/pck"] <= 1.0
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file() and (tmp_path / "metrics.json").is_file()


def test_prediction_panel_draws_what_the_metrics_measure(tmp_path: Path) -> None:
    """With the shipped hand codec (integral wrapper, argmax + DARK read-out) the panel draws
    ``Task.predict`` (argmax + DARK), moved into the crop, not the codec's soft-argmax."""
    from types import SimpleNamespace

    from landmarks.callbacks import PredictionPanel

    codec = IntegralHeatmap(
        MSRAHeatmap(input_size=(64, 64), heatmap_size=(16, 16), sigma=2.0, refine="dark", unbiased=True), beta=20.0
    )
    task = _task(codec)
    rng = np.random.default_rng(0)
    heatmaps = torch.from_numpy(rng.uniform(0, 1, size=(2, 21, 16, 16)).astype(np.float32))  # soft != argmax
    meta = {
        "center": torch.tensor([[40.0, 50.0], [100.0, 80.0]]),
        "scale": torch.tensor([[80.0, 80.0], [40.0, 40.0]]),
        "rot": torch.zeros(2),
    }
    drawn: list[np.ndarray] = []
    task.draw = lambda image, pred, i, box=None, kpt_thr=0.3: (drawn.append(pred.keypoints[i]), image)[1]  # type: ignore[method-assign]
    module = SimpleNamespace(tasks={"hand": task}, predict_batch=lambda b: {"hand": task.predict(heatmaps, b)})
    trainer = SimpleNamespace(is_global_zero=True, sanity_checking=False, global_step=3, loggers=[])
    batch = {"image": torch.zeros(2, 3, 64, 64, dtype=torch.uint8), "meta": meta}
    PredictionPanel(str(tmp_path), num_images=2).on_validation_batch_end(trainer, module, None, batch, 0)  # type: ignore[arg-type]
    argmax_dark, _ = codec.decode_argmax(heatmaps)
    np.testing.assert_allclose(np.stack(drawn), argmax_dark, atol=1e-3)
    assert np.abs(np.stack(drawn) - codec.decode(heatmaps)[0]).max() > 0.5  # soft-argmax would differ
    assert (tmp_path / "step_000003.png").is_file()
