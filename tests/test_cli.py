"""The engine end to end through its command line, with the real VGG16 backbone, on a generated video
whose truth is known (``conftest.TWO_SCHEDULE``)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from conftest import ROOT, TWO_NAMES, TWO_SCHEDULE
from synth import make_video

from core.jobs import classifier_settings
from core.smoothing import Smoothing

EVERY = 1.0


def run_cli(*args: str | Path, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if cache is not None:
        env["SCREENTIME_CACHE"] = str(cache)
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-cache")


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory, two_video: Path, two_labels: Path, cache: Path) -> Path:
    out = tmp_path_factory.mktemp("analyze") / "out"
    r = run_cli("analyze", two_video, "--labels", two_labels, "--out", out, "--quiet", cache=cache)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # nothing on stderr when all goes well (TensorFlow's start-up notes included)
    return out


def test_analyze_writes_every_file(analyzed: Path) -> None:
    names = {p.name for p in analyzed.iterdir()}
    assert {"timeline.csv", "screen_time.csv", "segments.csv", "report.json", "screen_time.srt", "model"} <= names


def test_screen_time_is_within_one_step_per_appearance(analyzed: Path) -> None:
    got = {r["character"]: r for r in _rows(analyzed / "screen_time.csv")}
    for name in TWO_NAMES:
        spans = TWO_SCHEDULE[name]
        true_s = sum(b - a for a, b in spans)
        assert abs(float(got[name]["seconds"]) - true_s) <= EVERY * len(spans), (name, got[name], true_s)
        assert int(got[name]["appearances"]) == len(spans)
        assert float(got[name]["percent"]) == pytest.approx(100 * float(got[name]["seconds"]) / 60.0, abs=0.01)


def test_segments_match_the_truth(analyzed: Path) -> None:
    segs = [(r["character"], float(r["start_s"]), float(r["end_s"])) for r in _rows(analyzed / "segments.csv")]
    for name in TWO_NAMES:
        mine = sorted((a, b) for n, a, b in segs if n == name)
        assert len(mine) == len(TWO_SCHEDULE[name])
        for (a, b), (ta, tb) in zip(mine, TWO_SCHEDULE[name]):
            assert abs(a - ta) <= EVERY and abs(b - tb) <= EVERY, (name, (a, b), (ta, tb))


def test_timeline_and_report_contract(analyzed: Path, two_video: Path) -> None:
    header = (analyzed / "timeline.csv").read_text().splitlines()[0]
    assert header == "time_s,Red,Blue,p_Red,p_Blue"
    rep = json.loads((analyzed / "report.json").read_text())
    assert rep["video"]["duration_s"] == pytest.approx(60.0)
    assert rep["video"]["fps"] == "10" and len(rep["video"]["sha256"]) == 64
    assert rep["every_s"] == 1.0
    assert rep["weights"] in ("imagenet", "hed-bsds500") and rep["weights"] in rep["backbone"]
    assert rep["program"]["version"]
    default = Smoothing()
    assert rep["smoothing"]["bridge_gaps_s"] == default.bridge_gaps_s
    assert rep["smoothing"]["min_appearance_s"] == default.min_appearance_s
    assert rep["smoothing"]["in_words"] == default.describe()
    # the head the features call for: spatial on the default cell features, linear on pooled ones
    assert rep["model"]["kind"] == classifier_settings(rep["backbone"])["kind"]
    assert rep["model"]["characters"] == TWO_NAMES
    assert rep["features_computed"] == 60
    assert {r["a"] + "+" + r["b"] for r in rep["together"]} == {"Red+Blue"}
    # Red and Blue are together 8-12 and 44-47: 7 s
    assert abs(rep["together"][0]["seconds"] - 7.0) <= 2 * EVERY
    srt = (analyzed / "screen_time.srt").read_text()
    assert "Red, Blue" in srt and srt.startswith("1\n00:00:0")


def test_second_run_computes_no_features(analyzed: Path, two_video: Path, cache: Path, tmp_path: Path) -> None:
    r = run_cli("predict", two_video, "--model", analyzed / "model", "--out", tmp_path / "p", "--quiet", cache=cache)
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "p" / "report.json").read_text())
    assert rep["features_computed"] == 0
    assert (tmp_path / "p" / "screen_time.csv").read_text() == (analyzed / "screen_time.csv").read_text()


def test_train_then_predict(analyzed: Path, two_video: Path, two_labels: Path, cache: Path, tmp_path: Path) -> None:
    r = run_cli("train", two_video, "--labels", two_labels, "--model", tmp_path / "m", "--kind", "linear",
                "--quiet", cache=cache)  # a pooled head on the default cell features: refused in one sentence
    assert r.returncode != 0 and not (tmp_path / "m").exists()
    assert "needs pooled features" in r.stderr and "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1
    r = run_cli("train", two_video, "--labels", two_labels, "--model", tmp_path / "m", "--kind", "spatial",
                "--quiet", cache=cache)
    assert r.returncode == 0, r.stderr
    assert "Model (spatial) saved" in r.stdout and "Red" in r.stdout and "F1" in r.stdout
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["kind"] == "spatial" and meta["characters"] == TWO_NAMES and meta["every"] == 1.0
    r = run_cli("predict", two_video, "--model", tmp_path / "m", "--out", tmp_path / "o", "--quiet",
                "--min-appearance", "0", cache=cache)
    assert r.returncode == 0, r.stderr
    got = {row["character"]: float(row["seconds"]) for row in _rows(tmp_path / "o" / "screen_time.csv")}
    for name in TWO_NAMES:
        spans = TWO_SCHEDULE[name]
        assert abs(got[name] - sum(b - a for a, b in spans)) <= EVERY * len(spans), (name, got)
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert rep["smoothing"]["min_appearance_s"] == 0.0 and rep["features_computed"] == 0


def test_evaluate_prints_scores_and_error(analyzed: Path, two_truth: Path) -> None:
    r = run_cli("evaluate", "--pred", analyzed / "timeline.csv", "--truth", two_truth)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["character", "precision", "recall", "F1", "true", "s", "pred", "s", "error", "s",
                                "error", "%"]
    red = lines[1].split()
    assert red[0] == "Red" and float(red[3]) >= 0.9 and float(red[4]) == 24.0
    assert abs(float(red[6])) <= 3.0


def _text_mp4(d: Path) -> list[str]:
    p = d / "notes.mp4"
    p.write_text("not a video")
    return ["analyze", str(p), "--labels", str(d / "l.csv"), "--out", str(d / "o")]


def _zero(d: Path) -> list[str]:
    (d / "zero.mp4").write_bytes(b"")
    return ["predict", str(d / "zero.mp4"), "--model", str(d), "--out", str(d / "o")]


def _truncated(d: Path) -> list[str]:
    full = make_video(d / "full.avi", {}, 20.0, fourcc="MJPG")
    (d / "cut.avi").write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    (d / "l.csv").write_text("time_s,A\n0,1\n1,0\n")
    return ["analyze", str(d / "cut.avi"), "--labels", str(d / "l.csv"), "--out", str(d / "o")]


def _no_frames(d: Path) -> list[str]:
    cv2.VideoWriter(str(d / "none.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64)).release()
    (d / "l.csv").write_text("time_s,A\n0,1\n")
    return ["analyze", str(d / "none.avi"), "--labels", str(d / "l.csv"), "--out", str(d / "o")]


def _bad_label_row(d: Path) -> list[str]:
    (d / "l.csv").write_text("time_s,A,B\n0,1,0\n1,1\n")
    return ["analyze", str(d / "whatever.mp4"), "--labels", str(d / "l.csv"), "--out", str(d / "o")]


def _no_model(d: Path) -> list[str]:
    make_video(d / "v.mp4", {}, 2.0)
    return ["predict", str(d / "v.mp4"), "--model", str(d / "nothing"), "--out", str(d / "o")]


def _bad_truth(d: Path) -> list[str]:
    (d / "t.csv").write_text("time_s,Red\nx,1\n")
    (d / "timeline.csv").write_text("time_s,Red,p_Red\n0,1,0.9\n")
    return ["evaluate", "--pred", str(d / "timeline.csv"), "--truth", str(d / "t.csv")]


@pytest.mark.parametrize("make, words", [
    pytest.param(_text_mp4, "not a video", id="text-file-named-mp4"),
    pytest.param(_zero, "empty (0 bytes)", id="zero-length"),
    pytest.param(_truncated, "truncated", id="truncated"),
    pytest.param(_no_frames, "no video frames", id="no-frames"),
    pytest.param(_bad_label_row, "Line 3: expected 3 values", id="bad-label-row"),
    pytest.param(_no_model, "holds no trained model", id="missing-model"),
    pytest.param(_bad_truth, "Line 2: the time 'x'", id="bad-truth"),
])
def test_bad_input_is_one_sentence_on_stderr(tmp_path: Path, make, words: str) -> None:
    if make is _text_mp4:
        (tmp_path / "l.csv").write_text("time_s,A\n0,1\n")
    r = run_cli(*make(tmp_path), cache=tmp_path / "cache")
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and words in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()  # nothing half-written
