"""The spot check (core/spotcheck.py): the draw, the estimate and its coverage, check files, a project's answers."""

from __future__ import annotations

import numpy as np
import pytest
from test_app_helpers import dirs, sampled_project  # noqa: F401

from core import Smoothing, train_project
from core.errors import LabelError
from core.spotcheck import (
    DEFAULT_N,
    MIN_CHECKED,
    Sample,
    check_rows,
    draw_order,
    estimate,
    project_check,
    read_answers,
    seed_for,
)


# ---- the draw -----------------------------------------------------------------------------------------------
def test_the_draw_leaves_labelled_moments_out_and_repeats_with_its_seed():
    labelled = np.zeros(100, bool)
    labelled[::3] = True
    a = draw_order(100, labelled, seed=5)
    assert sorted(a.tolist()) == np.flatnonzero(~labelled).tolist()  # every unlabelled moment, once
    assert a.tolist() == draw_order(100, labelled, seed=5).tolist()
    assert a.tolist() != draw_order(100, labelled, seed=6).tolist()


def test_a_moment_labelled_later_keeps_the_order_of_the_others():
    labelled = np.zeros(50, bool)
    before = draw_order(50, labelled, seed=1)
    labelled[before[3]] = True
    after = draw_order(50, labelled, seed=1)
    assert after.tolist() == [i for i in before.tolist() if i != before[3]]


def test_the_draw_is_uniform_over_unlabelled_moments():
    """Over many seeds each unlabelled moment is among the first 10 drawn equally often (chi-square)."""
    labelled = np.zeros(40, bool)
    labelled[:10] = True
    counts = np.zeros(40)
    for s in range(3000):
        counts[draw_order(40, labelled, seed=s)[:10]] += 1
    assert counts[:10].sum() == 0
    expected = 3000 * 10 / 30
    chi2 = float(np.sum((counts[10:] - expected) ** 2 / expected))
    assert chi2 < 58.3  # the 99.9 % point of chi-square with 29 degrees of freedom


def test_seeds_come_from_the_request():
    assert seed_for("sha", "1") == seed_for("sha", "1") != seed_for("sha", "2")


# ---- the estimate -------------------------------------------------------------------------------------------
def _population(rng: np.random.Generator, n: int, share_on: float, fp: float, fn: float):
    """Truth with runs (a character stays about 10 moments), and a model wrong at rates fp and fn."""
    truth = np.zeros(n, bool)
    state = rng.random() < share_on
    for i in range(n):
        if rng.random() < 0.1:
            state = rng.random() < share_on
        truth[i] = state
    flip = np.where(truth, rng.random(n) < fn, rng.random(n) < fp)
    return truth, truth ^ flip


@pytest.mark.parametrize("share_on, fp, fn, n", [(0.4, 0.1, 0.1, 60), (0.4, 0.3, 0.3, 60), (0.1, 0.05, 0.2, 60),
                                                 (0.9, 0.2, 0.02, 60), (0.4, 0.1, 0.1, 30)],
                         ids=["fair", "poor", "rare-character", "mostly-on", "30-moments"])
def test_the_95_percent_intervals_hold_the_truth_about_95_percent_of_the_time(share_on, fp, fn, n):
    """A statistical test with a fixed seed: 300 videos of 500 moments, 40 labelled, ``n`` checked at random.
    Binomial noise of 300 trials at 95 % is +-2.5 %; the bounds allow that and a slightly conservative interval."""
    rng = np.random.default_rng(11)
    hits = {"seconds": [], "precision": [], "recall": []}
    for _ in range(300):
        truth, pred = _population(rng, 500, share_on, fp, fn)
        labelled = np.zeros(500, bool)
        labelled[rng.choice(500, 40, replace=False)] = True
        idx = rng.choice(np.flatnonzero(~labelled), n, replace=False)
        c = estimate("X", np.ones(500), pred, labelled, truth, idx, truth[idx])
        unl = ~labelled
        true_precision = (truth & pred & unl).sum() / max((pred & unl).sum(), 1)
        true_recall = (truth & pred & unl).sum() / max((truth & unl).sum(), 1)
        hits["seconds"].append(c.seconds.low <= truth.sum() <= c.seconds.high)
        if c.precision.value is not None:
            hits["precision"].append(c.precision.low <= true_precision <= c.precision.high)
        if c.recall.value is not None:
            hits["recall"].append(c.recall.low <= true_recall <= c.recall.high)
    for what, h in hits.items():
        assert 0.91 <= np.mean(h) <= 0.995, (what, np.mean(h))


