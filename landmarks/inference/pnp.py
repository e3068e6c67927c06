"""Landmark-based head pose: ``cv2.solvePnP`` of 68 iBUG landmarks against a 3-D mean face.

The classical alternative to a learned pose head (Hopenet, Ruiz et al., CVPR-W 2018): fit the
rigid pose that projects a fixed 3-D face model onto the 2-D landmarks. The solver is OpenCV's
Perspective-n-Point: an EPnP initialisation (Lepetit, Moreno-Noguer & Fua, "EPnP: An Accurate
O(n) Solution to the PnP Problem", IJCV 2009) refined by ``SOLVEPNP_ITERATIVE`` (Levenberg-Marquardt
on the reprojection error).

Model
    :data:`MEAN_FACE_68` ``(68, 3)``, **cm**, the neutral head of the synthetic face renderer
    (:func:`landmarks.data.synthetic.face.figure.mean_landmarks`, mean identity, no expression),
    stored as a constant so inference does not need the renderer; a test keeps the two equal.
    Axes of the model (the :mod:`landmarks.geometry` model frame): x towards the subject's left,
    y up, z out of the face; the origin is the head's centre of rotation, about 12 cm behind the
    nose tip, so the translation found is the head centre's.

Camera
    A pinhole with no distortion, principal point at the image centre ``((W - 1) / 2, (H - 1) / 2)``
    and a focal length of ``focal`` px, by default the image width (a ~53 degree horizontal field of
    view, a usual guess for an uncropped photograph). OpenCV's camera frame: x right, y down, z forward.
    The guess matters for tight crops: the renderer's images are portrait crops whose true focal
    length is 2-6 image widths, and there (visible landmarks, random identity and expression) the
    median geodesic error to the label is 8 degrees with ``focal=W``, 2.3 with ``2W``, 1.6 with
    ``3W`` and 1.4 with the renderer's own camera (0.2 for the neutral face).

Convention (derived, and tested through a hand-made projection)
    The renderer puts a model point ``X`` at ``F @ R.T @ X + t`` in OpenCV's camera frame, with
    ``R`` the :func:`landmarks.geometry.euler_to_matrix` matrix and ``F = diag(1, -1, -1)``
    (y up -> down, z towards the viewer -> forward). ``solvePnP`` finds ``R_cv`` with
    ``x_cam = R_cv @ X + t``, so ``R_cv = F @ R.T`` and ``R = R_cv.T @ F``;
    :func:`landmarks.geometry.matrix_to_euler` then gives ``(yaw, pitch, roll)`` degrees.

Along the ray
    A learned head-pose model sees a crop and predicts the pose *as seen along the ray through the
    head* (the renderer's labels are exactly that: it shifts the principal point, not the head).
    A head off the optical axis is seen obliquely, so with ``along_ray=True`` (default) the camera
    is turned, without twist about the ray, to look at the head centre before the angles are read:
    ``R_cv <- Q @ R_cv`` with ``Q`` the smallest rotation taking ``t / |t|`` to ``(0, 0, 1)``.
    ``along_ray=False`` returns the pose relative to the camera's optical axis.

Layouts
    :func:`fits_layout` says whether a keypoint layout is the one :data:`MEAN_FACE_68` models (the
    iBUG 68 points, by their names and order); inference fits PnP only for such layouts. A sibling
    layout (e.g. WFLW-98) needs only its own ``(K, 3)`` model: pass it as ``model``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from landmarks.geometry import matrix_to_euler
from landmarks.layouts.face import ibug68

__all__ = [
    "MEAN_FACE_68",
    "PnPPose",
    "camera_matrix",
    "fits_layout",
    "ray_rotation",
    "solve_head_pose",
    "solve_head_poses",
]

MEAN_FACE_68 = np.array(
    [
        (-7.231, -0.385, 1.275),
        (-7.050, -2.269, 1.509),
        (-6.516, -3.928, 2.279),
        (-5.782, -5.528, 2.983),  # 0-3 jaw
        (-4.963, -7.085, 3.772),
        (-3.975, -8.336, 4.812),
        (-2.792, -9.189, 6.045),
        (-1.391, -9.796, 7.210),  # 4-7
        (0.000, -9.958, 8.411),
        (1.391, -9.796, 7.210),
        (2.792, -9.189, 6.045),
        (3.975, -8.336, 4.812),  # 8-11
        (4.963, -7.085, 3.772),
        (5.782, -5.528, 2.983),
        (6.516, -3.928, 2.279),
        (7.050, -2.269, 1.509),  # 12-15
        (7.231, -0.385, 1.275),
        (-4.931, 1.877, 7.315),
        (-4.271, 2.549, 7.984),
        (-3.347, 2.884, 8.702),  # 16; 17-19 brow
        (-2.249, 2.799, 9.343),
        (-1.107, 2.367, 9.839),
        (1.107, 2.367, 9.839),
        (2.249, 2.799, 9.343),  # 20-23
        (3.347, 2.884, 8.702),
        (4.271, 2.549, 7.984),
        (4.931, 1.877, 7.315),
        (0.000, 1.206, 10.351),  # 24-26; 27 nose
        (0.000, -0.391, 10.616),
        (0.000, -1.958, 11.258),
        (0.000, -3.537, 11.910),
        (-1.241, -4.664, 9.611),  # 28-31
        (-0.596, -4.996, 9.456),
        (0.000, -5.177, 9.336),
        (0.596, -4.996, 9.456),
        (1.241, -4.664, 9.611),  # 32-35
        (-4.312, 0.214, 7.622),
        (-3.427, 0.580, 8.219),
        (-2.440, 0.603, 8.826),
        (-1.468, 0.066, 9.260),  # 36-39 eyes
        (-2.499, -0.184, 8.788),
        (-3.466, -0.156, 8.213),
        (1.468, 0.066, 9.260),
        (2.440, 0.603, 8.826),  # 40-43
        (3.427, 0.580, 8.219),
        (4.312, 0.214, 7.622),
        (3.466, -0.156, 8.213),
        (2.499, -0.184, 8.788),  # 44-47
        (-2.385, -7.097, 8.027),
        (-1.663, -6.806, 8.765),
        (-0.857, -6.590, 9.293),
        (0.000, -6.729, 9.374),  # 48-51 lips
        (0.857, -6.590, 9.293),
        (1.663, -6.806, 8.765),
        (2.385, -7.097, 8.027),
        (1.681, -7.673, 8.359),  # 52-55
        (0.878, -8.094, 8.804),
        (0.000, -8.264, 8.942),
        (-0.878, -8.094, 8.804),
        (-1.681, -7.673, 8.359),  # 56-59
        (-2.279, -7.115, 8.102),
        (-1.173, -7.264, 8.803),
        (0.000, -7.319, 9.046),
        (1.173, -7.264, 8.803),  # 60-63
        (2.279, -7.115, 8.102),
        (1.173, -7.264, 8.803),
        (0.000, -7.319, 9.046),
        (-1.173, -7.264, 8.803),  # 64-67
    ],
    dtype=np.float64,
)
"""The iBUG-68 landmarks of the renderer's neutral head, ``(68, 3)`` cm, model frame (module docstring)."""

