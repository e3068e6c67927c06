"""Synthetic 3-D faces with 68 / 98 landmarks and exact head pose."""

from landmarks.data.synthetic.face.renderer import SyntheticFaceSource

__all__ = ["SyntheticFaceSource"]
