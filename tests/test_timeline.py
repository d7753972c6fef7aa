"""Smoothing, screen time, segments, pairs and the exported files, on hand-made timelines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.export import FILES, srt, write_outputs
from core.smoothing import Smoothing, runs, smooth, smooth_track
from core.timeline import Timeline, mmss


def _b(s: str) -> np.ndarray:
    return np.array([c == "1" for c in s], bool)


@pytest.mark.parametrize("flags, every, bridge, minimum, expected", [
    pytest.param("1101100", 1.0, 2.0, 2.0, "1111100", id="one-second-gap-bridged"),
    pytest.param("1100110", 1.0, 2.0, 2.0, "1100110", id="two-second-gap-kept"),
    pytest.param("0100000", 1.0, 2.0, 2.0, "0000000", id="one-second-blip-dropped"),
    pytest.param("0110000", 1.0, 2.0, 2.0, "0110000", id="two-seconds-kept"),
    pytest.param("1010101", 1.0, 2.0, 2.0, "1111111", id="flicker-becomes-one-appearance"),
    pytest.param("1101100", 1.0, 0.0, 0.0, "1101100", id="rules-off"),
    pytest.param("1100011", 0.5, 1.5, 0.0, "1100011", id="half-second-steps-1.5s-gap-not-shorter-than-1.5s"),
    pytest.param("1100011", 0.5, 2.0, 0.0, "1111111", id="half-second-steps-1.5s-gap-bridged"),
    pytest.param("110011", 0.5, 1.5, 0.0, "111111", id="half-second-steps-1s-gap-bridged"),
    pytest.param("0011100", 0.5, 0.0, 2.0, "0000000", id="1.5s-appearance-dropped"),
    pytest.param("0000000", 1.0, 2.0, 2.0, "0000000", id="nobody"),
])
def test_smooth_track(flags: str, every: float, bridge: float, minimum: float, expected: str) -> None:
    got = smooth_track(_b(flags), every, Smoothing(bridge, minimum))
    assert "".join("1" if v else "0" for v in got) == expected


def test_smooth_matrix_works_per_column() -> None:
    m = np.stack([_b("1101100"), _b("0100000")], axis=1)
    out = smooth(m, 1.0, Smoothing(2.0, 2.0))
    assert out[:, 0].tolist() == _b("1111100").tolist() and not out[:, 1].any()


def test_negative_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        Smoothing(-1.0, 0.0)


def test_runs() -> None:
    assert runs(_b("0110111")) == [(1, 3), (4, 7)]
    assert runs(_b("")) == []


@pytest.fixture
def tl() -> Timeline:
    # 10 moments at 1 s in a 9.5 s video: the last moment stands for 0.5 s only
    a = _b("1111000011")
    b = _b("0011110000")
    return Timeline(np.arange(10.0), 1.0, 9.5, ("Tom", "Jerry"), np.stack([a, b], 1))


def test_screen_time_clips_the_last_moment(tl: Timeline) -> None:
    st = {c.character: c for c in tl.screen_time()}
    assert st["Tom"].seconds == 5.5 and st["Tom"].appearances == 2
    assert st["Tom"].percent == round(100 * 5.5 / 9.5, 2)
    assert st["Jerry"].seconds == 4.0 and st["Jerry"].mmss == "0:04"


def test_segments(tl: Timeline) -> None:
    assert [(s.character, s.start_s, s.end_s) for s in tl.segments()] == [
        ("Tom", 0.0, 4.0), ("Tom", 8.0, 9.5), ("Jerry", 2.0, 6.0)]


def test_together(tl: Timeline) -> None:
    (pair,) = tl.together()
    assert (pair.a, pair.b, pair.seconds) == ("Tom", "Jerry", 2.0)


def test_shape_is_checked() -> None:
    with pytest.raises(ValueError, match=r"present must be \(3, 1\)"):
        Timeline(np.arange(3.0), 1.0, 3.0, ("A",), np.zeros((3, 2), bool))


@pytest.mark.parametrize("secs, text", [(0, "0:00"), (59.6, "1:00"), (600, "10:00"), (3661, "1:01:01")])
def test_mmss(secs: float, text: str) -> None:
    assert mmss(secs) == text


def test_srt_cues_follow_who_is_on_screen(tl: Timeline) -> None:
    text = srt(tl)
    cues = [c.split("\n") for c in text.strip().split("\n\n")]
    assert [c[1:] for c in cues] == [
        ["00:00:00,000 --> 00:00:02,000", "Tom"],
        ["00:00:02,000 --> 00:00:04,000", "Tom, Jerry"],
        ["00:00:04,000 --> 00:00:06,000", "Jerry"],
        ["00:00:08,000 --> 00:00:09,500", "Tom"],
    ]
    assert [c[0] for c in cues] == ["1", "2", "3", "4"]


def test_write_outputs(tmp_path: Path, tl: Timeline) -> None:
    probs = np.where(tl.present, 0.9, 0.1).astype(np.float32)
    tl = Timeline(tl.times, tl.every, tl.duration_s, tl.names, tl.present, probs)
    paths = write_outputs(tl, tmp_path / "out", {"video": {"name": "x.mp4"}, "every_s": 1.0})
    assert sorted(paths) == sorted(FILES)
    timeline = (tmp_path / "out" / "timeline.csv").read_text().splitlines()
    assert timeline[0] == "time_s,Tom,Jerry,p_Tom,p_Jerry"
    assert timeline[1] == "0,1,0,0.9000,0.1000"
    assert (tmp_path / "out" / "screen_time.csv").read_text().splitlines() == [
        "character,seconds,percent,appearances", "Tom,5.5,57.89,2", "Jerry,4,42.11,1"]
    assert (tmp_path / "out" / "segments.csv").read_text().splitlines()[1:] == ["Tom,0,4", "Tom,8,9.5", "Jerry,2,6"]
    rep = json.loads((tmp_path / "out" / "report.json").read_text())
    assert rep["video"] == {"name": "x.mp4"} and rep["characters"] == ["Tom", "Jerry"]
    assert rep["screen_time"][0] == {"character": "Tom", "seconds": 5.5, "mmss": "0:06", "percent": 57.89,
                                     "appearances": 2}
    assert rep["together"] == [{"a": "Tom", "b": "Jerry", "seconds": 2.0}]
    assert rep["timeline"]["present"]["Jerry"] == [0, 0, 1, 1, 1, 1, 0, 0, 0, 0]
    assert not list((tmp_path / "out").glob(".*.tmp"))