_MODEL_NAMES = tuple(ibug68().names)


def fits_layout(spec: Any) -> bool:
    """Whether :data:`MEAN_FACE_68` models ``spec``'s keypoints: the iBUG 68 points, same names, same order.

    Args:
        spec: a :class:`~landmarks.layouts.spec.KeypointSpec`, or ``None`` (a task without keypoints).
    """
    return spec is not None and tuple(getattr(spec, "names", ())) == _MODEL_NAMES


_F = np.diag([1.0, -1.0, -1.0])  # geometry's camera frame (y up, z to the viewer) <-> OpenCV's


@dataclass(frozen=True)
class PnPPose:
    """One face's landmark-based pose.

    Attributes:
        euler: ``(3,)`` yaw, pitch, roll degrees (:mod:`landmarks.geometry`).
        rotation: ``(3, 3)`` the :mod:`landmarks.geometry` matrix ``R`` of ``euler``.
        translation: ``(3,)`` the head centre in OpenCV's camera frame, model units (cm).
        reprojection_error: mean distance, px, between the used landmarks and the fitted model's
            projection (before the along-the-ray turn, which changes no pixel).
        num_points: landmarks used.
    """

    euler: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    reprojection_error: float
    num_points: int


def camera_matrix(width: int, height: int, focal: float | None = None) -> np.ndarray:
    """``(3, 3)`` intrinsics: focal ``focal`` px (default: the image width), principal point at the centre."""
    f = float(width if focal is None else focal)
    if f <= 0:
        raise ValueError(f"camera_matrix: focal must be positive px, got {f}")
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def ray_rotation(direction: np.ndarray) -> np.ndarray:
    """The smallest rotation ``Q`` ``(3, 3)`` with ``Q @ d / |d| = (0, 0, 1)`` (no twist about the ray).

    Args:
        direction: ``(3,)`` a ray in OpenCV's camera frame (z forward).
    """
    d = np.asarray(direction, dtype=np.float64).reshape(3)
    d = d / np.linalg.norm(d)
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(d, z)
    s, c = np.linalg.norm(axis), float(d @ z)
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = axis / s
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + s * kx + (1.0 - c) * (kx @ kx)  # Rodrigues' formula


