"""Turning detected faces into 128-d embeddings, with the aligned chip and a sharpness score.

Each face is aligned with dlib's 5-point landmarks into a 150x150 chip (dlib's own size and padding, so
the chip is exactly what the network sees) and embedded with dlib's ResNet. Faces of one person are about
0.3-0.45 apart (Euclidean), different people 0.6 and more. The chip doubles as the face's thumbnail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from . import config, models
from .detect import FaceBox

EMBEDDING_DIM = 128


@dataclass(frozen=True)
class EmbeddedFaces:
    """Faces of one frame: ``embeddings`` (n, 128) float32, ``chips`` (n, S, S, 3) RGB uint8, ``sharpness``
    (n,) variance of the chip's Laplacian (higher is sharper)."""

    embeddings: np.ndarray
    chips: np.ndarray
    sharpness: np.ndarray

    def __post_init__(self) -> None:
        n = self.embeddings.shape[0]
        if self.embeddings.shape != (n, EMBEDDING_DIM):
            raise ValueError(f"embeddings must be (n, {EMBEDDING_DIM}), got {self.embeddings.shape}")
        if self.chips.shape[0] != n or self.sharpness.shape != (n,):
            raise ValueError("chips and sharpness need one row per embedding")


def sharpness(chip: np.ndarray, face_px: int | None = None) -> float:
    """Variance of the Laplacian of the grey chip at the face's own size: the chip is first shrunk to
    ``face_px`` (the face box's height) when the face is smaller than the chip, so a small face that is in
    focus scores like a large one and only a blurred face (out of focus, moving) scores low."""
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    if face_px is not None and 8 <= face_px < grey.shape[0]:
        grey = cv2.resize(grey, (face_px, face_px), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def align_faces(frame: np.ndarray, boxes: Sequence[FaceBox]) -> tuple[np.ndarray, np.ndarray]:
    """The aligned chips (n, S, S, 3) RGB uint8 of the faces ``boxes`` of an RGB uint8 frame (dlib's 5-point
    landmarks, ~1 ms a face) and their sharpness (n,): everything of a face but its embedding."""
    import dlib

    size = config.CHIP_SIZE
    if not boxes:
        return np.zeros((0, size, size, 3), np.uint8), np.zeros(0, np.float64)
    img = np.ascontiguousarray(frame)
    predictor = models.shape_predictor()
    shapes = dlib.full_object_detections()
    for b in boxes:
        shapes.append(predictor(img, dlib.rectangle(b.left, b.top, b.right - 1, b.bottom - 1)))
    chips = [np.asarray(c, np.uint8) for c in dlib.get_face_chips(img, shapes, size=size, padding=config.CHIP_PADDING)]
    return np.stack(chips), np.asarray([sharpness(c, b.height) for c, b in zip(chips, boxes)], np.float64)


def embed_chips(chips: np.ndarray) -> np.ndarray:
    """dlib's ResNet embedding (n, 128) float32 of aligned chips (n, S, S, 3) RGB uint8: ~64 ms a chip on one
    core, holding Python's GIL (:mod:`.workers` runs it in another process)."""
    if len(chips) == 0:
        return np.zeros((0, EMBEDDING_DIM), np.float32)
    vectors = models.face_encoder().compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
    return np.asarray([np.asarray(v, np.float32) for v in vectors], np.float32).reshape(len(chips), EMBEDDING_DIM)


def embed_faces(frame: np.ndarray, boxes: Sequence[FaceBox]) -> EmbeddedFaces:
    """Align and embed the faces ``boxes`` of an RGB uint8 frame (boxes in that frame's pixels)."""
    chips, sharp = align_faces(frame, boxes)
    return EmbeddedFaces(embed_chips(chips), chips, sharp)


def embed_photo(image: np.ndarray) -> tuple[np.ndarray, FaceBox] | None:
    """The embedding and box of the largest face in a still photo (a reference), or None without a face.

    A photo gets HOG with two upsamplings at up to 1024 px, then the CNN if HOG saw nothing: one photo is
    cheap, and a missed face would silently leave a person unnamed.
    """
    from .detect import DetectorSettings, detect_faces

    for settings in (DetectorSettings("hog", max_side=1024, upsample=1),
                     DetectorSettings("cnn", max_side=800, upsample=0)):
        boxes = detect_faces(image, settings)
        if boxes:
            emb = embed_faces(image, boxes[:1])
            return emb.embeddings[0], boxes[0]
    return None
