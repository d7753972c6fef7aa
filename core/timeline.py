"""Who is on screen when, and the screen time that follows.

Each sampled moment t stands for the interval [t, t + every), clipped to the video's end. A character's
screen time is the total length of the intervals of the moments where it is present.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Optional

import numpy as np

from .smoothing import runs


def mmss(seconds: float) -> str:
    """Seconds as m:ss (or h:mm:ss past an hour), rounded to the second.

    >>> mmss(75.4), mmss(3725)
    ('1:15', '1:02:05')
    """
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


@dataclass(frozen=True)
class Segment:
    """One appearance: ``character`` is on screen from ``start_s`` to ``end_s``."""

    character: str
    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if self.end_s < self.start_s:
            raise ValueError(f"segment ends ({self.end_s}) before it starts ({self.start_s})")

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class CharacterTime:
    """A character's screen time: seconds, share of the video in percent, number of appearances."""

    character: str
    seconds: float
    percent: float
    appearances: int

    @property
    def mmss(self) -> str:
        return mmss(self.seconds)


@dataclass(frozen=True)
class Together:
    """Seconds during which two characters are on screen at the same time."""

    a: str
    b: str
    seconds: float


@dataclass(frozen=True)
class Timeline:
    """Presence of each character at each sampled moment of a video.

    ``present`` is (N, C) bool after smoothing; ``probs`` is (N, C) probabilities before it, when a model
    made them. ``duration_s`` is the video's end.

    >>> tl = Timeline(np.array([0., 1., 2.]), 1.0, 2.5, ("Tom",), np.array([[1], [1], [0]], bool))
    >>> tl.screen_time()[0].seconds, tl.segments()[0].end_s
    (2.0, 2.0)
    """

    times: np.ndarray
    every: float
    duration_s: float
    names: tuple[str, ...]
    present: np.ndarray
    probs: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        n, c = self.times.shape[0], len(self.names)
        if self.times.ndim != 1:
            raise ValueError(f"times must be 1-D, got shape {self.times.shape}")
        if self.present.shape != (n, c):
            raise ValueError(f"present must be ({n}, {c}), got {self.present.shape}")
        if self.probs is not None and self.probs.shape != (n, c):
            raise ValueError(f"probs must be ({n}, {c}), got {self.probs.shape}")
        if not 0 < self.every < float("inf"):
            raise ValueError(f"every must be a positive, finite number of seconds, got {self.every}")
        if not abs(self.duration_s) < float("inf"):  # also false for nan
            raise ValueError(f"duration_s must be a finite number of seconds, got {self.duration_s}")

    @property
    def ends(self) -> np.ndarray:
        """End of each moment's interval: t + every, clipped to the video's end."""
        return np.minimum(self.times + self.every, max(self.duration_s, 0.0))

    @property
    def weights(self) -> np.ndarray:
        """Seconds each moment stands for."""
        return np.clip(self.ends - self.times, 0.0, None)

    def segments(self) -> list[Segment]:
        """All appearances, ordered by character then start."""
        ends = self.ends
        out = []
        for j, name in enumerate(self.names):
            for a, b in runs(self.present[:, j]):
                out.append(Segment(name, float(self.times[a]), float(ends[b - 1])))
        return out

    def screen_time(self) -> list[CharacterTime]:
        """Per character, in the order of ``names``."""
        w = self.weights
        out = []
        for j, name in enumerate(self.names):
            secs = float(np.sum(w[self.present[:, j]]))
            pct = 100.0 * secs / self.duration_s if self.duration_s > 0 else 0.0
            out.append(CharacterTime(name, round(secs, 3), round(pct, 2), len(runs(self.present[:, j]))))
        return out

    def together(self) -> list[Together]:
        """Seconds of overlap for each pair of characters (pairs that never meet included, with 0)."""
        w = self.weights
        return [Together(self.names[i], self.names[j],
                         round(float(np.sum(w[self.present[:, i] & self.present[:, j]])), 3))
                for i, j in combinations(range(len(self.names)), 2)]
