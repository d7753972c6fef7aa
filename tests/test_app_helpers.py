"""Shared helpers of the dashboard tests (no tests here): temporary data folders, a generated video and a tiny
stand-in for VGG16 so that sampling in tests takes a fraction of a second and needs no TensorFlow."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

import core.config
import core.features
import core.project
from synth import make_video

SCHEDULE = {"Red": [(2.0, 9.0), (15.0, 22.0)], "Blue": [(6.0, 13.0), (20.0, 27.0)]}
ROOT = Path(__file__).resolve().parents[1]


class FakeBackbone:
    """Colour statistics instead of VGG16: enough to tell the red disc and the blue square apart."""

    key = "fake-colour-test"
    weights = "none"
    input_size = core.config.INPUT_SIZE
    dim = 8

    def embed(self, batch: np.ndarray) -> np.ndarray:
        x = batch.astype(np.float32)
        r, g, b = x[..., 0], x[..., 1], x[..., 2]
        red = ((r > 170) & (g < 90) & (b < 90)).mean(axis=(1, 2))
        blue = ((b > 170) & (r < 90) & (g < 110)).mean(axis=(1, 2))
        return np.stack([red * 10, blue * 10, r.mean((1, 2)) / 255, g.mean((1, 2)) / 255, b.mean((1, 2)) / 255,
                         red > 0.002, blue > 0.002, x.std((1, 2, 3)) / 128], axis=1).astype(np.float32)


class FakeFactory:
    """Builds the fake backbone (core.features.BackboneFactory protocol)."""

    def __call__(self, spec, weights):
        return FakeBackbone()

    def candidate_keys(self, spec, weights):
        return [FakeBackbone.key]


def fake_extract():
    return functools.partial(core.features.extract_features, backbone_factory=FakeFactory())


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """SCREENTIME_DATA and SCREENTIME_CACHE in a temporary folder; sampling uses the fake backbone."""
    monkeypatch.setenv("SCREENTIME_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SCREENTIME_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(core.project, "extract_features", fake_extract())
    monkeypatch.syspath_prepend(str(ROOT))
    return tmp_path


def synth_video(folder: Path, duration: float = 30.0, name: str = "synth.mp4") -> Path:
    return make_video(folder / name, SCHEDULE, duration, fps=10.0)


def truth(t: float) -> list[str]:
    return [n for n, spans in SCHEDULE.items() if any(a <= t < b for a, b in spans)]


def sampled_project(tmp: Path, name: str = "Synth", label_every: int = 2):
    """A project with the synthetic video sampled (fake backbone), characters Red and Blue, and labels."""
    p = core.project.Project.create(name)
    with open(synth_video(tmp), "rb") as f:
        v = p.import_video(f, "synth.mp4")
    p.extract(v.id, 1.0)
    red, blue = p.add_character("Red"), p.add_character("Blue")
    ids = {"Red": red.id, "Blue": blue.id}
    for t in range(0, 30, label_every):
        p.set_frame(v.id, float(t), [ids[n] for n in truth(t)])
    return p, p.video(v.id)
