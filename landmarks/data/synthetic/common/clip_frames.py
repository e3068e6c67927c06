"""What the clip makers share: the request checks, the clip's random stream and the frame loop.

Every clip maker (:mod:`..body.clip`, :mod:`..hand.clip`, :mod:`..face.clip`) checks its
request the same way (:func:`check_clip_request`) and draws everything from one generator,
``np.random.default_rng([seed, stream])`` with a stream number of its own, apart from the
image renderers' streams; the background is its first draw (:func:`clip_stream`).

The makers of articulated instances (bodies, hands) also paint their frames alike
(:func:`paint_clip_frames`): per frame, every instance is placed and turned into parts, the
parts and the static occluders are drawn far to near by
:func:`..common.raster.paint_instances` (one blur sigma for the whole clip), and every
instance that kept a box is labelled by the image renderer's own rules, under track id
``i + 1``. A sibling maker supplies two small functions: ``place(t, i)`` and ``label(i, ...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from landmarks.data.synthetic.common.clip import Clip, ClipInstance
from landmarks.data.synthetic.common.motion import check_motions, key_frames
from landmarks.data.synthetic.common.raster import PaintedInstances, paint_instances
from landmarks.data.synthetic.common.texture import background

if TYPE_CHECKING:
    from landmarks.data.synthetic.body.figure import Part

__all__ = ["check_clip_request", "clip_stream", "paint_clip_frames"]

#: Whatever a maker keeps from placing an instance in a frame, to label it after painting.
Placement = TypeVar("Placement")
#: One drawable item of a frame: ``(depth (m, larger is farther), owner index or -1, parts back to front)``.
Item = tuple[float, int, Sequence["Part"]]


def check_clip_request(
    who: str, num_frames: int, motions: Sequence[str] | None, count: int, count_name: str, max_count: int
) -> None:
    """Raises ``ValueError`` (naming ``who`` and the argument) for a request no clip can satisfy.

    Args:
        who: the maker's name, for the messages.
        num_frames: T (>= 3: three key states).
        motions: per instance, a mode of :data:`..common.motion.MOTIONS`, or None.
        count: the number of instances asked for.
        count_name: the argument that gave ``count`` (e.g. ``"num_people"``).
        max_count: the most instances the maker draws.
    """
    if not 1 <= count <= max_count:
        raise ValueError(f"{who}: {count_name} must be in [1, {max_count}], got {count}")
    check_motions(motions, count, who)
    key_frames(num_frames)  # checks num_frames


def clip_stream(seed: int, stream: int, width: int, height: int) -> tuple[np.random.Generator, np.ndarray]:
    """The clip's generator and the background it draws first.

    Args:
        seed: the clip's seed (the same seed gives the same clip).
        stream: the maker's own stream number, apart from the image renderers' streams.
        width: W px.
        height: H px.

    Returns:
        ``(np.random.default_rng([seed, stream]), background (H, W, 3) uint8 RGB)``.
    """
    rng = np.random.default_rng([int(seed), stream])
    return rng, background(rng, width, height)


def paint_clip_frames(
    clip: Clip,
    num_frames: int,
    rng: np.random.Generator,
    backdrop: np.ndarray,
    static: Sequence[Item],
    num_instances: int,
    place: Callable[[int, int], tuple[float, Sequence[Part], Placement]],
    label: Callable[[int, Placement, PaintedInstances], tuple[np.ndarray, np.ndarray]],
    handedness: Sequence[str] | None = None,
    unboxed_code: int | None = None,
) -> Clip:
    """Paints ``num_frames`` frames into ``clip`` and labels the instances of each (module docstring).

    Args:
        clip: an empty clip (:func:`..common.clip.empty_clip`); frames and instances are appended.
        num_frames: T.
        rng: the clip's generator; one draw here, the seed of the blur every frame shares.
        backdrop: ``(H, W, 3)`` uint8 RGB background of every frame (not changed).
        static: items drawn in every frame (occluders, owner -1).
        num_instances: instances ``0 .. num_instances - 1``.
        place: ``(t, i) -> (depth, parts, placement)`` of instance ``i`` in frame ``t``.
        label: ``(i, placement, painted) -> (keypoints (K, 2), visible (K,))`` of a boxed instance.
        handedness: per instance, ``"left"`` or ``"right"`` written with it (hands), or None.
        unboxed_code: a part code left out of boxes and areas (see :func:`..common.raster.paint_instances`).

    Returns:
        ``clip``.
    """
    blur_seed = int(rng.integers(2**31))  # one blur sigma for every frame
    for t in range(num_frames):
        items: list[Item] = list(static)
        placements: list[Any] = []
        for i in range(num_instances):
            depth, parts, placement = place(t, i)
            items.append((depth, i, parts))
            placements.append(placement)
        items.sort(key=lambda it: -it[0])
        painted = paint_instances(backdrop.copy(), items, num_instances, np.random.default_rng(blur_seed), unboxed_code)
        frame: list[ClipInstance] = []
        for i, box in enumerate(painted.boxes):
            if box is None:
                continue  # outside the frame or fully hidden
            kp, vis = label(i, placements[i], painted)
            side = handedness[i] if handedness is not None else None
            frame.append(ClipInstance(i + 1, kp, vis, painted.xywh(i), float(painted.areas[i]), handedness=side))
        clip.frames.append(painted.image)
        clip.instances.append(frame)
    return clip
