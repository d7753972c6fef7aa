"""Finding faces in one frame: downscale, run dlib's HOG or CNN detector, map the boxes back.

Detection cost grows with the pixels searched, so a frame is first shrunk to at most
:data:`~.config.DETECT_MAX_SIDE` pixels on its longer side; the detector may then upsample it to see
small faces. With ``hog+cnn`` (the default) a frame where HOG finds no face is searched again by the CNN on a
:data:`~.config.FALLBACK_MAX_SIDE`-pixel copy, for big turned faces (profiles) that HOG cannot see.
Boxes are returned in the original frame's pixels, clipped to the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from . import config, models
from .errors import FaceError


@dataclass(frozen=True)
class FaceBox:
    """One detected face: ``left, top, right, bottom`` in full-frame pixels (right/bottom exclusive) and the
    detector's score (HOG: SVM margin; CNN: MMOD confidence; with hog+cnn, the CNN's on fallback frames)."""

    left: int
    top: int
    right: int
    bottom: int
    score: float

    def __post_init__(self) -> None:
        if self.right <= self.left or self.bottom <= self.top:
            raise ValueError(f"empty face box {self}")

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return self.width * self.height

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.left, self.top, self.right, self.bottom)


@dataclass(frozen=True)
class DetectorSettings:
    """Which detector, how far frames are shrunk first and how often it upsamples, and (``hog+cnn``) the size
    of the CNN fallback's copy; ``key`` names them in the cache (a change of any of them is a different set of
    faces)."""

    name: str = config.DETECTOR
    max_side: Optional[int] = None
    upsample: Optional[int] = None
    fallback_side: Optional[int] = None

    def __post_init__(self) -> None:
        if self.name not in config.DETECTORS:
            raise FaceError(f"Unknown face detector {self.name!r}: choose one of {', '.join(config.DETECTORS)}.")
        if self.max_side is None:
            object.__setattr__(self, "max_side", config.DETECT_MAX_SIDE[self.name])
        if self.upsample is None:
            object.__setattr__(self, "upsample", config.UPSAMPLE[self.name])
        if self.fallback_side is None and self.name == "hog+cnn":
            object.__setattr__(self, "fallback_side", config.FALLBACK_MAX_SIDE)
        if self.name != "hog+cnn":
            object.__setattr__(self, "fallback_side", None)
        if self.fallback_side is not None and self.fallback_side < 64:
            raise ValueError(f"fallback_side must be at least 64 px, got {self.fallback_side}")
        if self.max_side is not None and self.max_side < 64:
            raise ValueError(f"max_side must be at least 64 px, got {self.max_side}")
        if self.upsample is not None and not 0 <= self.upsample <= 3:
            raise ValueError(f"upsample must be 0..3, got {self.upsample}")

    @property
    def key(self) -> str:
        if self.name == "hog+cnn":
            return f"hog-{self.max_side}px-up{self.upsample}+cnn-{self.fallback_side}px-up0"
        return f"{self.name}-{self.max_side}px-up{self.upsample}"


def downscale(frame: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """The frame shrunk so its longer side is at most ``max_side`` (never enlarged), and the scale used."""
    h, w = frame.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return frame, 1.0
    small = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return small, scale


def _map_back(rect: object, scale: float, width: int, height: int, score: float) -> Optional[FaceBox]:
    left = int(np.floor(rect.left() / scale))  # type: ignore[attr-defined]
    top = int(np.floor(rect.top() / scale))  # type: ignore[attr-defined]
    right = int(np.ceil((rect.right() + 1) / scale))  # type: ignore[attr-defined]
    bottom = int(np.ceil((rect.bottom() + 1) / scale))  # type: ignore[attr-defined]
    left, top = max(left, 0), max(top, 0)
    right, bottom = min(right, width), min(bottom, height)
    if right - left < 4 or bottom - top < 4:
        return None  # a face mostly outside the frame
    return FaceBox(left, top, right, bottom, float(score))


def detect_faces(frame: np.ndarray, settings: DetectorSettings = DetectorSettings()) -> list[FaceBox]:
    """Faces in an RGB uint8 frame, largest first, boxes in the frame's own pixels."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be RGB uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
    assert settings.max_side is not None and settings.upsample is not None
    if settings.name in ("hog", "hog+cnn"):
        boxes = _run(frame, "hog", settings.max_side, settings.upsample)
        if not boxes and settings.fallback_side is not None:
            boxes = _run(frame, "cnn", settings.fallback_side, 0)
    else:
        boxes = _run(frame, "cnn", settings.max_side, settings.upsample)
    boxes.sort(key=lambda b: -b.area)
    return boxes


def _run(frame: np.ndarray, detector: str, max_side: int, upsample: int) -> list[FaceBox]:
    h, w = frame.shape[:2]
    small, scale = downscale(frame, max_side)
    small = np.ascontiguousarray(small)
    if detector == "hog":
        rects, scores, _ = models.hog_detector().run(small, upsample, config.HOG_MIN_SCORE)
        found = list(zip(rects, scores))
    else:
        found = [(d.rect, d.confidence) for d in models.cnn_detector()(small, upsample)
                 if d.confidence >= config.CNN_MIN_CONFIDENCE]
    boxes: list[FaceBox] = []
    for rect, score in found:
        box = _map_back(rect, scale, w, h, score)
        if box is not None:
            boxes.append(box)
    return boxes
