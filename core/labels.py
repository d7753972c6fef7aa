"""Labelled moments: for each character, present or not, at some times of a video.

Two CSV forms are read (see :func:`read_labels_csv`):

* ``time_s,<Name1>,<Name2>,...`` with 0/1 values; a row of zeros means nobody we track is on screen;
* ``time_s,label`` with one name, or ``none``, per row (the tutorial's single-label style).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config
from .atomic import write_text
from .errors import LabelError
from .names import character_name_problem, csv_text, csv_text_back

NOBODY = ("none", "nobody", "")
_TRUE = {"1", "1.0", "true", "yes", "y", "x"}
_FALSE = {"0", "0.0", "false", "no", "n", ""}
_TIME_COLUMNS = ("time_s", "time", "t", "seconds", "second")
#: Bytes: the largest labels or truth file we read. A labelled second per row of 20 characters is ~50 bytes, so
#: 64 MB is a million rows (11 days of video at one label per second).
MAX_LABELS_BYTES = 64 * 1024**2


@dataclass(frozen=True)
class LabelSet:
    """``values[i, j]`` says whether ``names[j]`` is on screen at ``times[i]``; ``lines`` are source lines."""

    times: np.ndarray
    names: tuple[str, ...]
    values: np.ndarray
    lines: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        n = self.times.shape[0]
        if self.values.shape != (n, len(self.names)):
            raise ValueError(f"values must be ({n}, {len(self.names)}), got {self.values.shape}")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"character names must be unique, got {self.names}")

    def __len__(self) -> int:
        return int(self.times.shape[0])

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[float, Sequence[str]]], names: Sequence[str]) -> LabelSet:
        """From ``(time_s, [names present])`` pairs; names outside ``names`` are an error.

        >>> LabelSet.from_rows([(0, ["Tom"]), (1, [])], ["Tom", "Jerry"]).values.tolist()
        [[1, 0], [0, 0]]
        """
        index = {n: j for j, n in enumerate(names)}
        times, values = [], []
        for t, present in rows:
            row = np.zeros(len(names), np.uint8)
            for p in present:
                if p not in index:
                    raise LabelError(f"{p!r} is not one of the characters {list(names)}: add it first.")
                row[index[p]] = 1
            times.append(float(t))
            values.append(row)
        return cls(np.asarray(times, np.float64), tuple(names),
                   np.asarray(values, np.uint8).reshape(len(times), len(names)))

    def align(self, sample_times: np.ndarray, every: float) -> tuple[np.ndarray, np.ndarray]:
        """Move each label to the nearest sampled moment: (sample indices, values); later rows win ties.

        Raises :class:`LabelError` naming the line of a label more than one step outside the video.
        """
        if len(sample_times) == 0:
            raise LabelError("The video has no sampled moments to attach labels to.")
        last = float(sample_times[-1])
        for i, t in enumerate(self.times):  # before any arithmetic: a time of 1e308 must not reach a cast
            if not (-every / 2 <= t <= last + every):
                line = self.lines[i] if self.lines else i + 2
                raise LabelError(f"Line {line}: time {t:g} s is outside the video (0 to {last + every:g} s); "
                                 "fix or remove that row.")
        idx = np.clip(np.rint(self.times / every).astype(np.int64), 0, len(sample_times) - 1)
        chosen: dict[int, int] = {}
        for i, k in enumerate(idx):
            chosen[int(k)] = i
        keys = np.array(sorted(chosen), np.int64)
        return keys, self.values[[chosen[int(k)] for k in keys]]


#: The rule of :data:`core.config.MIN_LABELS_EACH` in words, for every message that states it.
ENOUGH_RULE = (f"at least {config.MIN_LABELS_EACH} labelled frames where they are visible and "
               f"{config.MIN_LABELS_EACH} where they are not")


def has_enough(present: int, total: int) -> bool:
    """Whether a character with ``present`` of ``total`` labelled moments on screen can be learned.

    >>> has_enough(2, 4), has_enough(2, 3), has_enough(1, 10)
    (True, False, False)
    """
    return present >= config.MIN_LABELS_EACH and total - present >= config.MIN_LABELS_EACH


def trainable_labels(labels: LabelSet) -> tuple[LabelSet, list[str]]:
    """The labels of the characters that :func:`has_enough` examples, and the names left out (they need
    more labels before a model can learn them).

    >>> ls = LabelSet.from_rows([(0, ["A"]), (1, ["A", "B"]), (2, []), (3, [])], ["A", "B"])
    >>> trainable_labels(ls)[0].names, trainable_labels(ls)[1]
    (('A',), ['B'])
    """
    keep: list[int] = []
    skipped: list[int] = []
    for j in range(len(labels.names)):
        pos = int(labels.values[:, j].sum()) if len(labels) else 0
        (keep if has_enough(pos, len(labels)) else skipped).append(j)
    cols = np.asarray(keep, np.int64)
    return (LabelSet(labels.times, tuple(labels.names[j] for j in keep), labels.values[:, cols], labels.lines),
            [labels.names[j] for j in skipped])


def _parse_time(raw: str, line: int) -> float:
    try:
        t = float(raw.strip())
    except ValueError:
        raise LabelError(f"Line {line}: the time {raw.strip()!r} is not a number of seconds; "
                         "write it like 12 or 12.5.") from None
    if not np.isfinite(t) or t < 0:
        raise LabelError(f"Line {line}: the time {raw.strip()!r} must be zero or more seconds.")
    return t


def _parse_flag(raw: str, line: int, name: str) -> int:
    v = raw.strip().lower()
    if v in _TRUE:
        return 1
    if v in _FALSE:
        return 0
    raise LabelError(f"Line {line}: the value {raw.strip()!r} for {name} must be 0 or 1.")


def check_names(names: Sequence[str], file: str) -> None:
    """The characters a labels file defines: each a valid name (:func:`core.names.character_name_problem`),
    and at most :data:`core.config.MAX_CHARACTERS` of them (the dashboard's limit too)."""
    if len(names) > config.MAX_CHARACTERS:
        raise LabelError(f"{file} names {len(names)} characters but one model follows at most "
                         f"{config.MAX_CHARACTERS}: keep the ones you need and label the others in another file.")
    for n in names:
        problem = character_name_problem(n)
        if problem:
            raise LabelError(f"{file} defines the character {n!r}, but {problem}.")


def check_conflicts(times: Sequence[float], values: Sequence[Sequence[int]], lines: Sequence[int]) -> None:
    """:class:`LabelError` naming the lines when the same time is labelled twice with different values (a
    second row that repeats the first exactly is harmless)."""
    seen: dict[float, int] = {}
    clashes: list[tuple[int, int, float]] = []
    for i, t in enumerate(times):
        j = seen.setdefault(float(t), i)
        if j != i and list(values[j]) != list(values[i]):
            clashes.append((lines[j], lines[i], float(t)))
    if clashes:
        a, b, t = clashes[0]
        more = f" (and {len(clashes) - 1} more such pairs)" if len(clashes) > 1 else ""
        raise LabelError(f"Lines {a} and {b} label the same time, {t:g} s, differently{more}: keep the right "
                         "row of each pair and delete the other.")


def _read_text(p: Path) -> str:
    if p.stat().st_size > MAX_LABELS_BYTES:
        raise LabelError(f"{p.name} is larger than {MAX_LABELS_BYTES // 1024**2} MB: that is not a labels file; "
                         "check the path.")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise LabelError(f"{p.name} is not a text CSV file: save the labels as CSV (UTF-8) and try again.") from None
    if "\x00" in text:
        raise LabelError(f"{p.name} is not a text CSV file (it holds NUL bytes): save the labels as CSV (UTF-8).")
    return text


def read_labels_csv(path: os.PathLike[str] | str) -> LabelSet:
    """Read either labels form; every malformed row is reported with its line number.

    >>> read_labels_csv("labels.csv").names   # doctest: +SKIP
    ('Tom', 'Jerry')
    """
    p = Path(path)
    if not p.is_file():
        raise LabelError(f"There is no labels file at {p}: check the path.")
    text = _read_text(p)
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        raise LabelError(f"{p.name} is not a CSV file we can read ({exc}): save the labels as CSV.") from None
    if not rows or not any(c.strip() for c in rows[0]):
        raise LabelError(f"{p.name} is empty: its first line must be a header such as time_s,Tom,Jerry.")
    header = [c.strip() for c in rows[0]]
    if header[0].lower() not in _TIME_COLUMNS:
        raise LabelError(f"Line 1 of {p.name} must start with time_s, then the character names (or 'label').")
    if len(header) < 2:
        raise LabelError(f"Line 1 of {p.name} names no character: write time_s,Name1,Name2,... or time_s,label.")
    body = [(i + 2, r) for i, r in enumerate(rows[1:]) if any(c.strip() for c in r)]
    if len(header) == 2 and header[1].lower() == "label":
        return _single_label_rows(body, p.name)
    return _flag_rows(header, body, p.name)


def _single_label_rows(body: list[tuple[int, list[str]]], file: str) -> LabelSet:
    """The ``time_s,label`` form: one name (or none) per row."""
    times: list[float] = []
    lines: list[int] = []
    labels: list[str] = []
    for line, r in body:
        if len(r) != 2:
            raise LabelError(f"Line {line}: expected 2 values (time_s,label), found {len(r)}.")
        times.append(_parse_time(r[0], line))
        labels.append(csv_text_back(r[1].strip()))
        lines.append(line)
    names = sorted({lab for lab in labels if lab.lower() not in NOBODY})
    if not names:
        raise LabelError(f"{file} names no character: every row says none.")
    check_names(names, file)
    vals = np.zeros((len(labels), len(names)), np.uint8)
    for i, lab in enumerate(labels):
        if lab.lower() not in NOBODY:
            vals[i, names.index(lab)] = 1
    check_conflicts(times, vals.tolist(), lines)
    return LabelSet(np.asarray(times, np.float64), tuple(names), vals, tuple(lines))


def _flag_rows(header: list[str], body: list[tuple[int, list[str]]], file: str) -> LabelSet:
    """The ``time_s,Name1,Name2,...`` form with 0/1 values."""
    names = [csv_text_back(n) for n in header[1:]]
    if any(not n for n in names):
        raise LabelError(f"Line 1 of {file} has an empty column name: give every character a name.")
    if len(set(names)) != len(names):
        raise LabelError(f"Line 1 of {file} names a character twice: each column needs its own name.")
    check_names(names, file)
    times: list[float] = []
    lines: list[int] = []
    vals_list: list[list[int]] = []
    for line, r in body:
        if len(r) != len(header):
            raise LabelError(f"Line {line}: expected {len(header)} values like the header, found {len(r)}.")
        times.append(_parse_time(r[0], line))
        vals_list.append([_parse_flag(v, line, n) for v, n in zip(r[1:], names)])
        lines.append(line)
    check_conflicts(times, vals_list, lines)
    return LabelSet(np.asarray(times, np.float64), tuple(names),
                    np.asarray(vals_list, np.uint8).reshape(len(times), len(names)), tuple(lines))


def write_labels_csv(labels: LabelSet, path: os.PathLike[str] | str) -> None:
    """Write the 0/1 form, atomically; readable again by :func:`read_labels_csv` (names that a spreadsheet
    would run get a leading quote, :func:`core.names.csv_text`, which the reader removes)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["time_s", *(csv_text(n) for n in labels.names)])
    for t, row in zip(labels.times, labels.values):
        w.writerow([f"{t:g}", *[int(v) for v in row]])
    write_text(path, buf.getvalue())
