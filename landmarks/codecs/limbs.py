"""Limb heatmaps: a Gaussian ridge along every skeleton edge, an auxiliary heatmap target.

For an edge ``(a, b)`` of the layout's skeleton the target is ``exp(-d^2 / (2 sigma^2))`` with
``d`` the distance from a pixel centre to the segment between keypoints ``a`` and ``b``
(heatmap px). It is the scalar part of the limb fields of bottom-up pose (the part affinity
fields of Cao et al., "Realtime Multi-Person 2D Pose Estimation using Part Affinity Fields",
CVPR 2017, are unit vectors on the same support) and the "bone" maps of structure-aware
keypoint methods. As an extra output of a top-down heatmap head it labels every pixel of a
limb with the limb's identity, a much denser signal than the two end points; for hands this
tells the head which finger a pixel belongs to (``tasks/hand.py``, ``limb_loss_weight``).

Built on the fly from the keypoint coordinates of a batch (cheap at heatmap resolution), so
the data pipeline and the codecs are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def limb_heatmaps(
    points: torch.Tensor,
    weight: torch.Tensor,
    pairs: torch.Tensor,
    size: Sequence[int],
    sigma: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian ridges along skeleton edges.

    Args:
        points: ``(B, K, 2)`` keypoints ``x, y`` in heatmap px (pixel ``j`` has its centre at ``j``).
        weight: ``(B, K)`` keypoint weights (0 = unlabelled).
        pairs: ``(L, 2)`` long tensor of keypoint indices, one row per limb.
        size: ``(w, h)`` heatmap size.
        sigma: ridge standard deviation, heatmap px.

    Returns:
        ``(maps (B, L, h, w), limb_weight (B, L))``; a limb has weight 1 when both of its
        keypoints are labelled, else 0 (its map is then still computed but masked by the loss).
    """
    if sigma <= 0:
        raise ValueError(f"limb_heatmaps: sigma must be > 0, got {sigma}")
    w, h = int(size[0]), int(size[1])
    pts = points.float()
    a, b = pts[:, pairs[:, 0]], pts[:, pairs[:, 1]]  # (B, L, 2)
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=pts.dtype, device=pts.device),
        torch.arange(w, dtype=pts.dtype, device=pts.device),
        indexing="ij",
    )
    grid = torch.stack([xs, ys], dim=-1).reshape(1, 1, h * w, 2)
    ab = (b - a)[:, :, None]  # (B, L, 1, 2)
    ap = grid - a[:, :, None]  # (B, L, hw, 2)
    t = ((ap * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-6)).clamp(0.0, 1.0)
    d2 = ((ap - t[..., None] * ab) ** 2).sum(-1)
    maps = torch.exp(-d2 / (2.0 * sigma**2)).reshape(pts.shape[0], len(pairs), h, w)
    valid = (weight[:, pairs[:, 0]] > 0) & (weight[:, pairs[:, 1]] > 0)
    return maps, valid.to(maps.dtype)
