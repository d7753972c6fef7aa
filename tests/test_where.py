"""Where the model sees each character (core/where.py), with the tests' stand-in network: a red square in
one corner of a frame puts the peak of Red's map in that corner's cells."""

from __future__ import annotations

import fakes
import numpy as np
import pytest
from synth import make_video

from core.backbone import FeatureSpec
from core.cache import FeatureCache
from core.classifier import ScreenTimeClassifier
from core.where import cells_path, draw_where, missing_moments, score_cells, where_maps

SIZE = 224
CORNERS = {"top left": (0, 0), "top right": (0, 3), "bottom left": (3, 0), "bottom right": (3, 3)}


def frame(rng: np.random.Generator, red_at: tuple[int, int] | None = None, blue_at: tuple[int, int] | None = None
          ) -> np.ndarray:
    """A noisy, smoothly coloured background with a red and/or a blue square whose top-left corner is given."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    base = rng.integers(60, 160, 3)
    img = np.stack([base[c] + 30 * np.sin((xx * (c + 1) + yy) / 30.0 + rng.uniform(0, 6)) for c in range(3)], -1)
    img = np.clip(img + rng.integers(0, 12, img.shape), 0, 255).astype(np.uint8)
    for at, colour in ((red_at, (230, 40, 40)), (blue_at, (30, 60, 230))):
        if at is not None:
            y, x = at
            img[y:y + 40, x:x + 40] = colour
    return img


def square_at(rng: np.random.Generator) -> tuple[int, int]:
    return int(rng.integers(0, SIZE - 40)), int(rng.integers(0, SIZE - 40))


@pytest.fixture(scope="module")
def trained():
    """The stand-in network and a classifier trained on 60 frames with Red and Blue anywhere, or not at all."""
    rng = np.random.default_rng(0)
    backbone = fakes.ColourBackbone(FeatureSpec())
    frames, Y = [], []
    for i in range(60):
        red, blue = i % 2 == 0, i % 3 == 0
        frames.append(frame(rng, square_at(rng) if red else None, square_at(rng) if blue else None))
        Y.append([int(red), int(blue)])
    X = backbone.embed(np.stack(frames))
    clf = ScreenTimeClassifier(kind="linear").fit(X, np.array(Y), np.arange(60.0) * 5, ["Red", "Blue"])
    return backbone, clf


@pytest.mark.parametrize("corner", sorted(CORNERS))
def test_the_peak_of_red_is_in_the_corner_where_the_red_square_is(trained, corner):
    backbone, clf = trained
    rng = np.random.default_rng(1)
    row, col = CORNERS[corner]
    cell = SIZE // 4
    img = frame(rng, red_at=(row * cell + 8, col * cell + 8))
    cells, is_max = backbone.maps(img[None])
    wm = score_cells(clf, cells[0], is_max, 3.0)
    assert wm.peak("Red") == (row, col)
    left, top, right, bottom = wm.box("Red")
    assert left <= col / 4 < right and top <= row / 4 < bottom  # the box holds that cell
    # The frame's probabilities come from the cells' values pooled again: the model's own, for the frame.
    assert np.allclose(wm.probs, clf.predict_proba(backbone.embed(img[None]))[0], atol=0.02)
    assert wm.prob("Red") > wm.prob("Blue")


def test_two_characters_each_peak_where_they_are(trained):
    backbone, clf = trained
    img = frame(np.random.default_rng(2), red_at=(10, 10), blue_at=(180, 180))
    cells, is_max = backbone.maps(img[None])
    wm = score_cells(clf, cells[0], is_max, 0.0)
    assert wm.peak("Red") == (0, 0) and wm.peak("Blue") == (3, 3)


def test_draw_marks_the_box_and_leaves_the_frame_size(trained):
    backbone, clf = trained
    img = frame(np.random.default_rng(3), red_at=(180, 180))
    cells, is_max = backbone.maps(img[None])
    wm = score_cells(clf, cells[0], is_max, 0.0)
    out = draw_where(img, wm, ["Red"])
    assert out.shape == img.shape and out.dtype == np.uint8
    changed = np.abs(out.astype(int) - img.astype(int)).sum(axis=2) > 30
    assert changed[170:224, 170:224].mean() > changed[0:60, 0:60].mean()  # the heat is where Red is
    both = draw_where(img, wm, ["Red", "Blue"])
    assert both.shape == img.shape


@pytest.fixture
def red_video(tmp_path):
    return make_video(tmp_path / "red.mp4", {"Red": [(0.0, 6.0)]}, 6.0, fps=10.0)


def test_maps_are_cached_and_a_damaged_entry_is_computed_again(trained, red_video, tmp_path):
    _, clf = trained
    cache = FeatureCache(tmp_path / "cache")
    factory = fakes.Factory()
    first = where_maps(red_video, [1.0, 4.0], clf, fakes.KEY, cache, factory)
    assert factory.embedded == 2
    again = where_maps(red_video, [1.0, 4.0], clf, fakes.KEY, cache, factory)
    assert factory.embedded == 2  # from the cache: the network is not even built again
    assert len(factory.built) == 1
    assert np.allclose(first[0].cells, again[0].cells, atol=1e-2)
    sha = next((tmp_path / "cache" / "where").iterdir()).name
    files = sorted((tmp_path / "cache" / "where" / sha / fakes.KEY).iterdir())
    assert [f.name for f in files] == ["000001000.npz", "000004000.npz"]
    files[0].write_bytes(b"not an npz")
    full_sha = None
    for f in [files[1]]:
        with np.load(f) as z:
            full_sha = str(z["video_sha256"])
    assert cells_path(cache, full_sha, 1.0, fakes.KEY) == files[0]
    assert missing_moments(cache, full_sha, [1.0, 4.0], fakes.KEY) == [1.0]
    where_maps(red_video, [1.0, 4.0], clf, fakes.KEY, cache, factory)
    assert factory.embedded == 3


def test_a_model_of_other_features_is_refused_in_one_sentence(trained, red_video, tmp_path):
    from core.errors import ModelError

    _, clf = trained
    with pytest.raises(ModelError, match="train the model again"):
        where_maps(red_video, [1.0], clf, "colour-other-32x32", FeatureCache(tmp_path / "c"), fakes.Factory())


def test_the_command_draws_a_picture_and_names_each_character(trained, red_video, tmp_path, capsys, monkeypatch):
    from core.cli import main

    _, clf = trained
    monkeypatch.setenv("SCREENTIME_CACHE", str(tmp_path / "cache"))
    clf.save(tmp_path / "model", {"backbone": fakes.KEY})
    out = tmp_path / "heat.png"
    assert main(["where", str(red_video), "--model", str(tmp_path / "model"), "--at", "2", "--out", str(out),
                 "--character", "Red"]) == 0
    printed = capsys.readouterr().out
    assert "Where the model sees Red at 2 s" in printed and "Blue" in printed and "(not drawn)" in printed
    import cv2

    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape[1] == 640


@pytest.mark.parametrize("extra, words", [(["--at", "99"], "not inside the video"),
                                          (["--at", "1", "--character", "Nobody"], "does not know 'Nobody'")])
def test_the_command_refuses_bad_input_in_one_sentence(trained, red_video, tmp_path, capsys, monkeypatch,
                                                       extra, words):
    from core.cli import main

    _, clf = trained
    monkeypatch.setenv("SCREENTIME_CACHE", str(tmp_path / "cache"))
    clf.save(tmp_path / "model", {"backbone": fakes.KEY})
    code = main(["where", str(red_video), "--model", str(tmp_path / "model"), "--out", str(tmp_path / "x.png"),
                 *extra])
    err = capsys.readouterr().err
    assert code == 2 and words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_values_too_large_for_half_precision_are_kept_whole(tmp_path):
    from core import where

    cells = np.full((2, 2, 3), 1e5, np.float32)
    f = tmp_path / "000001000.npz"
    where._store_cells(f, "a" * 64, "k", cells, np.array([False, True, False]))
    back = where._load_cells(f, "a" * 64, "k")
    assert back is not None and np.array_equal(back[0], cells) and back[1].tolist() == [False, True, False]
    assert where._load_cells(f, "b" * 64, "k") is None and where._load_cells(f, "a" * 64, "other") is None