def test_a_better_model_gives_a_narrower_interval_than_the_answers_alone():
    """Post-stratifying on the model's answer is as precise as the model is good."""
    rng = np.random.default_rng(3)
    truth, good = _population(rng, 600, 0.4, 0.03, 0.03)
    useless = rng.random(600) < 0.5
    idx = rng.choice(600, 60, replace=False)
    none = np.zeros(600, bool)
    narrow = estimate("X", np.ones(600), good, none, none, idx, truth[idx]).seconds
    wide = estimate("X", np.ones(600), useless, none, none, idx, truth[idx]).seconds
    assert narrow.high - narrow.low < 0.6 * (wide.high - wide.low)


def test_every_moment_checked_leaves_no_uncertainty_and_labelled_time_is_added():
    truth = np.array([1, 1, 0, 0, 1, 0, 1, 0], bool)
    pred = np.array([1, 0, 0, 1, 1, 0, 1, 0], bool)
    labelled = np.array([0, 0, 0, 0, 0, 0, 1, 1], bool)
    idx = np.arange(6)
    c = estimate("Tom", np.full(8, 2.0), pred, labelled, truth, idx, truth[idx])
    assert (c.seconds.value, c.seconds.low, c.seconds.high) == (8.0, 8.0, 8.0)  # 3 unlabelled + 1 labelled, 2 s each
    assert c.labelled_s == 2.0 and c.predicted_s == 8.0
    assert c.precision.value == pytest.approx(2 / 3) and c.recall.value == pytest.approx(2 / 3)


def test_nothing_checked_keeps_the_models_answer_with_the_widest_interval():
    pred = np.array([1] * 30 + [0] * 70, bool)
    none = np.zeros(100, bool)
    c = estimate("Tom", np.ones(100), pred, none, none, np.array([], np.int64), np.array([], bool))
    assert c.seconds.value == 30.0 and c.seconds.low < 10 and c.seconds.high > 85
    assert c.precision.value is None and c.recall.value is None and not c.enough
    assert "0 checked moments so far" in c.sentence()


def test_labelled_or_repeated_moments_are_refused_in_the_sample():
    lab = np.array([1, 0, 0], bool)
    with pytest.raises(ValueError, match="unlabelled"):
        estimate("X", np.ones(3), lab, lab, lab, np.array([0]), np.array([True]))
    with pytest.raises(ValueError, match="distinct"):
        estimate("X", np.ones(3), lab, np.zeros(3, bool), lab, np.array([1, 1]), np.array([True, True]))


def test_the_sentence_names_minutes_interval_and_count():
    rng = np.random.default_rng(0)
    truth, pred = _population(rng, 3000, 0.8, 0.05, 0.05)
    idx = rng.choice(3000, 60, replace=False)
    none = np.zeros(3000, bool)
    c = estimate("Tom", np.ones(3000), pred, none, none, idx, truth[idx])
    s = c.sentence()
    assert s.startswith("Tom ") and ", likely " in s and s.endswith("from 60 checked moments")
    assert c.to_dict()["seconds"]["low"] <= c.to_dict()["seconds"]["value"] <= c.to_dict()["seconds"]["high"]


# ---- check files --------------------------------------------------------------------------------------------
SAMPLE = Sample((12.0, 3.0, 40.0), "ep1.mp4", ("Tom", "Jerry"), 0, {"timeline_sha256": "x"}, {})


def _filled(tmp_path, answers: list[str], header: str = "moment,time_s,video,character,answer"):
    lines = check_rows(SAMPLE).splitlines()
    rows = [line + a for line, a in zip(lines[1:], answers)]
    f = tmp_path / "check.csv"
    f.write_text("\n".join([header, *rows, *lines[1 + len(answers):]]) + "\n")
    return f


def test_a_check_file_has_one_blank_row_per_moment_and_character_in_random_order():
    rows = check_rows(SAMPLE).splitlines()
    assert rows[0] == "moment,time_s,video,character,answer"
    assert rows[1:3] == ["1,12,ep1.mp4,Tom,", "1,12,ep1.mp4,Jerry,"] and len(rows) == 1 + 3 * 2


def test_answers_are_read_blank_ones_skipped(tmp_path):
    got = read_answers(_filled(tmp_path, ["yes", "No", "", "YES"]), SAMPLE)
    assert got == {"Tom": {12.0: True}, "Jerry": {12.0: False, 3.0: True}}


