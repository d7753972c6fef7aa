"""``python -m core spotcheck make|read`` on a results folder whose truth is known (no network needed: the
folder is written from a timeline, as ``predict`` writes it)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from core.cli import main
from core.export import write_outputs
from core.labels import LabelSet, write_labels_csv
from core.timeline import Timeline

N = 400


def _truth() -> dict[str, np.ndarray]:
    t = np.arange(N)
    return {"Tom": (t // 25) % 2 == 0, "Jerry": (t // 40) % 3 == 1}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A results folder whose model is wrong at 1 moment in 10 (a fixed pattern)."""
    truth = _truth()
    present = np.stack([truth["Tom"] ^ (np.arange(N) % 10 == 3), truth["Jerry"] ^ (np.arange(N) % 10 == 7)], 1)
    tl = Timeline(np.arange(N, dtype=float), 1.0, float(N), ("Tom", "Jerry"), present)
    meta = {"mode": "characters", "video": {"name": "ep1.mp4", "sha256": "ab" * 32, "duration_s": float(N)},
            "every_s": 1.0, "model": {"dir": "model"}}
    out = tmp_path / "out"
    write_outputs(tl, out, meta)
    return out


def _fill(check: Path, wrong: str = "") -> None:
    truth = _truth()
    with open(check, newline="") as f:
        rows = list(csv.reader(f))
    for r in rows[1:]:
        r[4] = "yes" if truth[r[3]][int(float(r[1]))] else "no"
    if wrong:
        rows[1][4] = wrong
    with open(check, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def test_make_then_read_gives_intervals_and_they_land_in_the_report(results, capsys):
    labels = results.parent / "labels.csv"
    write_labels_csv(LabelSet(np.arange(0.0, 40.0), ("Tom", "Jerry"),
                              np.stack([_truth()[n][:40] for n in ("Tom", "Jerry")], 1).astype(np.uint8)), labels)
    assert main(["spotcheck", "make", str(results), "--n", "60", "--labels", str(labels)]) == 0
    assert "60 moments drawn at random" in capsys.readouterr().out
    check = results / "spotcheck.csv"
    with open(check, newline="") as f:
        rows = list(csv.DictReader(f))
    times = {float(r["time_s"]) for r in rows}
    assert len(rows) == 120 and len(times) == 60 and min(times) >= 40  # labelled moments left out
    _fill(check)
    assert main(["spotcheck", "read", str(results)]) == 0
    out = capsys.readouterr().out
    assert "Tom " in out and "likely" in out and "from 60 checked moments" in out and "precision" in out
    report = json.loads((results / "report.json").read_text())
    spot = report["spot_check"]
    assert spot["unlabelled_moments"] == N - 40
    for c in spot["characters"]:
        assert c["checked"] == 60 and c["seconds"]["low"] <= c["seconds"]["value"] <= c["seconds"]["high"]
        assert c["labelled_s"] == float(_truth()[c["character"]][:40].sum())
        assert 0 < c["seconds"]["high"] - c["seconds"]["low"] < N / 3
    assert report["screen_time"]  # the rest of the report is kept


def test_checking_every_unlabelled_moment_gives_the_exact_truth(results, capsys):
    assert main(["spotcheck", "make", str(results), "--n", "1000"]) == 0
    _fill(results / "spotcheck.csv")
    assert main(["spotcheck", "read", str(results)]) == 0
    for c in json.loads((results / "report.json").read_text())["spot_check"]["characters"]:
        true_s = float(_truth()[c["character"]].sum())
        assert c["checked"] == N and c["seconds"] == {"value": true_s, "low": true_s, "high": true_s}


def test_the_same_request_draws_the_same_moments(results, capsys):
    main(["spotcheck", "make", str(results), "--n", "30", "--seed", "4"])
    first = (results / "spotcheck.csv").read_text()
    main(["spotcheck", "make", str(results), "--n", "30", "--seed", "4"])
    assert (results / "spotcheck.csv").read_text() == first
    main(["spotcheck", "make", str(results), "--n", "30", "--seed", "5"])
    assert (results / "spotcheck.csv").read_text() != first


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_a_bad_answer_is_one_sentence_and_the_report_is_untouched(results):
    assert _cli("spotcheck", "make", results, "--n", "20").returncode == 0
    _fill(results / "spotcheck.csv", wrong="maybe")
    before = (results / "report.json").read_text()
    r = _cli("spotcheck", "read", results)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("Error: Line 2 of spotcheck.csv answers 'maybe': write yes or no")
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert (results / "report.json").read_text() == before


def test_a_check_of_an_earlier_run_is_refused(results, capsys):
    main(["spotcheck", "make", str(results), "--n", "20"])
    _fill(results / "spotcheck.csv")
    timeline = results / "timeline.csv"
    timeline.write_text(timeline.read_text().replace("\n3,0,", "\n3,1,", 1))  # predicted again, differently
    assert main(["spotcheck", "read", str(results)]) == 2
    assert "made for an earlier run" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["spotcheck", "read", "{out}"], "has no spot check to read"),
    (["spotcheck", "make", "{out}/nothing"], "is not a results folder"),
    (["spotcheck", "read", "{out}", "{out}/screen_time.csv"], "is not a check file: its columns must be"),
], ids=["not-made", "not-results", "wrong-file"])
def test_wrong_folders_and_files_are_named(results, capsys, args, message):
    if "screen_time.csv" in args[-1]:
        main(["spotcheck", "make", str(results), "--n", "5"])
    assert main([a.format(out=results) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
