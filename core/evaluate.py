"""Comparing a predicted timeline with per-second truth."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import LabelError
from .labels import MAX_LABELS_BYTES, LabelSet, check_conflicts, read_labels_csv
from .names import RESERVED_PREFIX, csv_text_back
from .validation import Scores, scores


@dataclass(frozen=True)
class CharacterEvaluation:
    """Agreement of one character's predicted presence with the truth, moment by moment, and the error of
    its screen time (predicted minus true, in seconds and in percent of the true screen time)."""

    scores: Scores
    true_s: float
    predicted_s: float

    @property
    def error_s(self) -> float:
        return round(self.predicted_s - self.true_s, 3)

    @property
    def error_pct(self) -> float:
        return round(100.0 * self.error_s / self.true_s, 2) if self.true_s > 0 else (0.0 if self.error_s == 0
                                                                                     else float("inf"))


def read_timeline_csv(path: os.PathLike[str] | str) -> LabelSet:
    """The 0/1 columns of a ``timeline.csv`` (the ``p_`` columns are ignored)."""
    p = Path(path)
    if not p.is_file():
        raise LabelError(f"There is no timeline at {p}: run `python -m core predict` first, or check the path.")
    not_ours = LabelError(f"{p.name} is not a timeline.csv written by Screen Time (a text CSV whose first column "
                          "is time_s): give the timeline.csv of a predict or analyze run.")
    if p.stat().st_size > MAX_LABELS_BYTES:
        raise not_ours
    try:
        text = p.read_text(encoding="utf-8")
        if "\x00" in text:
            raise not_ours
        rows = list(csv.reader(text.splitlines()))
    except (UnicodeDecodeError, csv.Error):
        raise not_ours from None
    if not rows or rows[0][:1] != ["time_s"]:
        raise not_ours
    header = [csv_text_back(c) for c in rows[0]]
    keep = [i for i, c in enumerate(header) if i > 0 and not c.startswith(RESERVED_PREFIX)]
    names = tuple(header[i] for i in keep)
    if len(set(names)) != len(names):
        raise not_ours
    times, vals, lines = [], [], []
    for line, r in enumerate(rows[1:], start=2):
        try:
            t = float(r[0])
            row = [int(r[i]) for i in keep]
        except (ValueError, IndexError):
            raise LabelError(f"Line {line} of {p.name} is malformed: write the timeline again with predict.") from None
        if not (np.isfinite(t) and t >= 0) or any(v not in (0, 1) for v in row):
            raise LabelError(f"Line {line} of {p.name} is malformed: write the timeline again with predict.")
        times.append(t)
        vals.append(row)
        lines.append(line)
    check_conflicts(times, vals, lines)
    return LabelSet(np.asarray(times, float), names, np.asarray(vals, np.uint8).reshape(len(times), len(names)),
                    tuple(lines))


def _step(times: np.ndarray) -> float:
    d = np.diff(np.sort(times))
    d = d[d > 1e-9]
    return float(np.median(d)) if len(d) else 1.0


def evaluate(pred: LabelSet, truth: LabelSet) -> list[CharacterEvaluation]:
    """Per character of the truth: scores over the truth's moments, each predicted at the nearest moment of
    the timeline, and screen time with each truth moment standing for the truth's own step.

    Names match exactly. A truth character missing from the prediction counts as never predicted, but one
    that differs from a predicted name only in case (``red`` and ``Red``) is refused: they are different
    characters to every other part of Screen Time. Truth moments beyond the timeline's end are refused too.
    """
    if len(pred) == 0:
        raise LabelError("The timeline is empty: predict the video again.")
    for name in truth.names:
        near = [n for n in pred.names if n.lower() == name.lower() and n != name]
        if near and name not in pred.names:
            raise LabelError(f"The truth names {name!r} but the timeline {near[0]!r}: names are matched exactly, "
                             "so write them the same way in both files.")
    end = float(pred.times.max()) + _step(pred.times)
    outside = [i for i, t in enumerate(truth.times) if t > end]
    if outside:
        i = outside[0]
        line = truth.lines[i] if truth.lines else i + 2
        raise LabelError(f"Line {line} of the truth is at {truth.times[i]:g} s, after the timeline ends ({end:g} s): "
                         "compare files of the same video.")
    order = np.argsort(pred.times)
    pt = pred.times[order]
    pv = pred.values[order]
    idx = np.clip(np.searchsorted(pt, truth.times), 0, len(pt) - 1)
    left = np.clip(idx - 1, 0, len(pt) - 1)
    nearest = np.where(np.abs(pt[left] - truth.times) <= np.abs(pt[idx] - truth.times), left, idx)
    step = _step(truth.times)
    index = {n: j for j, n in enumerate(pred.names)}
    out = []
    for j, name in enumerate(truth.names):
        t = truth.values[:, j] == 1
        k = index.get(name)
        p = pv[nearest, k] == 1 if k is not None else np.zeros_like(t)
        out.append(CharacterEvaluation(scores(name, t, p), round(float(t.sum()) * step, 3),
                                       round(float(p.sum()) * step, 3)))
    return out


def evaluate_files(pred_csv: os.PathLike[str] | str, truth_csv: os.PathLike[str] | str) -> list[CharacterEvaluation]:
    return evaluate(read_timeline_csv(pred_csv), read_labels_csv(truth_csv))


def format_table(rows: list[CharacterEvaluation]) -> str:
    """A plain text table for the terminal."""
    head = (f"{'character':<16}{'precision':>10}{'recall':>8}{'F1':>7}{'true s':>9}{'pred s':>9}{'error s':>9}"
            f"{'error %':>9}")
    lines = [head]
    for r in rows:
        s = r.scores
        lines.append(f"{s.character:<16}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>7.3f}{r.true_s:>9.1f}"
                     f"{r.predicted_s:>9.1f}{r.error_s:>+9.1f}{r.error_pct:>+9.1f}")
    return "\n".join(lines)
