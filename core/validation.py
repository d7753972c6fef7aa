"""Validation that respects time: neighbouring seconds look alike, so they stay in the same fold."""

from __future__ import annotations

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
