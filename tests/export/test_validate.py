"""``evaluate.py runtime=onnxruntime``: the exported graph's metrics on the checkpoint's validation crops.

The fp32 graph must give evaluate's PyTorch numbers (same crops, same metric objects; AP to 1e-6,
the rest to 1e-5); the int8 graph of ``export.py quantize=int8`` is evaluated the same way (its
accuracy change is the figure in docs/benchmarks.md), and keeps the decoders in float32.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

from landmarks import run  # noqa: E402
from landmarks.export.quantize import is_network_node  # noqa: E402
from tests.tiny import SIXTEEN, compose, compose_train, untrained_checkpoint  # noqa: E402


def _checkpoint(out: Path, task: str) -> Path:
    # 64x64: at 32x32 the face model's pooled head cannot be exported (adaptive pool, 2x2 of a 1x1 map)
    return untrained_checkpoint(
        compose_train(out, f"task={task}", "input_size=[64,64]", tiny=SIXTEEN), out / f"{task}.ckpt"
    )


def _evaluate(ckpt: Path, out: Path, *overrides: str) -> dict[str, float]:
    metrics = run.evaluate(compose("evaluate", f"ckpt={ckpt}", f"out={out}", "plots=false", *overrides))
    return {k: v for k, v in metrics.items() if not k.endswith("/loss")}


@pytest.mark.parametrize("task", ["body", pytest.param("face_head_pose", marks=pytest.mark.slow)])
def test_fp32_graph_gives_the_pytorch_metrics(task: str, tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path, task)
    ref = _evaluate(ckpt, tmp_path / "torch", "flip_test=false")
    ours = _evaluate(ckpt, tmp_path / "ort", "flip_test=false", "runtime=onnxruntime")
    assert set(ours) == set(ref) and ref
    for key, value in ref.items():
        assert ours[key] == pytest.approx(value, abs=1e-6 if "/ap" in key else 1e-5, rel=1e-5), key
    written = json.loads((tmp_path / "ort" / "eval_metrics.json").read_text())
    assert written["runtime"] == "onnxruntime" and written["onnx"].endswith("model.onnx")


@pytest.mark.slow
def test_int8_graph_is_evaluated_and_keeps_the_decoders_float(tmp_path: Path) -> None:
    import onnx

    ckpt = _checkpoint(tmp_path, "body")
    paths = run.export(compose("export", f"ckpt={ckpt}", f"out={tmp_path / 'x'}", "quantize=int8"))
    graph = onnx.load(paths["onnx"])
    ops = {n.op_type for n in graph.graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    dequantized = {o for n in graph.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    nets = [n for n in graph.graph.node if n.op_type == "Conv" and is_network_node(n.name)]
    decode = [n for n in graph.graph.node if n.op_type in ("Conv", "MatMul") and not is_network_node(n.name)]
    assert nets and all(set(n.input) & dequantized for n in nets)  # the network runs on int8 weights
    assert decode and not any(set(n.input) & dequantized for n in decode)  # DARK's blur stays float32
    int8 = _evaluate(ckpt, tmp_path / "int8", "runtime=onnxruntime", f"onnx={paths['onnx']}")
    fp32 = _evaluate(ckpt, tmp_path / "fp32", "runtime=onnxruntime", f"onnx={paths['onnx_fp32']}")
    assert set(int8) == set(fp32) and all(v == v for v in int8.values())  # same metrics, none NaN
