"""SLEAP labels (``.slp``) -> :class:`Imported`, read with sleap-io (the optional extra ``[import]``).

sleap-io (github.com/talmolab/sleap-io) is SLEAP's own standalone reader: it gives the skeleton
(node names, edges and the *symmetries*, SLEAP's flip pairs, used here as the tool's own
definition), the videos and the labelled frames. Only user instances are converted; predicted
instances are counted. A point's ``visible`` flag is kept: visible -> v = 2, placed but marked
not visible -> v = 1, no coordinates -> v = 0.

Frames: an image-sequence video keeps its image files; a media video (or images embedded in a
``.pkg.slp``) has its labelled frames written to ``OUT/images/<video>_<frame>.png``. A labelled
frame beyond the video's length or whose image file is missing is an error naming it.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np

from landmarks.convert.records import Image, Imported, Instance, check_names
from landmarks.data.formats.errors import AnnotationError

EXTRA_HINT = "pip install 'landmarks[import]' (or: pip install sleap-io)"


def _sleap_io() -> Any:
    try:
        import sleap_io
    except ImportError:
        raise ImportError(f"from=sleap needs sleap-io, the optional extra [import]: {EXTRA_HINT}") from None
    return sleap_io


def read_sleap(path: str, out_dir: str) -> tuple[Imported, dict[str, bytes]]:
    """Read a ``.slp`` file.

    Args:
        path: the labels file.
        out_dir: the conversion's output folder (extracted frames are placed under ``images/``).

    Returns:
        The import, and ``{relative path: PNG bytes}`` of frames to write (empty when every frame
        is an image file already).
    """
    sio = _sleap_io()
    if not os.path.isfile(path):
        raise AnnotationError(path, "<file>", "an existing SLEAP .slp file", "no such file")
    try:
        labels = sio.load_slp(path)
    except Exception as err:  # h5py / format errors of any kind
        raise AnnotationError(path, "<slp>", "a SLEAP .slp labels file", f"{type(err).__name__}: {err}") from None
    if len(labels.skeletons) != 1:
        raise AnnotationError(path, "skeletons", "exactly one skeleton", f"{len(labels.skeletons)}")
    sk = labels.skeletons[0]
    names = check_names(path, "skeleton.nodes", list(sk.node_names))
    symmetries = [tuple(p) for p in getattr(sk, "symmetry_names", [])]
    images: list[Image] = []
    instances: list[Instance] = []
    frames: dict[str, bytes] = {}
    predicted = 0
    for f, lf in enumerate(labels.labeled_frames):
        video = lf.video
        rec = f"labeled_frames[{f}] (video {labels.videos.index(video)}, frame {lf.frame_idx})"
        user = [inst for inst in lf.instances if type(inst).__name__ == "Instance"]
        predicted += len(lf.instances) - len(user)
        if not user:
            continue
        img_path, width, height = _frame(path, video, lf.frame_idx, rec, out_dir, frames, labels.videos.index(video))
        images.append(Image(img_path, width, height, rec))
        for i, inst in enumerate(user):
            pts = inst.points
            xy = np.asarray(pts["xy"], dtype=np.float64)
            vis = np.asarray(pts["visible"], dtype=bool)
            placed = np.isfinite(xy).all(axis=1)
            kp = np.zeros((len(names), 3))
            kp[placed, :2] = xy[placed]
            kp[placed, 2] = np.where(vis[placed], 2, 1)
            track = inst.track.name if getattr(inst, "track", None) is not None else None
            instances.append(Instance(len(images) - 1, kp, f"{rec} instance {i}", track_id=track))
    imported = Imported(
        path,
        "sleap",
        names,
        [tuple(e) for e in sk.edge_names],
        images,
        instances,
        flip_pairs=symmetries or None,
        name=sk.name or "sleap",
    )
    if predicted:
        imported.notes["predicted instances"] = predicted
    return imported, frames


def _frame(
    path: str, video: Any, idx: int, rec: str, out_dir: str, frames: dict[str, bytes], v: int
) -> tuple[str, int, int]:
    """The image file of one labelled frame (found, or extracted into ``frames``) and its size."""
    filename = video.filename
    if isinstance(filename, list):
        if not 0 <= idx < len(filename):
            raise AnnotationError(
                path, "frame_idx", f"a frame of the {len(filename)}-image sequence", f"{idx} (missing frame)", rec
            )
        img_path = filename[idx] if os.path.isabs(filename[idx]) else os.path.join(os.path.dirname(path), filename[idx])
        if not os.path.isfile(img_path):
            raise AnnotationError(path, "video.filename", "an existing image file", f"{img_path} (missing frame)", rec)
        from PIL import Image as PILImage

        with PILImage.open(img_path) as im:
            return img_path, int(im.width), int(im.height)
    try:
        n = int(video.shape[0])
        image = np.asarray(video[idx]) if 0 <= idx < n else None
    except Exception as err:
        raise AnnotationError(
            path, "video", "a readable video", f"{filename}: {type(err).__name__}: {err}", rec
        ) from None
    if image is None:
        raise AnnotationError(
            path, "frame_idx", f"a frame of the {n}-frame video {filename}", f"{idx} (missing frame)", rec
        )
    from PIL import Image as PILImage

    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    buf = io.BytesIO()
    PILImage.fromarray(image.astype(np.uint8)).save(buf, format="PNG")
    stem = os.path.splitext(os.path.basename(str(filename)))[0] or f"video{v}"
    rel = f"images/{stem}_{idx:06d}.png"
    frames[rel] = buf.getvalue()
    return os.path.join(out_dir, rel), int(image.shape[1]), int(image.shape[0])
