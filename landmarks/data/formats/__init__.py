"""Annotation readers: one module per format, each an indexable source of ``Sample``.

A source has ``__len__``, ``__getitem__(i) -> Sample`` (image decoded lazily) and a
``spec: KeypointSpec`` attribute; problems raise ``AnnotationError`` or are skipped and
logged under ``on_bad_sample="skip"``.
"""

from landmarks.data.formats.coco import CocoKeypointSource
from landmarks.data.formats.coco_wholebody import CocoWholeBodyPartSource
from landmarks.data.formats.errors import AnnotationError, BadSamplePolicy, load_image_rgb, read_json
from landmarks.data.formats.mpii import MpiiSource, load_head_boxes
from landmarks.data.formats.pose_mat import PoseMatSource
from landmarks.data.formats.pts300w import Pts300WSource
from landmarks.data.formats.wflw import WflwSource

__all__ = [
    "AnnotationError",
    "BadSamplePolicy",
    "CocoKeypointSource",
    "CocoWholeBodyPartSource",
    "MpiiSource",
    "PoseMatSource",
    "Pts300WSource",
    "WflwSource",
    "load_head_boxes",
    "load_image_rgb",
    "read_json",
]
