"""Keypoint layouts: :class:`~landmarks.layouts.spec.KeypointSpec` and the built-in layouts.

``spec.py`` (the spec + COCO-17 / MPII-16), ``face.py`` (iBUG-68, WFLW-98, COFW-29, AFLW-19),
``hand.py`` (21-point hand), ``from_yaml.py`` (a custom layout from one YAML file). A new
built-in layout is a function returning a ``KeypointSpec`` in the file of its kind.
"""
