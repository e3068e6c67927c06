"""Renders one face from :class:`.face_scene.FaceParams`: pose, camera, shading, landmark visibility.

Pipeline: identity and expression deform the template (:mod:`.face_mesh`), hair adds volume,
the jaw opens by skinning; the head is posed with :func:`landmarks.geometry.euler_to_matrix`
exactly as that module defines it (a model point ``p`` goes to ``R.T @ p`` in the camera frame
with y up and z towards the viewer, then to OpenCV's frame ``diag(1, -1, -1)``: x right, y down,
z forward) and placed on the optical axis; the principal point (not the head) moves to put the
face where the parameters want it, so the label is the pose seen along the ray through the head
centre, i.e. exactly what a crop of the face shows. Shoulders follow a separate torso pose and
the neck blends the two. The mesh is rasterised (:mod:`.face_raster`), textured
(:mod:`.face_texture`) and lit per vertex (Gouraud) with a Lambertian term (wrapped a little, as
skin scatters light) plus a Blinn-Phong highlight.

Visibility (COCO): 0 outside the image; 1 when the landmark's surface normal faces away from
the camera by more than :data:`GRAZING` (silhouette points such as the chin stay visible; the
jaw-line points, on the mandible's edge, use the face side's normal), when something is nearer
the camera all around its pixel (the nose, the cheek, glasses, the neck), when a fringe covers
it, or (pupils) when the eye is nearly closed; else 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from landmarks.data.synthetic.face.contours import FaceFeatures, landmark_chart
from landmarks.data.synthetic.face.glasses import glasses
from landmarks.data.synthetic.face.mesh import JAW_HINGE, NECK_PIVOT, Template, attach, face_template, vertex_normals
from landmarks.data.synthetic.face.raster import Raster, rasterize
from landmarks.data.synthetic.face.scene import FaceParams, features
from landmarks.data.synthetic.face.surface import EYE_V, smoothstep
from landmarks.data.synthetic.face.texture import hair_base, hairline, paint_atlas
from landmarks.geometry import euler_to_matrix

__all__ = ["FaceRender", "mean_landmarks", "render_face"]

_CV = np.array([1.0, -1.0, -1.0])  # model-to-camera axis flip (y up -> down, z out -> forward)
GRAZING = 0.17  # a landmark whose normal faces away by less than asin(0.17) ~ 10 deg still counts as facing


@dataclass
class FaceRender:
    """One rendered face.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB (background included, not yet blurred).
        keypoints: ``(K, 2)`` float64 image px (not clipped).
        visible: ``(K,)`` float32 COCO visibility 0/1/2.
        model_points: ``(K, 3)`` landmarks in the model frame (cm), after identity and expression.
        cam_points: ``(K, 3)`` the same in the camera frame (cm; x right, y down, z forward).
        anchors: ``(68, 3)`` the iBUG-68 landmarks in the camera frame whatever the layout (they
            place the face in the image and occluders on it, so both layouts get the same picture).
        camera: ``(3, 3)`` intrinsic matrix (OpenCV).
        distance: camera-frame depth of the head origin, cm.
        depth: ``(H, W)`` float32 depth of the visible surface (inf on the background).
        person: ``(H, W)`` bool pixels of the head, neck, shoulders (and glasses).
    """

    image: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    model_points: np.ndarray
    cam_points: np.ndarray
    anchors: np.ndarray
    camera: np.ndarray
    distance: float
    depth: np.ndarray
    person: np.ndarray


def _posed_model(p: FaceParams, tpl: Template) -> np.ndarray:
    """Template vertices with identity, expression, hair volume and the jaw, model frame (cm)."""
    v = tpl.mean + np.tensordot(p.alpha, tpl.basis, 1) + p.smile * tpl.smile + p.brows * tpl.brows
    hs = p.look.hair_style
    if hs.front < 90 and hs.thickness > 0:
        n = len(tpl.cols) * len(tpl.rows)
        u, el = tpl.chart[:n, 0], tpl.chart[:n, 1]
        base = hair_base(u, hs)
        v[:n] += (hs.thickness * smoothstep(base, base + 8.0, el))[:, None] * tpl.radial[:n]
    a = np.radians(p.jaw_deg)
    rj = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a), -np.sin(a)], [0.0, np.sin(a), np.cos(a)]])
    return v + tpl.jaw[:, None] * ((v - JAW_HINGE) @ rj.T + JAW_HINGE - v)


def _camera(lm68: np.ndarray, rot: np.ndarray, p: FaceParams, width: int) -> tuple[float, float, float, float]:
    """``(f, cx, cy, distance)`` putting the 68-landmark box at ``p.box_size`` / ``p.box_centre``."""
    f = 0.5 * width / np.tan(np.radians(0.5 * p.fov))
    cam = (lm68 @ rot) * _CV
    dist = f * max(np.ptp(cam[:, 0]), np.ptp(cam[:, 1])) / p.box_size + cam[:, 2].max()
    for _ in range(3):
        uv = f * cam[:, :2] / (cam[:, 2:] + dist)
        dist *= max(np.ptp(uv[:, 0]), np.ptp(uv[:, 1])) / p.box_size
    uv = f * cam[:, :2] / (cam[:, 2:] + dist)
    centre = 0.5 * (uv.min(0) + uv.max(0))
    return f, p.box_centre[0] - centre[0], p.box_centre[1] - centre[1], dist


def render_face(p: FaceParams, layout: str, width: int, height: int, background: np.ndarray) -> FaceRender:
    """Renders a face over ``background`` ``(H, W, 3)`` uint8 and labels a layout's landmarks.

    Args:
        p: the face's parameters.
        layout: ``"ibug68"`` or ``"wflw98"``.
        width: image width W.
        height: image height H.
        background: ``(H, W, 3)`` uint8 RGB (not modified).

    Returns:
        The :class:`FaceRender`.
    """
    tpl = face_template(3.0 if min(width, height) >= 224 else 4.0)
    ft = features(p)
    model = _posed_model(p, tpl)
    uv, upper = landmark_chart(layout, ft)
    idx, w = attach(tpl, uv, upper)
    lm = np.einsum("kj,kjc->kc", w, model[idx])
    i68, w68 = (idx, w) if layout == "ibug68" else attach(tpl, *landmark_chart("ibug68", ft))
    rot, rot_t = euler_to_matrix(*np.stack([p.euler, p.torso], 1))
    lm68 = np.einsum("kj,kjc->kc", w68, model[i68])
    f, cx, cy, dist = _camera(lm68, rot, p, width)
    offset = np.array([0.0, 0.0, dist])
    head = (model @ rot) * _CV + offset
    torso = ((model - NECK_PIVOT) @ rot_t + NECK_PIVOT @ rot) * _CV + offset
    cam = tpl.rig[:, None] * head + (1.0 - tpl.rig[:, None]) * torso
    project = lambda x: f * x[:, :2] / x[:, 2:] + np.array([cx, cy])  # noqa: E731
    xy = project(cam)
    normals = vertex_normals(tpl, cam)
    t = tpl.tris
    area = (xy[t[:, 1], 0] - xy[t[:, 0], 0]) * (xy[t[:, 2], 1] - xy[t[:, 0], 1]) - (xy[t[:, 1], 1] - xy[t[:, 0], 1]) * (
        xy[t[:, 2], 0] - xy[t[:, 0], 0]
    )
    tris = t[(area < 0) | tpl.two_sided]
    z, tex = cam[:, 2], tpl.tex
    if p.look.glasses is not None:
        eyes = _points(tpl, model, np.array([[-ft.eye_u, EYE_V], [ft.eye_u, EYE_V]]))
        ears = _points(tpl, model, np.array([[-88.0, 4.0], [88.0, 4.0]]))
        g = glasses(eyes, ears, lambda x: (x @ rot) * _CV + offset, project, f, p.look.sunglasses)
        n0 = len(xy)
        xy, z = np.concatenate([xy, g.xy]), np.concatenate([z, g.z])
        tex, normals = np.concatenate([tex, g.tex]), np.concatenate([normals, g.normal])
        tris = np.concatenate([tris, g.tris + n0])
        cam = np.concatenate([cam, np.concatenate([(g.xy - [cx, cy]) * g.z[:, None] / f, g.z[:, None]], 1)])
    tint = np.concatenate([tpl.tint, np.ones(len(xy) - len(tpl.tint))])
    r = rasterize(xy, z, tris, width, height)
    image = background.copy()
    covered = r.tri >= 0
    if covered.any():
        image[covered] = _shade(p, r, covered, tris, cam, normals, tex, tint, width, height, ft)
    lm_cam = (lm @ rot) * _CV + offset
    kp = project(lm_cam)
    n_idx, n_w = attach(tpl, _normal_chart(uv, 33 if layout == "wflw98" else 17), upper)
    lm_n = np.einsum("kj,kjc->kc", n_w, normals[n_idx])
    vis = _visibility(kp, lm_cam, lm_n, r.depth, f, width, height)
    hs = p.look.hair_style
    if hs.front < 90:
        vis[(uv[:, 1] >= hairline(uv[:, 0], hs)) & (vis == 2)] = 1.0
    if layout == "wflw98":
        for k, o in ((96, p.eye_open[0]), (97, p.eye_open[1])):
            if o < 0.3 and vis[k] == 2:
                vis[k] = 1.0
    k_mat = np.array([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]])
    anchors = (lm68 @ rot) * _CV + offset
    return FaceRender(image, kp, vis, lm, lm_cam, anchors, k_mat, float(dist), r.depth, covered)


def mean_landmarks(layout: str) -> np.ndarray:
    """Landmarks of the neutral face (mean identity, no expression, open eyes), model frame.

    A 3-D mean face for landmark-based head pose: ``cv2.solvePnP`` of a layout's 2-D landmarks
    against these points gives a rotation ``R_cv``; ``R = R_cv.T @ diag(1, -1, -1)`` is then the
    :mod:`landmarks.geometry` matrix, so ``matrix_to_euler(R)`` is ``(yaw, pitch, roll)``.

    Args:
        layout: ``"ibug68"`` or ``"wflw98"``.

    Returns:
        ``(K, 3)`` float64, cm (x: subject's left, y: up, z: out of the face).
    """
    tpl = face_template(3.0)
    idx, w = attach(tpl, *landmark_chart(layout, FaceFeatures()))
    return np.einsum("kj,kjc->kc", w, tpl.mean[idx])


def _points(tpl: Template, model: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Model-frame points ``(K, 3)`` of chart points ``(K, 2)`` on the posed mesh."""
    idx, w = attach(tpl, uv)
    return np.einsum("kj,kjc->kc", w, model[idx])


def _normal_chart(uv: np.ndarray, n_jaw: int) -> np.ndarray:
    """Chart points whose normals judge each landmark's facing.

    The jaw-line landmarks (the first ``n_jaw``) sit on the edge of the mandible, where the
    surface turns from the face to its underside; they take the face side's normal, 5 degrees
    towards the face centre. Every other landmark uses its own point.
    """
    out = uv.copy()
    inward = np.array([0.0, -25.0]) - uv[:n_jaw]
    out[:n_jaw] += 5.0 * inward / np.linalg.norm(inward, axis=1, keepdims=True)
    return out


def _visibility(
    kp: np.ndarray, cam: np.ndarray, normal: np.ndarray, depth: np.ndarray, f: float, width: int, height: int
) -> np.ndarray:
    """COCO visibility from the image bounds, the normals and the z-buffer."""
    inside = (kp[:, 0] >= 0) & (kp[:, 0] <= width - 1) & (kp[:, 1] >= 0) & (kp[:, 1] <= height - 1)
    vis = np.where(inside, 2.0, 0.0).astype(np.float32)
    # Facing: the normal turns towards the camera, or away by less than ~10 deg (a silhouette point,
    # e.g. the chin seen from the front, which annotators mark visible); nearer geometry still hides it.
    cos = np.einsum("kc,kc->k", normal, -cam) / np.maximum(
        np.linalg.norm(normal, axis=1) * np.linalg.norm(cam, axis=1), 1e-12
    )
    facing = cos > -GRAZING
    px = np.clip(np.round(kp).astype(int), 0, [width - 1, height - 1])
    # The farthest surface within a pixel of the landmark: a point on a silhouette (the chin, the jaw
    # line, the tip of a nose in profile) is visible where its own surface is, and the depth jumps there.
    zbuf = cv2.dilate(depth, np.ones((3, 3), np.uint8))[px[:, 1], px[:, 0]].astype(np.float64)
    slope = np.minimum(np.linalg.norm(normal[:, :2], axis=1) / np.maximum(np.abs(normal[:, 2]), 1e-6), 6.0)
    tol = 0.4 + 0.75 * cam[:, 2] / f * slope
    hidden = ~facing | (cam[:, 2] > zbuf + tol)
    vis[inside & hidden] = 1.0
    return vis


def _vertex_light(p: FaceParams, normals: np.ndarray, cam: np.ndarray, tint: np.ndarray) -> np.ndarray:
    """Per-vertex ``(albedo factor, additive highlight)`` ``(V, 2)`` (Gouraud shading).

    Lambertian term wrapped by 0.25 (light bleeds past the terminator as on skin) times the
    vertex tint, plus a Blinn-Phong highlight (exponent 24) for a viewer along the optical axis.
    Two-sided parts (ears, lenses) are lit on the side that faces the camera.
    """
    n = normals * np.where(np.einsum("vc,vc->v", normals, cam) > 0, -1.0, 1.0)[:, None]
    light = p.light
    half = light + np.array([0.0, 0.0, -1.0])
    half /= np.linalg.norm(half)
    diffuse = np.clip((n @ light + 0.25) / 1.25, 0.0, 1.0)
    spec = p.specular * 255.0 * np.clip(n @ half, 0.0, 1.0) ** 24
    return np.stack([tint * (p.ambient + p.diffuse * diffuse), spec], 1)


def _shade(
    p: FaceParams,
    r: Raster,
    covered: np.ndarray,
    tris: np.ndarray,
    cam: np.ndarray,
    normals: np.ndarray,
    tex: np.ndarray,
    tint: np.ndarray,
    width: int,
    height: int,
    ft: FaceFeatures,
) -> np.ndarray:
    """Colours ``(M, 3)`` uint8 of the covered pixels: atlas albedo times interpolated vertex light."""
    attrs = np.concatenate([_vertex_light(p, normals, cam, tint), tex], 1).astype(np.float32)  # (V, 4)
    tid = tris[r.tri[covered]]  # (M, 3)
    a = np.einsum("mk,mkc->mc", r.bary[covered], attrs[tid])
    scale = max(1.0, round(min(width, height) / 160.0, 2))  # atlas px per degree: ~1.5x the face's image px
    atlas = paint_atlas(p.look, ft, scale)
    mx = np.full((height, width), -1.0, np.float32)
    my = np.full((height, width), -1.0, np.float32)
    mx[covered], my[covered] = a[:, 2] * scale - 0.5, a[:, 3] * scale - 0.5
    albedo = cv2.remap(atlas, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[covered]
    return np.clip(albedo * a[:, :1] + a[:, 1:2], 0, 255).astype(np.uint8)
