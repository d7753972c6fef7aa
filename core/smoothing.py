"""Smoothing over time: a two-state hidden Markov model per character, then two plain rules.

1. :func:`smooth_probs` (used where probabilities are at hand): each character is either on screen or not,
   and stays so for ``typical_run_s`` seconds on average. The classifier's probability at each moment is the
   evidence, centred on that character's threshold; forward-backward gives the probability of "on screen"
   given the whole video, and a moment counts as present where that is at least 0.5. A confident frame keeps
   its own answer; a hesitant frame follows its neighbours. On Big Buck Bunny this raised macro F1 by 0.01-0.03
   at every label budget with all seconds scored, but on unlabelled seconds of another part of the film it
   spread mistakes (``docs/accuracy.md``), so it is off by default (:data:`core.config.TYPICAL_RUN_S`).
2. The rules of :func:`smooth_track`: bridge short gaps, then drop short appearances (the dashboard's sliders).

A gap is a run of absent moments between two present ones; it lasts (number of moments) x every seconds.
An appearance is a run of present moments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import config


@dataclass(frozen=True)
class Smoothing:
    """Plain settings: ``bridge_gaps_s`` (gaps shorter than this are filled) and ``min_appearance_s``
    (appearances shorter than this, after bridging, are dropped); ``typical_run_s``: how long, in seconds, a
    character typically stays on (or off) screen, for the model of :func:`smooth_probs`. Zero turns each off."""

    bridge_gaps_s: float = config.BRIDGE_GAPS_S
    min_appearance_s: float = config.MIN_APPEARANCE_S
    typical_run_s: float = config.TYPICAL_RUN_S

    def __post_init__(self) -> None:
        if self.bridge_gaps_s < 0 or self.min_appearance_s < 0 or self.typical_run_s < 0:
            raise ValueError("smoothing settings are durations in seconds and cannot be negative")

    def describe(self) -> str:
        """The settings in words; only the parts that are on.

        >>> Smoothing(2, 2, 0).describe()
        'gaps shorter than 2 s are bridged; appearances shorter than 2 s are ignored'
        >>> Smoothing(0, 0, 5).describe()
        'unsure moments follow their neighbours (appearances last about 5 s)'
        >>> Smoothing(0, 0, 0).describe()
        'no smoothing: every moment is judged on its own'
        """
        parts = []
        if self.typical_run_s > 0:
            parts.append(f"unsure moments follow their neighbours (appearances last about {self.typical_run_s:g} s)")
        if self.bridge_gaps_s > 0:
            parts.append(f"gaps shorter than {self.bridge_gaps_s:g} s are bridged")
        if self.min_appearance_s > 0:
            parts.append(f"appearances shorter than {self.min_appearance_s:g} s are ignored")
        return "; ".join(parts) if parts else "no smoothing: every moment is judged on its own"


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


def switch_probability(every: float, typical_run_s: float) -> float:
    """Chance that a character appears or disappears between two sampled moments ``every`` seconds apart,
    for runs that last ``typical_run_s`` on average (geometric durations); at most 0.5 (no memory).

    >>> switch_probability(1.0, 5.0), switch_probability(1.0, 1.0)
    (0.2, 0.5)
    """
    return min(0.5, every / typical_run_s) if typical_run_s > 0 else 0.5


def hmm_posterior(probs: np.ndarray, switch: float) -> np.ndarray:
    """Forward-backward over a two-state chain (absent, present) per column of ``probs`` (N, C).

    Each probability is read as the posterior of one frame under even odds, so its evidence is the likelihood
    ratio p / (1 - p) (clipped to 1e-4..1-1e-4: no single frame is certain); states switch with probability
    ``switch`` per step. Returns P(present | all frames) per moment and column.

    >>> hmm_posterior(np.array([[0.9], [0.4], [0.9]]), 0.2).round(2).ravel().tolist()
    [0.93, 0.84, 0.93]
    >>> hmm_posterior(np.array([[0.9], [0.4], [0.9]]), 0.5).round(2).ravel().tolist()
    [0.9, 0.4, 0.9]
    """
    p = np.clip(np.asarray(probs, float), 1e-4, 1 - 1e-4)
    n = p.shape[0]
    if n == 0:
        return p.copy()
    stay = 1.0 - switch
    fwd = np.empty_like(p)  # P(present | frames up to t)
    f = p[0]
    fwd[0] = f
    for t in range(1, n):
        prior = f * stay + (1 - f) * switch
        on, off = prior * p[t], (1 - prior) * (1 - p[t])
        f = on / (on + off)
        fwd[t] = f
    out = np.empty_like(p)
    out[-1] = fwd[-1]
    b_on = np.ones(p.shape[1])   # P(frames after t | present at t), scaled
    b_off = np.ones(p.shape[1])
    for t in range(n - 2, -1, -1):
        e_on, e_off = b_on * p[t + 1], b_off * (1 - p[t + 1])
        b_on, b_off = stay * e_on + switch * e_off, switch * e_on + stay * e_off
        s = b_on + b_off
        b_on, b_off = b_on / s, b_off / s
        on, off = fwd[t] * b_on, (1 - fwd[t]) * b_off
        out[t] = on / (on + off)
    return out


def smooth_probs(probs: np.ndarray, thresholds: np.ndarray, every: float, settings: Smoothing) -> np.ndarray:
    """Presence (N, C) from probabilities (N, C) and per-character thresholds (C,): the two-state model of
    the module docstring (when ``settings.typical_run_s`` > 0), then the rules of :func:`smooth`.

    Probabilities are first moved so that each threshold sits at 0.5 (logit(p) - logit(threshold)), so a
    frame exactly at its threshold carries no evidence either way.

    >>> p = np.array([[0.9, 0.1], [0.4, 0.1], [0.9, 0.6], [0.2, 0.1], [0.1, 0.1]])
    >>> smooth_probs(p, np.array([0.5, 0.5]), 1.0, Smoothing(0, 0, 5.0)).astype(int).T.tolist()
    [[1, 1, 1, 0, 0], [0, 0, 0, 0, 0]]
    >>> smooth_probs(p, np.array([0.5, 0.5]), 1.0, Smoothing(0, 0, 0)).astype(int).T.tolist()
    [[1, 0, 1, 0, 0], [0, 0, 1, 0, 0]]
    """
    probs = np.asarray(probs, float)
    if probs.ndim != 2:
        raise ValueError(f"probabilities must be (N, C), got shape {probs.shape}")
    thr = np.clip(np.broadcast_to(np.asarray(thresholds, float), (probs.shape[1],)), 1e-6, 1 - 1e-6)
    if settings.typical_run_s > 0 and probs.shape[0]:
        p = np.clip(probs, 1e-6, 1 - 1e-6)
        z = np.log(p / (1 - p)) - np.log(thr / (1 - thr))
        centred = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        present = hmm_posterior(centred, switch_probability(every, settings.typical_run_s)) >= 0.5
    else:
        present = probs >= thr[None, :]
    return smooth(present, every, settings)
