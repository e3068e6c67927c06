"""Synthetic left and right hands with 21 keypoints and handedness."""

from landmarks.data.synthetic.hand.renderer import SyntheticHandSource

__all__ = ["SyntheticHandSource"]
