"""Renderers that make labelled images on the fly (no dataset download needed).

Each renderer is deterministic per ``(seed, split, index)`` and returns
:class:`landmarks.types.Sample` dicts, so it plugs into the same pipeline as a file reader.
``body`` draws articulated 3-D people with COCO-17 keypoints, ``hand`` articulated left and
right hands with 21 keypoints and their handedness; a sibling module (``face``) follows the
same ``render`` / ``__getitem__`` / ``to_coco`` pattern.
"""

from landmarks.data.synthetic.body.renderer import SyntheticBodySource
from landmarks.data.synthetic.hand.renderer import SyntheticHandSource

__all__ = ["SyntheticBodySource", "SyntheticHandSource"]
