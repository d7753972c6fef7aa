"""How far a character's validation scores can be trusted, in words: never "good" on a handful of frames.

The Train page's scores are measured on the labelled frames. On 5 frames with a character, a recall of 0.80
(4 of 5 found) has the 95 % Wilson interval 0.38-0.96: it says almost nothing. A verdict is therefore "so
far" until a character has :data:`SURE_EACH` labelled frames with it and as many without, and says how many
more would help. :func:`change` compares a character's F1 with the model trained before, so a user sees
whether retraining helped.

>>> from core.validation import Scores
>>> verdict(Scores("Tom", 0.9, 0.9, 0.9, 7, 6, 1, 1), n_labelled=40).words()
'good so far, from 7 frames: label about 13 more with Tom to be sure'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import config
from .validation import Scores

#: Labelled frames with a character, and without, before its scores are called sure (core/config.py says why).
SURE_EACH = config.SURE_LABELS_EACH
#: F1 at or above which a character is "good", and "fair" (below: "weak").
GOOD_F1, FAIR_F1 = 0.85, 0.65
#: A change of F1 smaller than this between two trainings is "about the same" (about one frame in 20).
SAME_F1 = 0.02
LEVELS = ("good", "fair", "weak", "unchecked")


@dataclass(frozen=True)
class Verdict:
    """One character's verdict: its level from F1, and the labels still wanted before it is sure."""

    character: str
    level: str
    frames_with: int
    more_with: int
    more_without: int

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {self.level!r}")

    @property
    def sure(self) -> bool:
        return self.level != "unchecked" and not (self.more_with or self.more_without)

    def more_words(self) -> str:
        n = self.character
        if self.more_with and self.more_without:
            return f"label about {self.more_with} more with {n} and {self.more_without} without"
        if self.more_with:
            return f"label about {self.more_with} more with {n}"
        return f"label about {self.more_without} more without {n}"

    def words(self) -> str:
        frames = f"from {self.frames_with} frame{'s' if self.frames_with != 1 else ''}"
        if self.level == "unchecked":
            return f"not checked yet: {self.more_words()}"
        if not self.sure:
            if self.level == "good":
                return f"good so far, {frames}: {self.more_words()} to be sure"
            return f"{self.level}{' so far' if self.level == 'fair' else ''}, {frames}: {self.more_words()}, " \
                "then train again"
        if self.level == "good":
            return f"good, {frames}"
        if self.level == "fair":
            return f"fair, {frames}: label a few more frames like the ones it gets wrong, then train again"
        return f"weak, {frames}: label more frames with and without {self.character}, then train again"


def verdict(s: Scores, n_labelled: int) -> Verdict:
    """The verdict of a character scored on ``s.support`` of ``n_labelled`` labelled frames."""
    if s.support == 0:
        return Verdict(s.character, "unchecked", 0, SURE_EACH, 0)
    level = "good" if s.f1 >= GOOD_F1 else "fair" if s.f1 >= FAIR_F1 else "weak"
    return Verdict(s.character, level, s.support, max(0, SURE_EACH - s.support),
                   max(0, SURE_EACH - (n_labelled - s.support)))


@dataclass(frozen=True)
class Change:
    """A character's F1 now and under the model trained before (None: it was not scored then)."""

    character: str
    now_f1: float
    before_f1: Optional[float]

    @property
    def direction(self) -> str:
        """"up", "down", "same" or "new"."""
        if self.before_f1 is None:
            return "new"
        d = self.now_f1 - self.before_f1
        return "same" if abs(d) < SAME_F1 else "up" if d > 0 else "down"

    def words(self) -> str:
        d = self.direction
        if d == "new":
            return "new since the last training"
        if d == "same":
            return f"about the same as before (F1 {self.before_f1:.2f})"
        return f"{'better' if d == 'up' else 'worse'} than before: F1 {self.before_f1:.2f} → {self.now_f1:.2f}"


def change(now: Scores, before: Optional[Scores]) -> Change:
    return Change(now.character, now.f1, before.f1 if before is not None else None)
