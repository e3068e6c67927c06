"""Residual log-likelihood estimation (RLE) loss, with a RealNVP flow on the normalised residual.

Li et al., "Human Pose Regression with Residual Log-likelihood Estimation", ICCV 2021. The head
gives, per keypoint and axis, a location ``mu`` and a scale ``sigma`` (input px). With the
normalised residual ``r = (y - mu) / sigma`` (``y`` the ground truth), the model density of ``y``
is ``p(y) = Q(r_x) Q(r_y) G(r) / (sigma_x sigma_y)`` (up to the constant ``s`` the paper drops):

* ``Q``: the base density, unit Laplace ``exp(-|r|) / 2`` or unit Gaussian
  ``exp(-r^2 / 2) / sqrt(2 pi)``, one factor per axis;
* ``G``: a learned density on the 2-D residual, a RealNVP flow (Dinh et al., "Density estimation
  using Real NVP", ICLR 2017) with a standard normal latent, which learns how the true
  residual distribution differs from ``Q`` (the "residual" log-likelihood); zero-initialised, so
  it starts as the standard normal.

The loss is ``-log p(y)``::

    nll = log sigma_x + log sigma_y - log Q(r_x) - log Q(r_y) - log G(r)

``flow=False`` drops ``G``: plain Laplace (or Gaussian) negative log-likelihood, per axis
``log(2 sigma) + |y - mu| / sigma`` (Laplace) or ``log(sigma sqrt(2 pi)) + (y - mu)^2 / (2 sigma^2)``.

Unit and reduction: nats, for ``y`` in **input px** (so a constant ``2 log(px per unit)`` away
from the same loss in other units; gradients do not depend on the unit). Per keypoint times its
weight (0 masks an unlabelled keypoint), summed over keypoints, averaged over the batch (the
convention of :mod:`landmarks.losses.wing`). The flow's parameters belong to this module: the task
holds the loss, so they train with the model and are saved in its checkpoint. Inference does not
use the flow (the scale alone is the uncertainty, as in the paper).

A sibling flow (e.g. more coupling layers, another latent) subclasses :class:`RealNVP2d` or
replaces it with any module that has ``log_prob(r) -> (...)`` for ``r (..., 2)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from landmarks.codecs.rle import BASES

__all__ = ["RLELoss", "RealNVP2d", "base_nll"]

_LOG2 = math.log(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _mlp(hidden: int, tanh: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(2, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden), nn.LeakyReLU()]
    last = nn.Linear(hidden, 2)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    layers.append(last)
    if tanh:
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class RealNVP2d(nn.Module):
    """A RealNVP density on 2-D points: affine coupling layers, alternating which axis is kept.

    Layer ``l`` keeps axis ``a = l % 2`` and transforms the other, ``b``:
    ``z_b = x_b * exp(s(x_a)) + t(x_a)``, ``z_a = x_a``, with ``log |det| = s(x_a)`` (``s``
    bounded by a tanh). ``log_prob(x) = log N(z; 0, I) + sum of the layers' log |det|``.

    Args:
        num_layers: coupling layers (an even number treats both axes alike).
        hidden: width of the two hidden layers of each ``s`` and ``t`` network.
    """

    def __init__(self, num_layers: int = 6, hidden: int = 64) -> None:
        super().__init__()
        if num_layers < 1 or hidden < 1:
            raise ValueError(f"RealNVP2d: need num_layers >= 1 and hidden >= 1, got {num_layers}, {hidden}")
        self.s = nn.ModuleList(_mlp(hidden, tanh=True) for _ in range(num_layers))
        self.t = nn.ModuleList(_mlp(hidden, tanh=False) for _ in range(num_layers))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(..., 2)`` points -> latent ``z (..., 2)`` and ``log |det dz/dx| (...)``."""
        z, log_det = x, torch.zeros_like(x[..., 0])
        for layer, (s_net, t_net) in enumerate(zip(self.s, self.t, strict=True)):
            a = layer % 2
            keep = torch.zeros(2, dtype=x.dtype, device=x.device)
            keep[a] = 1.0
            kept = z * keep
            s = s_net(kept)[..., 1 - a]
            t = t_net(kept)[..., 1 - a]
            moved = z[..., 1 - a] * torch.exp(s) + t
            z = kept + (1.0 - keep) * moved.unsqueeze(-1)
            log_det = log_det + s
        return z, log_det

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log G(x)`` for ``x (..., 2)``, nats."""
        z, log_det = self(x)
        return -0.5 * (z * z).sum(dim=-1) - 2.0 * _HALF_LOG_2PI + log_det


def base_nll(residual: torch.Tensor, sigma: torch.Tensor, base: str = "laplace") -> torch.Tensor:
    """Per-axis ``-log(Q(r) / sigma)`` for ``r = residual / sigma``: the flow-free NLL, nats.

    Args:
        residual: ``y - mu``, any shape, the unit of ``sigma``.
        sigma: same shape, > 0.
        base: ``"laplace"``: ``log(2 sigma) + |r|``; ``"gaussian"``: ``log(sigma sqrt(2 pi)) + r^2 / 2``.
    """
    r = residual / sigma
    if base == "laplace":
        return torch.log(sigma) + _LOG2 + r.abs()
    if base == "gaussian":
        return torch.log(sigma) + _HALF_LOG_2PI + 0.5 * r * r
    raise ValueError(f"base_nll: base must be one of {BASES}, got {base!r}")


class RLELoss(nn.Module):
    """Negative log-likelihood of the ground truth under RLE's density (module docstring).

    Args:
        flow: learn the residual density ``G`` (RealNVP); ``False``: plain base-distribution NLL.
        base: ``"laplace"`` (the paper's choice) or ``"gaussian"``.
        flow_layers: coupling layers of the flow.
        flow_hidden: hidden width of its ``s`` / ``t`` networks.
        loss_weight: factor on the result.
    """

    def __init__(
        self,
        flow: bool = True,
        base: str = "laplace",
        flow_layers: int = 6,
        flow_hidden: int = 64,
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__()
        if base not in BASES:
            raise ValueError(f"RLELoss: base must be one of {BASES}, got {base!r}")
        self.base = base
        self.loss_weight = float(loss_weight)
        self.flow = RealNVP2d(flow_layers, flow_hidden) if flow else None

    def per_keypoint(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``(B, K)`` NLL of each keypoint, nats (input px).

        Args:
            pred: ``(B, K, 4)`` ``mu_x, mu_y, sigma_x, sigma_y`` input px.
            target: ``(B, K, 2)`` ground truth, input px.
        """
        if pred.ndim != 3 or pred.shape[-1] != 4 or target.shape != pred.shape[:-1] + (2,):
            raise ValueError(
                f"RLELoss: pred must be (B, K, 4) mu_x, mu_y, sigma_x, sigma_y and target (B, K, 2), got "
                f"{tuple(pred.shape)} and {tuple(target.shape)}"
            )
        mu, sigma = pred[..., :2], pred[..., 2:]
        residual = target.to(pred.dtype) - mu
        nll = base_nll(residual, sigma, self.base).sum(dim=-1)
        if self.flow is not None:
            nll = nll - self.flow.log_prob(residual / sigma)
        return nll

    def residual_log_density(self, r: torch.Tensor) -> torch.Tensor:
        """``log Q(r_x) + log Q(r_y) + log G(r)`` of unit residuals ``r (..., 2)``, nats, not normalised.

        The shape of the density the loss fits to the normalised residuals (module docstring): its
        normalised form is what :func:`landmarks.metrics.calibration.fitted_coverage` integrates.
        """
        out = -base_nll(r, torch.ones_like(r), self.base).sum(dim=-1)
        if self.flow is not None:
            out = out + self.flow.log_prob(r)
        return out

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Scalar: ``loss_weight * sum_k w_bk * nll_bk``, averaged over B (module docstring).

        Args:
            pred: ``(B, K, 4)`` input px.
            target: ``(B, K, 2)`` input px.
            target_weight: ``(B, K)`` (0 masks a keypoint; its residual is set to 0 first).
        """
        if target_weight is None:
            w = torch.ones(pred.shape[:2], dtype=pred.dtype, device=pred.device)
        else:
            if target_weight.numel() != pred.shape[0] * pred.shape[1]:
                raise ValueError(
                    f"RLELoss: target_weight must be (B, K)={tuple(pred.shape[:2])}, got {tuple(target_weight.shape)}"
                )
            w = target_weight.reshape(pred.shape[:2]).to(pred.dtype)
        target = torch.where((w > 0)[..., None], target.to(pred.dtype), pred[..., :2].detach())
        per = self.per_keypoint(pred, target) * w
        return per.sum(dim=1).mean() * self.loss_weight
