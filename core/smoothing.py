"""Smoothing over time: bridge short gaps, then drop short appearances.

Both rules work on the sampled moments of one character. A gap is a run of absent moments between two
present ones; it lasts (number of moments) x every seconds. An appearance is a run of present moments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import config


@dataclass(frozen=True)
class Smoothing:
    """Plain settings: ``bridge_gaps_s`` (gaps shorter than this are filled) and ``min_appearance_s``
    (appearances shorter than this, after bridging, are dropped). Zero turns a rule off."""

    bridge_gaps_s: float = config.BRIDGE_GAPS_S
    min_appearance_s: float = config.MIN_APPEARANCE_S

    def __post_init__(self) -> None:
        if self.bridge_gaps_s < 0 or self.min_appearance_s < 0:
            raise ValueError("smoothing settings are durations in seconds and cannot be negative")

    def describe(self) -> str:
        return (f"gaps shorter than {self.bridge_gaps_s:g} s are bridged; "
                f"appearances shorter than {self.min_appearance_s:g} s are ignored")


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges [start, end) of the True runs of a 1-D boolean array.

    >>> runs(np.array([0, 1, 1, 0, 1], bool))
    [(1, 3), (4, 5)]
    """
    f = np.concatenate([[False], np.asarray(flags, bool), [False]])
    d = np.flatnonzero(np.diff(f.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(d[::2], d[1::2])]


def smooth_track(flags: np.ndarray, every: float, settings: Smoothing) -> np.ndarray:
    """One character's presence after bridging gaps and dropping short appearances.

    >>> smooth_track(np.array([1, 1, 0, 1, 1, 0, 0, 0, 1], bool), 1.0, Smoothing(2.0, 2.0)).astype(int).tolist()
    [1, 1, 1, 1, 1, 0, 0, 0, 0]
    """
    out = np.asarray(flags, bool).copy()
    eps = 1e-9
    if settings.bridge_gaps_s > 0:
        present = runs(out)
        for (_, end), (nxt, _) in zip(present, present[1:]):
            if (nxt - end) * every < settings.bridge_gaps_s - eps:
                out[end:nxt] = True
    if settings.min_appearance_s > 0:
        for a, b in runs(out):
            if (b - a) * every < settings.min_appearance_s - eps:
                out[a:b] = False
    return out


def smooth(present: np.ndarray, every: float, settings: Smoothing) -> np.ndarray:
    """Apply :func:`smooth_track` to each column of an (N, C) presence matrix."""
    present = np.asarray(present, bool)
    if present.ndim != 2:
        raise ValueError(f"presence must be (N, C), got shape {present.shape}")
    return np.stack([smooth_track(present[:, j], every, settings) for j in range(present.shape[1])], axis=1) \
        if present.shape[1] else present.copy()
