"""Inference: checkpoint -> predictions on images, folders, globs and videos.

``predictor.py`` (the :class:`~landmarks.inference.predictor.Predictor` and the inference loop),
``face_detect.py`` (face boxes), ``det_file.py`` (COCO results-format detection files),
``pnp.py`` (landmark-based head pose).
"""
