"""Validation that respects time: neighbouring seconds look alike, so they stay in the same fold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def time_block_folds(times: np.ndarray, n_folds: int, block_s: float) -> np.ndarray:
    """Fold number of each labelled moment: time is cut into blocks of ``block_s`` seconds and the blocks are
    dealt to the folds in turn, so every fold spans the video while neighbouring seconds stay together.

    >>> time_block_folds(np.array([0., 1., 10., 11., 20., 35.]), 2, 10.0).tolist()
    [0, 0, 1, 1, 0, 1]
    """
    blocks = np.floor(np.asarray(times, float) / block_s).astype(np.int64)
    _, dense = np.unique(blocks, return_inverse=True)
    return (dense % n_folds).astype(np.int64)


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 of one character, with the counts behind them."""

    character: str
    precision: float
    recall: float
    f1: float
    support: int
    true_positives: int
    false_positives: int
    false_negatives: int

    def in_words(self) -> str:
        """The scores as a sentence for someone who does not read F1."""
        if self.support == 0:
            return f"{self.character}: no labelled moment shows them, so this cannot be checked yet."
        found = round(10 * self.recall)
        right = round(10 * self.precision)
        return (f"finds {self.character} in {found} of 10 moments they are on screen; "
                f"when it says {self.character}, it is right {right} times in 10")


def scores(character: str, truth: np.ndarray, pred: np.ndarray) -> Scores:
    """Scores of boolean predictions against boolean truth. Empty cases count as perfect (1.0), not 0/0.

    >>> s = scores("Tom", np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool))
    >>> (s.precision, s.recall, s.f1)
    (0.5, 0.5, 0.5)
    """
    t = np.asarray(truth, bool)
    p = np.asarray(pred, bool)
    tp = int(np.sum(t & p))
    fp = int(np.sum(~t & p))
    fn = int(np.sum(t & ~p))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(character, round(precision, 4), round(recall, 4), round(f1, 4), int(t.sum()), tp, fp, fn)


@dataclass(frozen=True)
class WrongFrame:
    """A labelled moment the model got wrong in validation (it never saw that moment while learning)."""

    video_id: int
    time_s: float
    character: str
    labelled_present: bool
    probability: float


def wrong_frames(oof_proba: np.ndarray, truth: np.ndarray, thresholds: np.ndarray, names: Sequence[str],
                 moments: Sequence[tuple[int, float]]) -> list[WrongFrame]:
    """Every (moment, character) whose out-of-fold answer disagrees with its label, surest mistakes first.

    ``oof_proba`` and ``truth`` are (N, C); ``moments`` gives each row's (video id, time in seconds).

    >>> w = wrong_frames(np.array([[0.9, 0.2], [0.4, 0.7]]), np.array([[1, 1], [0, 1]]), np.array([0.5, 0.5]),
    ...                  ["Tom", "Jerry"], [(1, 0.0), (1, 1.0)])
    >>> [(x.time_s, x.character, x.labelled_present, x.probability) for x in w]
    [(0.0, 'Jerry', True, 0.2)]
    """
    P = np.asarray(oof_proba, float)
    T = np.asarray(truth).astype(bool)
    if P.shape != T.shape or P.shape != (len(moments), len(names)):
        raise ValueError(f"oof_proba and truth must be ({len(moments)}, {len(names)}), got {P.shape} and {T.shape}")
    thr = np.asarray(thresholds, float)
    out = [WrongFrame(int(moments[i][0]), float(moments[i][1]), names[j], bool(T[i, j]), round(float(P[i, j]), 3))
           for i, j in zip(*np.nonzero((thr[None, :] <= P) != T))]
    out.sort(key=lambda w: -abs(w.probability - 0.5))
    return out
