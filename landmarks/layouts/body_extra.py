"""The 14-point person layouts of CrowdPose and AI Challenger, with the OKS sigmas their benchmarks publish.

* CrowdPose (Li et al., CVPR 2019): 12 limb joints in COCO's order, then head top and neck. OKS
  sigmas from ``crowdposetools/cocoeval.py``: ``[.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87,
  .87, .89, .89, .79, .79] / 10`` (COCO's limb values; head top and neck take the shoulders').
* AI Challenger keypoints (Wu et al., 2017): right arm, left arm, right leg, left leg, head top,
  neck. Sigmas from the challenge's ``keypoint_eval.py``, which stores ``delta = 2 * sigma``.

Both are used through COCO-style JSON files (``conf/data/crowdpose.yaml``, ``conf/data/aic.yaml``).
To add another layout: a function returning a :class:`~landmarks.layouts.spec.KeypointSpec`,
named in the data config's ``spec`` and through ``keypoint_layout`` for ``task=body``.
"""

from __future__ import annotations

from landmarks.layouts.spec import COCO17_NAMES, COCO17_SIGMAS, KeypointSpec

# CrowdPose's 12 limb joints are COCO's, in COCO's order; then head top and neck.
CROWDPOSE14_NAMES = (*COCO17_NAMES[5:], "head_top", "neck")
# COCO's limb sigmas; head top and neck take the shoulders' (crowdposetools, mmpose's crowdpose config).
CROWDPOSE14_SIGMAS = (*COCO17_SIGMAS[5:], COCO17_SIGMAS[5], COCO17_SIGMAS[6])

AIC14_NAMES = (
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "head_top",
    "neck",
)
AIC14_SIGMAS = (
    0.01388152,
    0.01515228,
    0.01057665,
    0.01417709,
    0.01497891,
    0.01402144,
    0.03909642,
    0.03686941,
    0.01981803,
    0.03843971,
    0.03412318,
    0.02415081,
    0.01291456,
    0.01236173,
)


def crowdpose14() -> KeypointSpec:
    """CrowdPose's 14 keypoints; torso pair: left shoulder - right hip (DeepPose's PDJ torso)."""
    return KeypointSpec(
        name="crowdpose14",
        names=CROWDPOSE14_NAMES,
        flip_pairs=((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)),
        skeleton=(
            (12, 13),
            (13, 0),
            (13, 1),
            (0, 2),
            (2, 4),
            (1, 3),
            (3, 5),
            (0, 6),
            (1, 7),
            (6, 7),
            (6, 8),
            (8, 10),
            (7, 9),
            (9, 11),
        ),
        sigmas=CROWDPOSE14_SIGMAS,
        torso_pair=(0, 7),
        upper_body=(0, 1, 2, 3, 4, 5, 12, 13),
    )


def aic14() -> KeypointSpec:
    """AI Challenger's 14 keypoints; torso pair: left shoulder - right hip."""
    return KeypointSpec(
        name="aic14",
        names=AIC14_NAMES,
        flip_pairs=((0, 3), (1, 4), (2, 5), (6, 9), (7, 10), (8, 11)),
        skeleton=(
            (12, 13),
            (13, 0),
            (13, 3),
            (0, 1),
            (1, 2),
            (3, 4),
            (4, 5),
            (0, 6),
            (3, 9),
            (6, 9),
            (6, 7),
            (7, 8),
            (9, 10),
            (10, 11),
        ),
        sigmas=AIC14_SIGMAS,
        torso_pair=(3, 6),
        upper_body=(0, 1, 2, 3, 4, 5, 12, 13),
    )
