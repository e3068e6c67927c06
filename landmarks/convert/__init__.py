"""Bring your own labels: annotation-tool exports -> COCO keypoints + a layout YAML, and back.

One reader per tool (``cvat``, ``labelstudio``, ``labelme``, ``dlc``, ``sleap``) returns an
:class:`~landmarks.convert.records.Imported`; :func:`~landmarks.convert.write.write_dataset`
writes it; :mod:`~landmarks.convert.skeletons` maps between body layouts;
:mod:`~landmarks.convert.flip_pairs` derives flip pairs from names. Entry point:
``scripts/convert.py`` (:mod:`landmarks.convert.cli`); guide: ``docs/import.md``.
"""
