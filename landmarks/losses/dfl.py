"""Distribution focal loss and the integral read-out of a discretised distance.

Li, Wang, Wu, Chen, Hu, Li, Tang & Yang, "Generalized Focal Loss: Learning Qualified and
Distributed Bounding Boxes for Dense Object Detection", NeurIPS 2020. A box edge's distance
``y`` from a reference point is predicted as a distribution over the bins ``0, 1, ..., n - 1``
(logits ``(..., n)``, softmax ``S``) and read out as its mean ``sum_i i * S_i`` (the "integral").
A sharp distribution says the edge is clear; a wide one that it is ambiguous (an arm out or
not), which a single regressed number cannot say. The loss puts the mass on the two bins around
the target ``y`` (with ``y_i <= y <= y_{i+1}``):

    DFL(S, y) = -((y_{i+1} - y) log S_i + (y - y_i) log S_{i+1})

It is minimal for ``S_i = y_{i+1} - y``, ``S_{i+1} = y - y_i``, whose mean is exactly ``y``.
Targets are clamped to ``[0, n - 1)``, the range the bins can express.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["distribution_focal_loss", "integral"]


def integral(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """The mean bin of ``softmax(logits)`` along ``dim`` (bins ``0 .. n - 1``), computed in float32."""
    probs = torch.softmax(logits.float(), dim=dim)
    n = probs.shape[dim]
    shape = [1] * probs.ndim
    shape[dim] = n
    return (probs * torch.arange(n, dtype=probs.dtype, device=probs.device).reshape(shape)).sum(dim=dim)


def distribution_focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """DFL of each distribution (module docstring).

    Args:
        logits: ``(..., n)`` bin logits, ``n >= 2``.
        target: ``(...)`` distances in bin units.

    Returns:
        ``(...)`` the loss of each distribution (no reduction), in float32.
    """
    n = logits.shape[-1]
    if n < 2 or logits.shape[:-1] != target.shape:
        raise ValueError(
            f"distribution_focal_loss: logits {tuple(logits.shape)} must be (..., n >= 2) over target {tuple(target.shape)}"
        )
    y = target.float().clamp(0.0, n - 1 - 1e-4)
    left = y.floor().long()
    w_left = (left + 1).float() - y
    logp = F.log_softmax(logits.float(), dim=-1)
    at_left = logp.gather(-1, left[..., None])[..., 0]
    at_right = logp.gather(-1, (left + 1)[..., None])[..., 0]
    return -(w_left * at_left + (1.0 - w_left) * at_right)
