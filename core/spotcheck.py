"""The spot check: a few moments picked at random, a yes or no from a person for each character, and from that
unbiased sample each character's precision, recall and screen time with a confidence interval.

Why it can be trusted
---------------------
The validation scores of the Train page are measured on the labelled frames, which the user chose (often the
hard ones, or the ones the suggestions proposed): not a random sample of the video. A spot check draws its
moments **uniformly at random among the unlabelled sampled moments** (a simple random sample without
replacement, seeded so that the same request gives the same moments, in the same random order). Labelled
moments are left out of the draw: they are not a random sample, and their truth is known already.

The estimate (post-stratification on the model's own answer)
------------------------------------------------------------
Split the unlabelled moments of a character by what the model says: ``U1`` (it says present, ``W1`` seconds)
and ``U0`` (it says absent, ``W0`` seconds). A random sample of ``U`` falls into both parts at random; in each
part the share of moments where the person answered *yes* estimates

* ``p1``: among moments the model calls present, how many really are (the **precision**),
* ``p0``: among moments it calls absent, how many are missed.

The true screen time is then ``T = L + W1 * p1 + W0 * p0``, where ``L`` is the time the labels say the
character is on screen at the labelled moments (known exactly), and the **recall** over the unlabelled moments
is ``W1 p1 / (W1 p1 + W0 p0)``. This is the difference estimator "predicted minutes + N * mean(truth -
predicted)" written per part (post-stratified), so it is unbiased like it, and it is as precise as the model is
good: a model that is right on every checked moment has a narrow interval, a poor one a wide interval. The plain
estimate that ignores the model (the share of *yes* answers times the unlabelled time, with a Wilson interval)
is what it reduces to when the model says nothing useful.

The interval: each part's share gets the Jeffreys interval of a binomial proportion (its Beta(x + 1/2,
n - x + 1/2) distribution; Brown, Cai and DasGupta 2001 recommend it with Wilson's, and unlike Wilson's it can be
combined across the two parts): :data:`DRAWS` seeded draws of ``p1`` and ``p0`` give draws of the screen time,
precision and recall, and their 2.5 % and 97.5 % points are the 95 % interval. Each draw's distance from the
sample's share is shrunk by the finite-population correction ``sqrt(1 - n_h / N_h)``, so a check of every moment
has no uncertainty left. A part with no checked moment keeps the model's own answer as its estimate and the
widest uncertainty (Beta(1/2, 1/2)). ``tests/test_spotcheck.py`` simulates thousands of checks and finds the
95 % interval holding the truth about 95 % of the times.

Intervals are shown once a character has :data:`MIN_CHECKED` answers; fewer than that say "check more".
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import config
from .atomic import json_text, write_text
from .errors import LabelError
from .hashing import file_sha256
from .labels import MAX_LABELS_BYTES
from .names import csv_text, csv_text_back
from .timeline import Timeline, mmss

PathLike = os.PathLike[str] | str

#: Moments in a check by default, and answers per character before an interval is shown (core/config.py says why).
DEFAULT_N = config.SPOT_CHECK_MOMENTS
MIN_CHECKED = config.SPOT_CHECK_MIN_ANSWERS
#: Confidence of the intervals.
LEVEL = 0.95
#: Monte Carlo draws behind each interval (seeded: the same answers always give the same interval). At 20 000
#: the 2.5 % point moves by less than 0.2 % of the video between seeds.
DRAWS = 20_000
#: The columns of a check file, in order.
COLUMNS = ("moment", "time_s", "video", "character", "answer")
YES, NO = "yes", "no"
#: File beside a results folder's report.json that remembers which moments a check drew (so a filled file can
#: be checked against them) and which run it checks.
SAMPLE_FILE = "spotcheck_sample.json"
CHECK_FILE = "spotcheck.csv"
_TOL_S = 1e-3


# ---- drawing the moments ------------------------------------------------------------------------------------
def seed_for(*parts: str) -> int:
    """A seed from words (a video's SHA-256 and the model it checks): the same request, the same moments.

    >>> seed_for("abc", "7") == seed_for("abc", "7") != seed_for("abc", "8")
    True
    """
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def draw_order(n_moments: int, labelled: np.ndarray, seed: int) -> np.ndarray:
    """Indices of the unlabelled moments (``labelled`` is a bool mask of length ``n_moments``) in a random
    order: any first ``n`` of them are a simple random sample of the unlabelled moments, so a person who stops
    halfway still leaves a fair sample.

    >>> order = draw_order(5, np.array([0, 1, 0, 0, 0], bool), seed=1)
    >>> sorted(order.tolist()), order.tolist() == draw_order(5, np.array([0, 1, 0, 0, 0], bool), seed=1).tolist()
    ([0, 2, 3, 4], True)
    """
    mask = np.asarray(labelled, bool)
    if mask.shape != (n_moments,):
        raise ValueError(f"labelled must be a mask of {n_moments} moments, got shape {mask.shape}")
    order = np.random.default_rng(seed).permutation(n_moments)  # all moments, then the labelled ones left out:
    return order[~mask[order]]  # a moment labelled later leaves the others' order as it was


# ---- the estimate -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval; ``value`` is None when the check says nothing about it yet."""

    value: Optional[float]
    low: Optional[float]
    high: Optional[float]

    def __post_init__(self) -> None:
        if self.value is not None and self.low is not None and self.high is not None \
                and not self.low - 1e-9 <= self.value <= self.high + 1e-9:
            raise ValueError(f"the estimate {self.value} is outside its interval [{self.low}, {self.high}]")

    def to_dict(self, digits: int = 4) -> dict[str, Optional[float]]:
        def r(x: Optional[float]) -> Optional[float]:
            return None if x is None else round(float(x), digits)
        return {"value": r(self.value), "low": r(self.low), "high": r(self.high)}


NOTHING = Estimate(None, None, None)


@dataclass(frozen=True)
class CharacterCheck:
    """What a spot check says about one character (seconds over the whole video)."""

    character: str
    checked: int
    yes: int
    predicted_s: float
    seconds: Estimate
    precision: Estimate
    recall: Estimate
    labelled_s: float = 0.0

    @property
    def enough(self) -> bool:
        return self.checked >= MIN_CHECKED

    def sentence(self) -> str:
        """"Tom 40:25, likely 38:50-42:00, from 60 checked moments", or how many more answers are needed."""
        if not self.enough or self.seconds.value is None or self.seconds.low is None or self.seconds.high is None:
            return (f"{self.character}: {self.checked} checked moment{'s' if self.checked != 1 else ''} so far; "
                    f"the interval shows from {MIN_CHECKED}.")
        return (f"{self.character} {mmss(self.seconds.value)}, likely {mmss(self.seconds.low)}-"
                f"{mmss(self.seconds.high)}, from {self.checked} checked moments")

    def to_dict(self) -> dict[str, Any]:
        return {"character": self.character, "checked": self.checked, "yes": self.yes,
                "predicted_s": round(self.predicted_s, 3), "labelled_s": round(self.labelled_s, 3),
                "seconds": self.seconds.to_dict(3), "precision": self.precision.to_dict(),
                "recall": self.recall.to_dict(), "enough": self.enough, "in_words": self.sentence()}


@dataclass(frozen=True)
class SpotCheck:
    """A spot check of one run (a model on a video): per character, and what it checked."""

    characters: tuple[CharacterCheck, ...]
    unlabelled: int
    checks: Mapping[str, Any] = field(default_factory=dict)  # which run: model, video, timeline

    def character(self, name: str) -> Optional[CharacterCheck]:
        return next((c for c in self.characters if c.character == name), None)

    def to_dict(self) -> dict[str, Any]:
        """What ``report.json`` keeps under ``spot_check``."""
        return {"method": "simple random sample of the unlabelled moments; post-stratified on the model's "
                          "answer, Jeffreys intervals combined by simulation (docs/spotcheck.md)",
                "level": LEVEL, "min_checked": MIN_CHECKED, "unlabelled_moments": self.unlabelled,
                "checks": dict(self.checks), "characters": [c.to_dict() for c in self.characters]}


def _shrunk_draws(x: int, n: int, big_n: int, claim: float, rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """The share of *yes* in one part (or the model's ``claim`` when nothing there was checked) and
    :data:`DRAWS` Jeffreys draws of it, shrunk towards it by the finite-population correction."""
    centre = x / n if n else claim
    draws = rng.beta(x + 0.5, n - x + 0.5, DRAWS)
    fpc = math.sqrt(max(0.0, 1.0 - n / big_n)) if big_n else 0.0
    return centre, np.clip(centre + fpc * (draws - centre), 0.0, 1.0)


def _interval(value: Optional[float], draws: np.ndarray, lo_clip: float, hi_clip: float) -> Estimate:
    if value is None:
        return NOTHING
    tail = 100 * (1 - LEVEL) / 2
    lo, hi = (float(v) for v in np.percentile(draws, [tail, 100 - tail]))
    return Estimate(float(value), max(lo_clip, min(lo, value)), min(hi_clip, max(hi, value)))


def estimate(character: str, weights: np.ndarray, predicted: np.ndarray, labelled: np.ndarray,
             labelled_truth: np.ndarray, checked: np.ndarray, answers: np.ndarray, seed: int = 0) -> CharacterCheck:
    """One character's check. Per moment of the video: ``weights`` (seconds it stands for), ``predicted``
    (the model's smoothed answer), ``labelled`` (mask) and ``labelled_truth`` (the labels, read where
    ``labelled``); ``checked`` are indices of checked unlabelled moments and ``answers`` the person's yes/no.

    >>> w = np.ones(10); pred = np.array([1] * 5 + [0] * 5, bool); no = np.zeros(10, bool)
    >>> c = estimate("Tom", w, pred, no, no, np.arange(10), pred)   # every moment checked, the model right
    >>> (c.seconds.value, c.seconds.low, c.seconds.high, c.precision.value, c.recall.value)
    (5.0, 5.0, 5.0, 1.0, 1.0)
    """
    w = np.asarray(weights, np.float64)
    pred = np.asarray(predicted, bool)
    lab = np.asarray(labelled, bool)
    idx = np.asarray(checked, np.int64)
    ans = np.asarray(answers, bool)
    if not (w.shape == pred.shape == lab.shape == np.shape(labelled_truth)) or idx.shape != ans.shape:
        raise ValueError("weights, predicted, labelled and labelled_truth must have one value per moment, and "
                         "checked and answers one per checked moment")
    if len(idx) and (lab[idx].any() or len(set(idx.tolist())) != len(idx)):
        raise ValueError("checked moments must be distinct and unlabelled")
    labelled_s = float(np.sum(w[lab & np.asarray(labelled_truth, bool)]))
    unl = ~lab
    big_w = {h: float(np.sum(w[unl & (pred == h)])) for h in (True, False)}
    big_n = {h: int(np.sum(unl & (pred == h))) for h in (True, False)}
    rng = np.random.default_rng(seed)
    share, draws = {}, {}
    for h in (True, False):
        in_part = pred[idx] == h
        share[h], draws[h] = _shrunk_draws(int(np.sum(ans[in_part])), int(np.sum(in_part)), big_n[h], float(h), rng)
    found, missed = big_w[True] * share[True], big_w[False] * share[False]
    d_found, d_missed = big_w[True] * draws[True], big_w[False] * draws[False]
    total_unl = big_w[True] + big_w[False]
    seconds = _interval(labelled_s + found + missed, labelled_s + d_found + d_missed, labelled_s,
                        labelled_s + total_unl)
    n1 = int(np.sum(pred[idx]))
    precision = _interval(share[True] if n1 else None, draws[True], 0.0, 1.0)
    recall_value = found / (found + missed) if int(np.sum(ans)) and found + missed > 0 else None
    with np.errstate(invalid="ignore", divide="ignore"):
        d_recall = np.where(d_found + d_missed > 0, d_found / (d_found + d_missed), 1.0)
    recall = _interval(recall_value, d_recall, 0.0, 1.0)
    return CharacterCheck(character, int(len(idx)), int(np.sum(ans)), float(np.sum(w[pred])), seconds, precision,
                          recall, labelled_s)


def check_timeline(tl: Timeline, labelled: np.ndarray, labelled_truth: np.ndarray,
                   answers: Mapping[str, Mapping[int, bool]], checks: Optional[Mapping[str, Any]] = None
                   ) -> SpotCheck:
    """A spot check of a timeline: ``labelled`` (N,) mask, ``labelled_truth`` (N, C) in ``tl.names`` order,
    ``answers[name][moment index] = yes``. Characters without answers are reported with 0 checked."""
    lab = np.asarray(labelled, bool)
    truth = np.asarray(labelled_truth, bool).reshape(len(tl.times), len(tl.names))
    out = []
    for j, name in enumerate(tl.names):
        got = answers.get(name, {})
        idx = np.array(sorted(got), np.int64)
        out.append(estimate(name, tl.weights, tl.present[:, j], lab, truth[:, j], idx,
                            np.array([got[i] for i in idx.tolist()], bool), seed=j))
    return SpotCheck(tuple(out), int(np.sum(~lab)), dict(checks or {}))


# ---- check files (the command line) -------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """The moments a check drew from a results folder, and the run they check."""

    times: tuple[float, ...]
    video: str
    names: tuple[str, ...]
    seed: int
    run: Mapping[str, Any]
    labelled: Mapping[float, tuple[str, ...]]  # labelled moment -> who the labels say is there

    def to_json(self) -> str:
        return json_text({"times": list(self.times), "video": self.video, "characters": list(self.names),
                          "seed": str(self.seed), "run": dict(self.run),
                          "labelled": [[t, list(who)] for t, who in self.labelled.items()]})

    @classmethod
    def from_json(cls, text: str, where: Path) -> Sample:
        try:
            d = json.loads(text)
            return cls(tuple(float(t) for t in d["times"]), str(d["video"]), tuple(str(n) for n in d["characters"]),
                       int(d["seed"]), dict(d["run"]), {float(t): tuple(str(n) for n in who)
                                                       for t, who in d["labelled"]})
        except (ValueError, KeyError, TypeError):
            raise LabelError(f"{where} is damaged: make a new check with `python -m core spotcheck make`.") from None


def check_rows(sample: Sample) -> str:
    """The check file: one row per moment and character, in the sample's random order, answer blank."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for k, t in enumerate(sample.times, start=1):
        for n in sample.names:
            w.writerow([k, f"{t:g}", csv_text(sample.video), csv_text(n), ""])
    return buf.getvalue()


def read_answers(path: PathLike, sample: Sample) -> dict[str, dict[float, bool]]:
    """The yes/no answers of a filled check file, per character and moment (blank answers: not checked).

    Raises :class:`LabelError` with one sentence for wrong columns, answers other than yes or no, moments or
    characters that are not in the check, and a moment answered twice in two ways."""
    p = Path(path)
    if not p.is_file():
        raise LabelError(f"There is no check file at {p}: make one with `python -m core spotcheck make`.")
    if p.stat().st_size > MAX_LABELS_BYTES:
        raise LabelError(f"{p.name} is larger than {MAX_LABELS_BYTES // 1024**2} MB: that is not a check file; "
                         "check the path.")
    try:
        rows = list(csv.reader(p.read_text(encoding="utf-8-sig").splitlines()))
    except (UnicodeDecodeError, csv.Error):
        rows = []
    if not rows or tuple(c.strip().lower() for c in rows[0]) != COLUMNS:
        raise LabelError(f"{p.name} is not a check file: its columns must be {', '.join(COLUMNS)} (make it with "
                         "`python -m core spotcheck make` and fill in the answer column only).")
    times = np.asarray(sample.times, np.float64)
    out: dict[str, dict[float, bool]] = {n: {} for n in sample.names}
    for line, r in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in r):
            continue
        if len(r) != len(COLUMNS):
            raise LabelError(f"Line {line} of {p.name} has {len(r)} cells instead of {len(COLUMNS)}: "
                             "fill in the answer column only.")
        _, t_text, _, name_text, answer = (c.strip() for c in r)
        try:
            t = float(t_text)
        except ValueError:
            t = float("nan")
        k = int(np.argmin(np.abs(times - t))) if len(times) and math.isfinite(t) else -1
        if k < 0 or abs(times[k] - t) > _TOL_S:
            raise LabelError(f"Line {line} of {p.name} asks about {t_text!r} s, which is not one of the moments "
                             "this check drew: keep the moment and time_s columns as they were made.")
        name = csv_text_back(name_text)
        if name not in out:
            raise LabelError(f"Line {line} of {p.name} names {name!r}, who is not one of the characters checked "
                             f"({', '.join(sample.names)}): keep the character column as it was made.")
        a = answer.lower()
        if a == "":
            continue
        if a not in (YES, NO):
            raise LabelError(f"Line {line} of {p.name} answers {answer!r}: write yes or no (or leave it blank "
                             "if you did not look).")
        key = float(times[k])
        if key in out[name] and out[name][key] != (a == YES):
            raise LabelError(f"Line {line} of {p.name} answers {name} at {t_text} s differently from an earlier "
                             "line: keep one answer per moment and character.")
        out[name][key] = a == YES
    return out


def results_timeline(out_dir: Path) -> tuple[Timeline, dict[str, Any]]:
    """The timeline and report of a results folder (``predict`` or ``analyze``)."""
    from .evaluate import read_timeline_csv

    report_path = out_dir / "report.json"
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        every, duration = float(report["every_s"]), float(report["video"]["duration_s"])
    except (OSError, ValueError, KeyError, TypeError):
        raise LabelError(f"{out_dir} is not a results folder of Screen Time (no readable report.json): give the "
                         "--out folder of a predict or analyze run.") from None
    lab = read_timeline_csv(out_dir / "timeline.csv")
    if report.get("mode") != "characters" or not len(lab):
        raise LabelError(f"{out_dir} holds no character results to check: give the --out folder of a predict or "
                         "analyze run.")
    return Timeline(lab.times, every, duration, lab.names, lab.values.astype(bool)), report


def _run_identity(out_dir: Path, report: Mapping[str, Any]) -> dict[str, Any]:
    """Which run a check checks: the video, the model and the timeline itself (a new predict changes it)."""
    return {"video_sha256": report.get("video", {}).get("sha256"), "model": (report.get("model") or {}).get("dir"),
            "timeline_sha256": file_sha256(out_dir / "timeline.csv")}


def _labelled_mask(tl: Timeline, labelled: Mapping[float, Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    mask = np.zeros(len(tl.times), bool)
    truth = np.zeros((len(tl.times), len(tl.names)), bool)
    for t, who in labelled.items():
        k = int(np.argmin(np.abs(tl.times - t)))
        if abs(tl.times[k] - t) <= tl.every / 2 + _TOL_S:
            mask[k] = True
            truth[k] = [n in who for n in tl.names]
    return mask, truth


def make_check(out_dir: PathLike, n: int = DEFAULT_N, seed: int = 0, labels: Optional[PathLike] = None,
               to: Optional[PathLike] = None) -> tuple[Path, Sample]:
    """Draw ``n`` unlabelled moments of a results folder's timeline (the labels file, if given, says which
    moments were labelled) and write the check file (default ``<out_dir>/spotcheck.csv``) and
    ``<out_dir>/spotcheck_sample.json``. Returns the check file's path and the sample."""
    from .labels import read_labels_csv

    out = Path(out_dir)
    if n < 1:
        raise LabelError("A check needs at least 1 moment: ask for 30 to 60.")
    tl, report = results_timeline(out)
    labelled: dict[float, tuple[str, ...]] = {}
    if labels is not None:
        lab = read_labels_csv(labels)
        labelled = {float(t): tuple(nm for nm, v in zip(lab.names, row) if v) for t, row in zip(lab.times, lab.values)}
    mask, _ = _labelled_mask(tl, labelled)
    order = draw_order(len(tl.times), mask, seed)
    if not len(order):
        raise LabelError("Every moment of this video is labelled: there is nothing left to check at random.")
    pick = order[:n]
    video = str(report.get("video", {}).get("name") or "")
    sample = Sample(tuple(float(tl.times[i]) for i in pick), video, tl.names, seed, _run_identity(out, report),
                    labelled)
    target = Path(to) if to is not None else out / CHECK_FILE
    write_text(out / SAMPLE_FILE, sample.to_json())
    write_text(target, check_rows(sample))
    return target, sample


def read_check(out_dir: PathLike, check_file: Optional[PathLike] = None) -> SpotCheck:
    """The spot check of a results folder from its filled check file; its result is also written into the
    folder's ``report.json`` under ``spot_check`` (atomically). A check made for another run of the folder (a
    predict since) is refused: its moments were drawn for other results."""
    from .report import SPOT_CHECK_KEY

    out = Path(out_dir)
    tl, report = results_timeline(out)
    sample_path = out / SAMPLE_FILE
    if not sample_path.is_file():
        raise LabelError(f"{out} has no spot check to read: make one first with `python -m core spotcheck make`.")
    sample = Sample.from_json(sample_path.read_text(encoding="utf-8"), sample_path)
    run = _run_identity(out, report)
    if dict(sample.run) != run or tuple(tl.names) != sample.names:
        raise LabelError("This check was made for an earlier run of these results (the timeline has changed "
                         "since): make a new check with `python -m core spotcheck make`.")
    answers = read_answers(check_file if check_file is not None else out / CHECK_FILE, sample)
    index = {float(t): k for k, t in enumerate(tl.times)}
    mask, truth = _labelled_mask(tl, sample.labelled)
    result = check_timeline(tl, mask, truth, {n: {index[t]: a for t, a in got.items()} for n, got in answers.items()},
                            {"run": run, "seed": str(sample.seed), "drawn": len(sample.times)})
    report[SPOT_CHECK_KEY] = result.to_dict()
    write_text(out / "report.json", json_text(report))
    return result


# ---- a project's check (the dashboard) ----------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectCheck:
    """The spot check of a project's model on one video: the moments to ask in their random order, the
    answers so far, and what they say."""

    order: tuple[float, ...]
    names: tuple[str, ...]
    answers: Mapping[str, Mapping[float, bool]]
    result: SpotCheck
    older: Mapping[int, int]  # checks of this video made for other models: model id -> moments answered

    def next_moment(self) -> Optional[float]:
        """The first moment of the order that some character has no answer for (None: all answered)."""
        return next((t for t in self.order if any(t not in self.answers.get(n, {}) for n in self.names)), None)

    @property
    def done(self) -> int:
        """Moments answered for every character."""
        return sum(all(t in self.answers.get(n, {}) for n in self.names) for t in self.order)


def project_check(project: Any, m: Any, v: Any, smoothing: Any) -> Optional[ProjectCheck]:
    """The spot check of model ``m`` on video ``v`` of a :class:`core.project.Project` (None when the model
    has not measured the video). Moments labelled since an answer are left out of the estimate (their labels
    count instead); answers given for other models are not mixed in (``older`` counts them)."""
    from .jobs import project_timeline

    tl = project_timeline(project, m, v, smoothing)
    if tl is None:
        return None
    names = {c.id: c.name for c in project.characters()}
    labelled = {t: tuple(names[i] for i in ids if i in names) for t, ids in project.frame_labels(v.id).items()}
    mask, truth = _labelled_mask(tl, labelled)
    order = tuple(float(tl.times[i]) for i in draw_order(len(tl.times), mask, seed_for(v.sha256, str(m.id))))
    stored = project.check_answers(m.id, v.id)
    index = {round(float(t), 3): k for k, t in enumerate(tl.times)}
    per_index: dict[str, dict[int, bool]] = {}
    answers: dict[str, dict[float, bool]] = {}
    for n in tl.names:
        for t, a in stored.get(n, {}).items():
            k = index.get(round(t, 3))
            if k is not None and not mask[k]:
                per_index.setdefault(n, {})[k] = a
                answers.setdefault(n, {})[float(tl.times[k])] = a
    result = check_timeline(tl, mask, truth, per_index, {"model_id": m.id, "video_sha256": v.sha256})
    return ProjectCheck(order, tuple(tl.names), answers, result, project.other_checks(m.id, v.id))
