"""core.suggest: which moments the Label page asks about next."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from core import suggest as suggest_module
from core.suggest import suggest, uncertainty


def test_doctests() -> None:
    assert doctest.testmod(suggest_module).failed == 0


def test_uncertainty_adds_up_the_characters_in_doubt() -> None:
    p = np.array([[0.5, 0.0], [0.75, 0.25], [1.0, 0.0], [np.nan, 1.0]])
    assert uncertainty(p).tolist() == [1.0, 1.0, 0.0, 1.0]


def test_most_uncertain_first_and_spread_out() -> None:
    t = np.arange(30.0)
    p = np.full((30, 1), 0.99)
    p[[3, 4, 5, 20], 0] = [0.6, 0.5, 0.55, 0.7]   # a cluster around 4 s and one at 20 s
    assert suggest(p, np.zeros(30, bool), t, k=2) == [4, 20]


def test_never_suggests_labelled_and_keeps_gap_to_labels() -> None:
    t = np.arange(30.0)
    p = np.full((30, 1), 0.99)
    p[[4, 5, 20], 0] = [0.5, 0.52, 0.7]
    labelled = np.zeros(30, bool)
    labelled[4] = True
    # 5 is next to a labelled moment, so the next distant doubt (20) comes first
    assert suggest(p, labelled, t, k=1) == [20]
    assert 4 not in suggest(p, labelled, t, k=29)


def test_gap_relaxes_so_k_are_returned_when_possible() -> None:
    t = np.arange(10.0)
    p = np.full((10, 2), 0.5)
    out = suggest(p, np.zeros(10, bool), t, k=10, min_gap_s=5.0)
    assert sorted(out) == list(range(10))
    assert out[:2] == [0, 5]            # ties go to the earlier moment, 5 s apart


def test_zero_gap_is_pure_uncertainty_order() -> None:
    t = np.arange(4.0)
    p = np.array([[0.9], [0.5], [0.6], [0.99]])
    assert suggest(p, np.zeros(4, bool), t, k=3, min_gap_s=0.0) == [1, 2, 0]


def test_edge_cases() -> None:
    t = np.arange(3.0)
    p = np.full((3, 1), 0.5)
    assert suggest(p, np.zeros(3, bool), t, k=0) == []
    assert suggest(p, np.ones(3, bool), t, k=2) == []
    assert suggest(np.zeros((0, 1)), np.zeros(0, bool), np.zeros(0), k=3) == []
    assert suggest(np.zeros((3, 0)), np.zeros(3, bool), t, k=1) == [0]   # no characters: all equal
    with pytest.raises(ValueError):
        suggest(p, np.zeros(2, bool), t, k=1)
    with pytest.raises(ValueError):
        suggest(p, np.zeros(3, bool), t, k=1, min_gap_s=-1.0)


def test_group_shot_in_doubt_comes_before_one_character_in_doubt() -> None:
    t = np.array([0.0, 10.0, 20.0])
    p = np.array([[0.5, 0.0, 0.0], [0.7, 0.7, 0.7], [0.99, 0.99, 0.01]])   # 1.0, 1.8, 0.06
    assert suggest(p, np.zeros(3, bool), t, k=3) == [1, 0, 2]
