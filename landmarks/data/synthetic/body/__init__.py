"""Synthetic people with COCO-17 keypoints (articulated 3-D skeletons, drawn as shaded parts)."""

from landmarks.data.synthetic.body.renderer import SyntheticBodySource

__all__ = ["SyntheticBodySource"]