@pytest.mark.parametrize("answers, header, message", [
    (["maybe"], "moment,time_s,video,character,answer", "answers 'maybe': write yes or no"),
    (["yes"], "moment,time,video,character,answer", "columns must be moment, time_s, video, character, answer"),
], ids=["not-yes-or-no", "wrong-columns"])
def test_bad_check_files_get_one_sentence(tmp_path, answers, header, message):
    with pytest.raises(LabelError, match=message):
        read_answers(_filled(tmp_path, answers, header), SAMPLE)


def test_a_moment_or_character_not_in_the_check_is_refused(tmp_path):
    f = tmp_path / "check.csv"
    f.write_text("moment,time_s,video,character,answer\n1,13,ep1.mp4,Tom,yes\n")
    with pytest.raises(LabelError, match="not one of the moments this check drew"):
        read_answers(f, SAMPLE)
    f.write_text("moment,time_s,video,character,answer\n1,12,ep1.mp4,Spike,yes\n")
    with pytest.raises(LabelError, match="'Spike', who is not one of the characters checked"):
        read_answers(f, SAMPLE)
    f.write_text("moment,time_s,video,character,answer\n1,12,ep1.mp4,Tom,yes\n1,12,ep1.mp4,Tom,no\n")
    with pytest.raises(LabelError, match="differently from an earlier line"):
        read_answers(f, SAMPLE)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    import core.spotcheck as spotcheck

    f = _filled(tmp_path, ["yes", "no", "", ""])
    monkeypatch.setattr(spotcheck, "MAX_LABELS_BYTES", f.stat().st_size - 1)
    with pytest.raises(LabelError, match="is larger than 0 MB: that is not a check file"):
        read_answers(f, SAMPLE)
    monkeypatch.setattr(spotcheck, "MAX_LABELS_BYTES", f.stat().st_size)
    assert read_answers(f, SAMPLE) == {"Tom": {12.0: True}, "Jerry": {12.0: False}}


# ---- a project's check --------------------------------------------------------------------------------------
def test_a_projects_answers_belong_to_their_model_and_skip_labelled_moments(dirs):
    p, v = sampled_project(dirs, label_every=3)
    m = train_project(p)
    check = project_check(p, m, v, Smoothing())
    assert check is not None and check.names == ("Red", "Blue")
    labelled = set(p.frame_labels(v.id))
    assert not labelled & set(check.order) and len(check.order) == len(p.moments(v)) - len(labelled)
    assert check.order == project_check(p, m, v, Smoothing()).order  # the same request, the same moments
    t = check.next_moment()
    assert t == check.order[0]
    red = next(c for c in p.characters() if c.name == "Red")
    p.set_check_answer(m.id, v.id, t, red.id, True)
    check = project_check(p, m, v, Smoothing())
    assert check.answers == {"Red": {t: True}} and check.next_moment() == t  # Blue still to answer
    assert check.result.character("Red").checked == 1 and check.result.character("Blue").checked == 0
    m2 = train_project(p)
    newer = project_check(p, m2, v, Smoothing())
    assert newer.answers == {} and newer.older == {m.id: 1}  # shown as an older check, not mixed in
    p.set_frame(v.id, t, [red.id])  # labelled since: its label counts, not its answer
    again = project_check(p, m, v, Smoothing())
    assert again.answers == {} and t not in again.order


def test_defaults_are_sensible():
    assert MIN_CHECKED <= DEFAULT_N


def test_the_report_has_a_spot_check_only_when_there_is_one(dirs):
    from core import project_record

    p, v = sampled_project(dirs, label_every=3)
    m = train_project(p)
    record = project_record(p, m, v, Smoothing())
    assert "spot_check" not in record.to_dict()
    check = project_check(p, m, v, Smoothing())
    red = next(c for c in p.characters() if c.name == "Red")
    p.set_check_answer(m.id, v.id, check.order[0], red.id, False)
    check = project_check(p, m, v, Smoothing())
    spot = record.with_spot_check(check.result.to_dict()).to_dict()["spot_check"]
    assert spot["checks"] == {"model_id": m.id, "video_sha256": v.sha256}
    assert [(c["character"], c["checked"], c["yes"]) for c in spot["characters"]] == [("Red", 1, 0), ("Blue", 0, 0)]
    assert spot["unlabelled_moments"] == len(check.order)
