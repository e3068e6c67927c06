"""Inference: a checkpoint -> predictions, JSON and overlays for images, folders, globs and videos.

* ``predictor.py``: :class:`~landmarks.inference.predictor.Predictor` (checkpoint -> one
  ``Prediction`` per task for the boxes of an image, on ``device``);
* ``loop.py``: :func:`~landmarks.inference.loop.run_inference` (frames -> boxes -> entries + overlays);
* ``sources.py`` (frames to read), ``results.py`` (one frame's entries and overlay, from the
  tasks' ``to_json`` / ``draw``), ``writer.py`` (``predictions.jsonl`` -> ``predictions.json``, overlays);
* ``det_file.py`` (COCO results-format boxes), ``face_detect.py`` (face boxes), ``pnp.py``
  (landmark-based head pose).
"""
