"""Shared fixtures: small generated videos with known ground truth, and an isolated cache per test run.

Every test runs with ``SCREENTIME_CACHE`` and ``SCREENTIME_DATA`` pointing into a temporary folder, so tests
never read or write the user's real cache or projects.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import fakes  # noqa: E402  (after the log levels: it imports core, which loads OpenCV)
from synth import make_video, write_truth_csv  # noqa: E402

from core.features import register_backbone  # noqa: E402

# Projects whose ``backbone`` setting is "colour" sample with the tests' stand-in network (no TensorFlow).
register_backbone(fakes.FAMILY, fakes.Factory())

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"

#: Two characters entering and leaving, together from 8 to 12 s and from 44 to 47 s; backgrounds change
#: every 4 s. Long enough (60 s at 1 sample per second) to train on a third of its seconds.
TWO_SCHEDULE = {"Red": [(3, 12), (20, 28), (40, 47)], "Blue": [(8, 18), (30, 38), (44, 52)]}
TWO_NAMES = ["Red", "Blue"]
TWO_DURATION = 60.0


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("SCREENTIME_CACHE", str(base / "cache"))
    monkeypatch.setenv("SCREENTIME_DATA", str(base / "data"))


@pytest.fixture(autouse=True)
def _fail_on_logged_errors(caplog: pytest.LogCaptureFixture):
    """A test that makes the code log an error fails, even when its assertions pass."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, f"errors were logged: {[r.getMessage() for r in errors]}"


@pytest.fixture(scope="session")
def two_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 s, 10 fps, 192x108, MPEG-4: a red disc and a blue square (``TWO_SCHEDULE``) over changing scenes."""
    d = tmp_path_factory.mktemp("two")
    return make_video(d / "two.mp4", TWO_SCHEDULE, TWO_DURATION)


@pytest.fixture(scope="session")
def two_truth(two_video: Path) -> Path:
    """Per-second truth of ``two_video`` in the 0/1 CSV form."""
    return write_truth_csv(two_video.with_name("truth.csv"), TWO_SCHEDULE, TWO_NAMES, TWO_DURATION)


@pytest.fixture(scope="session")
def two_labels(two_truth: Path) -> Path:
    """Every third second of the truth: the labels a user would give."""
    lines = two_truth.read_text().splitlines()
    out = two_truth.with_name("labels.csv")
    out.write_text("\n".join([lines[0]] + lines[1::3]) + "\n")
    return out


@pytest.fixture
def vfr_video() -> Path:
    """Variable frame rate (10, then 2, then 5 fps); each frame's grey level is 10x its timestamp.
    Made by tests/data/make_vfr.py."""
    return DATA / "vfr.mp4"