def solve_head_pose(
    landmarks: np.ndarray,
    image_size: tuple[int, int],
    mask: np.ndarray | None = None,
    focal: float | None = None,
    camera: np.ndarray | None = None,
    model: np.ndarray = MEAN_FACE_68,
    along_ray: bool = True,
    min_points: int = 6,
) -> PnPPose | None:
    """Head pose of one face from its 2-D landmarks (EPnP, then iterative refinement).

    Args:
        landmarks: ``(K, 2)`` image px, in the order of ``model`` (68 iBUG by default).
        image_size: ``(W, H)`` px, for the default camera.
        mask: ``(K,)`` bool, the landmarks to use (e.g. the visible or confident ones); all by
            default. Non-finite landmarks are always left out.
        focal: focal length px (default: the image width); ignored when ``camera`` is given.
        camera: ``(3, 3)`` intrinsics, overriding the default camera.
        model: ``(K, 3)`` 3-D points, model frame (module docstring).
        along_ray: read the angles along the ray through the head centre (module docstring).
        min_points: fewest usable landmarks to attempt a fit.

    Returns:
        The :class:`PnPPose`, or ``None`` when fewer than ``min_points`` landmarks are usable or
        the solver fails (a face behind the camera counts as a failure).
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    obj = np.asarray(model, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or obj.shape != (len(pts), 3):
        raise ValueError(
            f"solve_head_pose: expected landmarks (K, 2) and model (K, 3), got {pts.shape} and {obj.shape}"
        )
    use = np.isfinite(pts).all(axis=1)
    if mask is not None:
        m = np.asarray(mask, dtype=bool).reshape(-1)
        if m.shape != use.shape:
            raise ValueError(f"solve_head_pose: mask has {m.shape[0]} entries, landmarks {len(pts)}")
        use &= m
    n = int(use.sum())
    if n < max(int(min_points), 4):
        return None
    w, h = int(image_size[0]), int(image_size[1])
    k_mat = camera_matrix(w, h, focal) if camera is None else np.asarray(camera, dtype=np.float64)
    img, obj = np.ascontiguousarray(pts[use]), np.ascontiguousarray(obj[use])
    try:
        ok, rvec, tvec = cv2.solvePnP(obj, img, k_mat, None, flags=cv2.SOLVEPNP_EPNP)
        if not ok or tvec[2, 0] <= 0:  # EPnP can land on the mirror solution: start from an upright frontal face
            rvec, tvec = np.array([[np.pi], [0.0], [0.0]]), np.array([[0.0], [0.0], [_guess_depth(img, k_mat)]])
        ok, rvec, tvec = cv2.solvePnP(
            obj, img, k_mat, None, rvec.copy(), tvec.copy(), useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE
        )
    except cv2.error:  # degenerate input (e.g. all landmarks on one point)
        return None
    if not ok or tvec[2, 0] <= 0 or not np.isfinite(rvec).all():
        return None
    proj, _ = cv2.projectPoints(obj, rvec, tvec, k_mat, None)
    error = float(np.linalg.norm(proj.reshape(-1, 2) - img, axis=1).mean())
    r_cv = cv2.Rodrigues(rvec)[0]
    t = tvec.reshape(3)
    if along_ray:
        r_cv = ray_rotation(t) @ r_cv
    rotation = r_cv.T @ _F
    euler = np.array([float(a) for a in matrix_to_euler(rotation)])
    return PnPPose(euler=euler, rotation=rotation, translation=t, reprojection_error=error, num_points=n)


def _guess_depth(img: np.ndarray, k_mat: np.ndarray) -> float:
    """Distance, model units, at which a 15 cm wide face spans the landmarks' extent in px."""
    return float(k_mat[0, 0] * 15.0 / max(float(np.ptp(img, axis=0).max()), 1.0))


def solve_head_poses(
    landmarks: np.ndarray,
    image_size: tuple[int, int],
    mask: np.ndarray | None = None,
    **kwargs: object,
) -> np.ndarray:
    """:func:`solve_head_pose` for a batch ``(N, K, 2)`` (mask ``(N, K)``); ``(N, 3)`` degrees, nan where it fails."""
    pts = np.asarray(landmarks, dtype=np.float64)
    out = np.full((len(pts), 3), np.nan)
    for i in range(len(pts)):
        pose = solve_head_pose(pts[i], image_size, None if mask is None else mask[i], **kwargs)  # type: ignore[arg-type]
        if pose is not None:
            out[i] = pose.euler
    return out
