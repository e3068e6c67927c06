"""Renderers that make labelled images on the fly (no dataset download needed).

Each renderer is deterministic per ``(seed, split, index)`` and returns
:class:`landmarks.types.Sample` dicts, so it plugs into the same pipeline as a file reader.
``body`` draws articulated 3-D people with COCO-17 keypoints; sibling modules (``hand``,
``face``) follow the same ``render`` / ``__getitem__`` / ``to_coco`` pattern.
"""

from landmarks.data.synthetic.body import SyntheticBodySource

__all__ = ["SyntheticBodySource"]
