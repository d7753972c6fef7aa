"""tests/synth_hard.py: the held-out synthetic suite draws what its truth says, and is a function of its seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import synth_hard as sh

from core.labels import read_labels_csv
from core.video import SampleReader, probe_video


@pytest.fixture(scope="module")
def clip() -> sh.Clip:
    return sh.make_clip(seed=0, duration_s=60)


def test_the_same_seed_gives_the_same_clip_and_another_seed_another() -> None:
    a, b, c = sh.make_clip(3, 60), sh.make_clip(3, 60), sh.make_clip(4, 60)
    assert a == b
    assert np.array_equal(a.render(17.0)[0], b.render(17.0)[0])
    assert a.appearances != c.appearances
    assert not np.array_equal(a.truth(), c.truth())


def test_truth_is_one_row_per_second_in_the_order_of_the_names(clip: sh.Clip) -> None:
    truth = clip.truth()
    assert truth.shape == (60, 3)
    assert [tuple(bool(v) for v in row) for row in truth] == [clip.present(float(t)) for t in range(60)]


@pytest.mark.parametrize("t", [float(t) for t in range(0, 60, 3)])
def test_who_is_present_has_visible_pixels_and_who_is_absent_has_none(clip: sh.Clip, t: float) -> None:
    _, masks = clip.render(t)
    for name, on in zip(clip.names, clip.present(t)):
        assert (masks[name].sum() > 0) == on, name


def test_characters_are_small_and_stay_inside_the_frame(clip: sh.Clip) -> None:
    w, h = sh.SIZE
    assert all(sh.MIN_PX <= a.size <= sh.MAX_PX for a in clip.appearances)
    for a in clip.appearances:
        for t in (a.start, a.end - 1e-6):
            x, y = a.centre(t)
            assert a.size // 2 <= x <= w - a.size // 2 and a.size // 2 <= y <= h - a.size // 2, a
    for t in range(0, 60, 5):
        for name, height in sh.visible_heights(clip, float(t)).items():
            assert height is None or height <= sh.MAX_PX + 2, (t, name, height)


def test_a_third_of_the_appearances_are_partly_hidden_behind_a_bar() -> None:
    apps = [a for seed in range(4) for a in sh.make_clip(seed).appearances]
    hidden = [a for a in apps if a.cover > 0]
    assert all(0.25 <= a.cover <= 0.5 for a in hidden)
    assert 0.2 < len(hidden) / len(apps) < 0.5


def test_an_occluded_character_shows_less_of_itself() -> None:
    clip = sh.make_clip(seed=0)
    a = next(a for a in clip.appearances if a.cover > 0 and a.end - a.start >= 1
             and sum(b.start <= a.start < b.end for b in clip.appearances) == 1)
    bare = sh.Clip(clip.seed, clip.duration_s, clip.fps, clip.scene_s, (a,), clip.names)
    open_ = sh.Clip(clip.seed, clip.duration_s, clip.fps, clip.scene_s,
                    (sh.Appearance(a.name, a.start, a.end, a.size, a.xy, a.velocity),), clip.names)
    hidden_px = bare.render(a.start)[1][a.name].sum()
    whole_px = open_.render(a.start)[1][a.name].sum()
    assert 0.3 * whole_px < hidden_px < 0.85 * whole_px


def test_scenes_change_every_twelve_seconds_and_lighting_with_them(clip: sh.Clip) -> None:
    w, h = sh.SIZE
    assert np.array_equal(sh._background(0, 0, w, h), sh._background(0, 0, w, h))
    assert not np.array_equal(sh._background(0, 0, w, h), sh._background(0, 1, w, h))
    assert sh._lighting(0, 0) != sh._lighting(0, 1)
    empty = sh.Clip(0, 60.0, 2, sh.SCENE_S, ())
    same = np.abs(empty.render(1.0)[0].astype(int) - empty.render(11.0)[0].astype(int)).mean()
    other = np.abs(empty.render(11.0)[0].astype(int) - empty.render(12.0)[0].astype(int)).mean()
    assert same < 20 < other


def test_a_written_clip_decodes_to_its_seconds_and_its_truth_reads_back(tmp_path: Path) -> None:
    clip = sh.make_clip(seed=1, duration_s=4)
    video = sh.write_clip(clip, tmp_path / "c.mp4")
    info = probe_video(video)
    assert (info.width, info.height) == sh.SIZE
    assert SampleReader(video, 1.0, info).expected_samples() == 4
    lab = read_labels_csv(sh.write_truth(clip, tmp_path / "truth.csv"))
    assert lab.names == clip.names
    assert lab.times.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert np.array_equal(lab.values, clip.truth())
