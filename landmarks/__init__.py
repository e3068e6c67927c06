"""landmarks: one platform for body pose, hand keypoints, face landmarks and head pose.

Dependencies run one way: ``scripts -> landmarks.run -> tasks -> landmarks.*``.
Nothing under ``landmarks/`` imports ``tasks`` or ``hydra`` (except :mod:`landmarks.run`).
"""

__version__ = "0.1.0"
