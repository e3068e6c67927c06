"""Coordinates plus a scale per keypoint: the codec of RLE regression.

Li et al., "Human Pose Regression with Residual Log-likelihood Estimation", ICCV 2021. The head
(:class:`landmarks.heads.rle.RLEHead`) predicts, per keypoint, a location ``mu`` and a scale
``sigma`` on each axis; the loss (:class:`landmarks.losses.rle.RLELoss`) is the negative
log-likelihood of the ground truth under ``Q(r) G(r) / sigma``, ``r = (y - mu) / sigma``.

Unit: **input px** (the crop of :mod:`landmarks.data.crop`, pixel ``i`` centred at ``i``) for
both ``mu`` and ``sigma``. ``sigma`` is the scale of the base distribution on one axis: the
Laplace scale ``b`` (mean absolute error; ``base="laplace"``) or the Gaussian standard
deviation (``base="gaussian"``).

* ``encode``: as :class:`~landmarks.codecs.coords.CoordinateCodec` (``coords (K, 2)`` input px,
  ``target_weight (K,)``).
* ``decode(out)``: ``out`` is ``(B, K, 4)`` = ``x, y, sigma_x, sigma_y`` input px. Keypoints are
  ``x, y``. **Score**: the probability, under the fitted base distribution with independent
  axes, that the true point lies within ``tol = score_tol * max(W, H)`` input px of the
  prediction on both axes: ``(1 - exp(-tol / sigma_x)) (1 - exp(-tol / sigma_y))`` for Laplace,
  ``erf(tol / (sigma_x sqrt 2)) erf(tol / (sigma_y sqrt 2))`` for Gaussian; in ``[0, 1]``,
  decreasing in each sigma. (The flow correction of training is not used at inference, as in the
  paper: the scale alone carries the uncertainty.)
* ``decode_scale(out)``: ``(B, K, 2)`` sigma input px; the task turns it into image px
  (``Prediction.extras["scale"]``).
* ``flip_back(out, flip_indices)``: ``x -> W - 1 - x`` and the left/right permutation; the
  scales follow their keypoints unchanged.

:func:`rle_score` is the torch formula that :meth:`RLECodec.decode` and the exported graph share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from landmarks.codecs.coords import CoordinateCodec

__all__ = ["BASES", "RLECodec", "rle_score"]

BASES = ("laplace", "gaussian")


def rle_score(sigma: torch.Tensor, tol: float, base: str = "laplace") -> torch.Tensor:
    """Probability that both axes' errors are within ``tol`` under the fitted base distribution.

    Args:
        sigma: ``(..., 2)`` scales, the unit of ``tol`` (> 0).
        tol: tolerance, same unit.
        base: ``"laplace"`` or ``"gaussian"``.

    Returns:
        ``(...)`` scores in ``[0, 1]``.
    """
    s = sigma.clamp_min(1e-12)
    if base == "laplace":
        per_axis = 1.0 - torch.exp(-tol / s)
    elif base == "gaussian":
        per_axis = torch.erf(tol / (s * math.sqrt(2.0)))
    else:
        raise ValueError(f"rle_score: base must be one of {BASES}, got {base!r}")
    return per_axis[..., 0] * per_axis[..., 1]


class RLECodec(CoordinateCodec):
    """Coordinates + per-axis scale in input px (module docstring).

    Args:
        input_size: ``(W, H)`` of the network input, input px.
        score_tol: score tolerance as a fraction of ``max(W, H)``.
        base: the base distribution the scale belongs to, ``"laplace"`` or ``"gaussian"`` (must
            match the loss's).
    """

    def __init__(self, input_size: Sequence[int], score_tol: float = 0.05, base: str = "laplace") -> None:
        super().__init__(input_size)
        if not score_tol > 0:
            raise ValueError(f"RLECodec: score_tol must be > 0 (fraction of the input size), got {score_tol}")
        if base not in BASES:
            raise ValueError(f"RLECodec: base must be one of {BASES}, got {base!r}")
        self.score_tol = float(score_tol)
        self.base = base

    def __repr__(self) -> str:
        return f"RLECodec(input_size={self.input_size}, score_tol={self.score_tol}, base={self.base!r})"

    @property
    def tol_px(self) -> float:
        """The score tolerance, input px."""
        return self.score_tol * max(self.input_size)

    def _check(self, out: torch.Tensor | np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(out).detach().float().cpu()
        if t.ndim != 3 or t.shape[-1] != 4:
            raise ValueError(
                f"RLECodec.decode: expected (B, K, 4) x, y, sigma_x, sigma_y input px, got {tuple(t.shape)}"
            )
        return t

    def decode(self, out: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[override]
        """Keypoints and scores.

        Args:
            out: ``(B, K, 4)`` ``x, y, sigma_x, sigma_y`` input px.

        Returns:
            ``keypoints (B, K, 2)`` float32 input px and ``scores (B, K)`` float32 (module docstring).
        """
        t = self._check(out)
        return t[..., :2].numpy().astype(np.float32), rle_score(t[..., 2:], self.tol_px, self.base).numpy()

    def decode_scale(self, out: torch.Tensor | np.ndarray) -> np.ndarray:
        """``(B, K, 4)`` head output -> ``(B, K, 2)`` float32 sigma, input px."""
        return self._check(out)[..., 2:].numpy().astype(np.float32)

    def flip_back(self, coords_of_flipped_input: torch.Tensor, flip_indices: np.ndarray) -> torch.Tensor:
        """``(B, K, 4)`` output of a horizontally flipped input -> the original frame (module docstring)."""
        out = coords_of_flipped_input
        if out.ndim != 3 or out.shape[-1] != 4:
            raise ValueError(f"RLECodec.flip_back: expected (B, K, 4), got {tuple(out.shape)}")
        idx = torch.as_tensor(np.asarray(flip_indices, dtype=np.int64), device=out.device)
        if idx.numel() != out.shape[1]:
            raise ValueError(f"RLECodec.flip_back: flip_indices has {idx.numel()} entries, output has K={out.shape[1]}")
        out = out[:, idx].clone()
        out[..., 0] = (self.input_size[0] - 1) - out[..., 0]
        return out
