"""Shared helpers of the dashboard tests (no tests here): temporary data folders, a generated video, and
projects that sample with the tests' stand-in for VGG16 (``fakes.py``), so that sampling takes a fraction of a
second and needs no TensorFlow."""

from __future__ import annotations

from pathlib import Path

import fakes
import pytest
from synth import make_video

from core import sample_video
from core.project import Project

SCHEDULE = {"Red": [(2.0, 9.0), (15.0, 22.0)], "Blue": [(6.0, 13.0), (20.0, 27.0)]}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """SCREENTIME_DATA and SCREENTIME_CACHE in a temporary folder."""
    monkeypatch.setenv("SCREENTIME_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SCREENTIME_CACHE", str(tmp_path / "cache"))
    return tmp_path


def colour_project(name: str) -> Project:
    """A new project that samples its videos with the tests' stand-in network."""
    p = Project.create(name)
    p.set_setting("backbone", fakes.FAMILY)
    return p


def synth_video(folder: Path, duration: float = 30.0, name: str = "synth.mp4") -> Path:
    return make_video(folder / name, SCHEDULE, duration, fps=10.0)


def truth(t: float) -> list[str]:
    return [n for n, spans in SCHEDULE.items() if any(a <= t < b for a, b in spans)]


def sampled_project(tmp: Path, name: str = "Synth", label_every: int = 2):
    """A project with the synthetic video sampled (fake backbone), characters Red and Blue, and labels."""
    p = colour_project(name)
    with open(synth_video(tmp), "rb") as f:
        v = p.import_video(f, "synth.mp4")
    sample_video(p, v.id, 1.0)
    red, blue = p.add_character("Red"), p.add_character("Blue")
    ids = {"Red": red.id, "Blue": blue.id}
    for t in range(0, 30, label_every):
        p.set_frame(v.id, float(t), [ids[n] for n in truth(t)])
    return p, p.video(v.id)
