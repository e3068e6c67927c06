"""bfloat16 on the CPU only where the CPU computes it natively: a fallback to float32 elsewhere.

Some recipes (``conf/experiment/hand_fast.yaml``, ``detect_fast.yaml``) train with
``trainer.precision=bf16-mixed`` because the CPU they were tuned on has AVX512-BF16, where bf16
autocast is faster. On a CPU without native bf16 (no AVX512-BF16, no AMX), PyTorch emulates it and
the same recipe runs several times slower, so :func:`cpu_precision` trains such a run in
``32-true`` instead, with a warning naming the setting; GPU runs are left as configured.
"""

from __future__ import annotations

import logging

import torch

__all__ = ["cpu_has_native_bf16", "cpu_precision"]

log = logging.getLogger("landmarks")


def cpu_has_native_bf16() -> bool:
    """This CPU computes bfloat16 natively (AVX512-BF16 or AMX tiles), as PyTorch's CPU kernels see it."""
    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name)()) for name in checks if hasattr(cpu, name))


def cpu_precision(precision: str | int | None, accelerator: str | None) -> str | int | None:
    """``precision``, or ``"32-true"`` for a bf16 precision on a CPU run whose CPU lacks native bf16.

    Args:
        precision: the trainer's ``precision`` (e.g. ``"bf16-mixed"``).
        accelerator: the trainer's ``accelerator`` (``"cpu"``, ``"gpu"``, ``"auto"``, ...).
    """
    on_cpu = str(accelerator or "auto") == "cpu" or (str(accelerator) == "auto" and not torch.cuda.is_available())
    if not (on_cpu and str(precision).startswith("bf16")) or cpu_has_native_bf16():
        return precision
    log.warning(
        "trainer.precision=%s: this CPU has no native bfloat16 (AVX512-BF16 / AMX), where bf16 is emulated and "
        "slower than float32; training in 32-true instead (landmarks/precision.py)",
        precision,
    )
    return "32-true"
