"""core.smoothing.smooth_probs: the two-state model per character, on hand-made probabilities."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from core import smoothing as smoothing_module
from core.smoothing import Smoothing, hmm_posterior, smooth_probs, switch_probability


def test_doctests() -> None:
    assert doctest.testmod(smoothing_module).failed == 0


def _brute_force(p: np.ndarray, switch: float) -> np.ndarray:
    """P(present at t | all frames) by summing over every state path (tiny inputs only)."""
    n = len(p)
    total = np.zeros(n)
    z = 0.0
    for code in range(2 ** n):
        s = [(code >> i) & 1 for i in range(n)]
        w = 0.5 * (p[0] if s[0] else 1 - p[0]) / 0.5
        for t in range(1, n):
            w *= (1 - switch) if s[t] == s[t - 1] else switch
            w *= (p[t] if s[t] else 1 - p[t]) / 0.5
        z += w
        total += w * np.array(s)
    return total / z


@pytest.mark.parametrize("switch", [0.05, 0.2, 0.5])
def test_forward_backward_matches_brute_force(switch: float) -> None:
    p = np.array([0.9, 0.3, 0.45, 0.8, 0.1, 0.6])
    got = hmm_posterior(p[:, None], switch)[:, 0]
    assert np.allclose(got, _brute_force(p, switch), atol=1e-9)


def test_switch_half_means_no_memory() -> None:
    p = np.array([[0.9, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert np.allclose(hmm_posterior(p, 0.5), p)


def test_switch_probability() -> None:
    assert switch_probability(1.0, 5.0) == 0.2
    assert switch_probability(0.5, 5.0) == 0.1
    assert switch_probability(1.0, 0.0) == 0.5


def test_hesitant_moment_follows_neighbours_confident_one_does_not() -> None:
    p = np.array([[0.95], [0.35], [0.95], [0.95], [0.01], [0.95]])
    out = smooth_probs(p, np.array([0.5]), 1.0, Smoothing(0, 0, 5.0))[:, 0]
    assert out.astype(int).tolist() == [1, 1, 1, 1, 0, 1]


def test_threshold_is_centre_of_evidence() -> None:
    p = np.array([[0.3], [0.3], [0.3]])
    assert smooth_probs(p, np.array([0.25]), 1.0, Smoothing(0, 0, 5.0))[:, 0].all()
    assert not smooth_probs(p, np.array([0.35]), 1.0, Smoothing(0, 0, 5.0))[:, 0].any()


def test_off_is_plain_threshold_then_rules() -> None:
    p = np.array([[0.9], [0.1], [0.9], [0.9], [0.1], [0.1], [0.1]])
    plain = smooth_probs(p, np.array([0.5]), 1.0, Smoothing(0, 0, 0))[:, 0]
    assert plain.astype(int).tolist() == [1, 0, 1, 1, 0, 0, 0]
    bridged = smooth_probs(p, np.array([0.5]), 1.0, Smoothing(2, 0, 0))[:, 0]
    assert bridged.astype(int).tolist() == [1, 1, 1, 1, 0, 0, 0]


def test_shapes_and_settings() -> None:
    assert smooth_probs(np.zeros((0, 2)), np.array([0.5, 0.5]), 1.0, Smoothing()).shape == (0, 2)
    with pytest.raises(ValueError):
        smooth_probs(np.zeros(3), np.array([0.5]), 1.0, Smoothing())
    with pytest.raises(ValueError):
        Smoothing(0, 0, -1.0)
    assert Smoothing() == Smoothing(0.0, 0.0, 0.0)  # the default chosen on the protocols of issue 11: off
