"""What a project holds, as the store (:mod:`core.project`) hands it out: small frozen records."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional

import numpy as np

from .validation import Scores, WrongFrame


@dataclass(frozen=True)
class Video:
    id: int
    name: str
    file: str
    sha256: str
    fps: float
    width: int
    height: int
    duration_s: float
    size_bytes: int
    every: Optional[float]
    backbone: Optional[str]
    n_moments: Optional[int]

    @property
    def has_features(self) -> bool:
        return self.backbone is not None and self.every is not None


@dataclass(frozen=True)
class Character:
    id: int
    name: str
    position: int


@dataclass(frozen=True)
class ModelRecord:
    id: int
    created: float
    dir: Path
    characters: tuple[str, ...]
    skipped: tuple[str, ...]
    n_labelled: int
    kind: str
    scores: dict[str, Scores]
    wrong: Optional[tuple[WrongFrame, ...]]  # None: not known (a model brought in, not trained here)


@dataclass(frozen=True)
class Sampling:
    """How a video was sampled: its moments, the step, the measured end, the exact frame rate, the features."""

    times: np.ndarray
    every: float
    duration_s: float
    fps: Fraction
    backbone: str
    weights: str


@dataclass(frozen=True)
class LabelCounts:
    frames: int
    nobody: int
    per_character: dict[str, int]
