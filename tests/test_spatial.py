"""The spatial head: cells scored one by one, a frame counted by its best cells (core.spatial)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core import jobs, spatial
from core.classifier import ScreenTimeClassifier
from core.errors import ModelError

CELLS, DIM = 12, 6


def _bags(n: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames of 12 cells of 6 values. "Dot" lights value 0 of one random cell only (an average over the frame
    moves by a twelfth of that); "Wash" raises value 1 of every cell."""
    rng = np.random.default_rng(seed)
    Y = np.stack([(np.arange(n) // 3) % 2, (np.arange(n) // 5) % 2], axis=1).astype(np.uint8)
    cells = rng.normal(0, 1, (n, CELLS, DIM)).astype(np.float32)
    cells[np.arange(n), rng.integers(0, CELLS, n), 0] += 6.0 * Y[:, 0]
    cells[:, :, 1] += 3.0 * Y[:, 1:2]
    return cells.reshape(n, -1).astype(np.float16), Y, np.arange(n, dtype=float) * 2


def test_the_head_finds_a_character_in_one_cell_and_one_spread_over_the_frame() -> None:
    X, Y, T = _bags()
    clf = ScreenTimeClassifier(kind="spatial", cell_dim=DIM).fit(X, Y, T, ["Dot", "Wash"])
    Xt, Yt, _ = _bags(seed=1)
    acc = (clf.predict(Xt) == (Yt == 1)).mean(axis=0)
    assert (acc >= 0.9).all(), acc
    assert clf.kind_ == "spatial" and clf.n_features_in_ == CELLS * DIM
    assert set(clf.cv_scores_) == {"Dot", "Wash"} and clf.cv_by_kind_.keys() == {"spatial"}
    # The cell that holds Dot scores highest among a frame's cells.
    frame = int(np.flatnonzero(Yt[:, 0])[0])
    cells = Xt[frame].astype(np.float32).reshape(CELLS, DIM)
    assert int(np.argmax(clf.cell_logits(cells)[:, 0])) == int(np.argmax(cells[:, 0]))


def test_a_frames_probability_is_the_mean_of_its_parts_and_each_part_can_be_measured_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    X, Y, _ = _bags()
    arrays = spatial.fit(X, Y, DIM, 0.1, 0)
    both = spatial.predict_proba(arrays, X)
    alone = {}
    for part in ("cells", "pooled"):
        monkeypatch.setattr(spatial, "PARTS", (part,))
        fitted = spatial.fit(X, Y, DIM, 0.1, 0)
        assert fitted["parts"].tolist() == [part == "cells", part == "pooled"]
        alone[part] = spatial.predict_proba(fitted, X)
    np.testing.assert_allclose(both, (alone["cells"] + alone["pooled"]) / 2, atol=1e-6)
    top2 = np.sort(spatial.cell_logits(arrays, spatial.as_cells(X, DIM)), axis=1)[:, -2:].mean(axis=1)
    np.testing.assert_allclose(alone["cells"], 1 / (1 + np.exp(-top2)), atol=1e-6)
    # Each part alone still tells the frames with Dot from those without, and the two are not one model.
    dot = Y[:, 0] == 1
    for p in alone.values():
        assert p[dot, 0].mean() - p[~dot, 0].mean() > 0.3
    assert np.abs(alone["cells"] - alone["pooled"]).max() > 0.1


def test_a_fitted_head_predicts_with_the_settings_it_was_fitted_with(monkeypatch: pytest.MonkeyPatch) -> None:
    X, Y, _ = _bags()
    monkeypatch.setattr(spatial, "TOP_K", 3)
    monkeypatch.setattr(spatial, "PARTS", ("cells",))
    arrays = spatial.fit(X, Y, DIM, 0.1, 0)
    before = spatial.predict_proba(arrays, X)
    top3 = np.sort(spatial.cell_logits(arrays, spatial.as_cells(X, DIM)), axis=1)[:, -3:].mean(axis=1)
    np.testing.assert_allclose(before, 1 / (1 + np.exp(-top3)), atol=1e-6)
    # The module's settings changed after the fit do not change how the head predicts.
    monkeypatch.setattr(spatial, "TOP_K", 1)
    monkeypatch.setattr(spatial, "PARTS", ("cells", "pooled"))
    np.testing.assert_array_equal(spatial.predict_proba(arrays, X), before)


def test_save_and_load_give_the_same_predictions_and_a_damaged_head_is_refused(tmp_path: Path) -> None:
    X, Y, T = _bags()
    clf = ScreenTimeClassifier(kind="spatial", cell_dim=DIM).fit(X, Y, T, ["Dot", "Wash"])
    clf.save(tmp_path / "m")
    back, _ = ScreenTimeClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.n_features_in_ == CELLS * DIM
    with np.load(tmp_path / "m" / "weights.npz", allow_pickle=False) as z:
        assert sorted(z.files) == sorted(spatial.ARRAYS)
        arrays = {k: z[k] for k in z.files}
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    meta.pop("weights_sha256")
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))

    def saved_with(**changed: np.ndarray) -> None:
        np.savez(tmp_path / "m" / "weights.npz", **{k: v for k, v in {**arrays, **changed}.items() if v.size})

    # A head saved before heads kept their settings was fitted with the top 2 cells and both parts.
    saved_with(top_k=np.array([]), parts=np.array([]))
    old, _ = ScreenTimeClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(old.predict_proba(X), clf.predict_proba(X))
    for changed, why in [({"n_cells": np.array([2.5], np.float32)}, "its cell count is 2.5"),
                         ({"top_k": np.array([13], np.float32)}, "its top_k is 13.0, not a whole number of its 12"),
                         ({"parts": np.array([0, 0], np.float32)}, "its parts are not flags with at least one set"),
                         ({"parts": np.array([1], np.float32)}, "its array parts has shape")]:
        saved_with(**changed)
        with pytest.raises(ModelError, match=rf"damaged \({why}"):
            ScreenTimeClassifier.load(tmp_path / "m")


def test_features_of_another_width_are_refused_in_one_sentence() -> None:
    X, Y, T = _bags()
    clf = ScreenTimeClassifier(kind="spatial", cell_dim=DIM).fit(X, Y, T, ["Dot", "Wash"])
    with pytest.raises(ModelError, match="expects 72: use the same backbone"):
        clf.predict_proba(np.zeros((2, 70), np.float32))


def test_a_character_of_one_class_inside_a_fold_is_predicted_as_that_class() -> None:
    X, Y, T = _bags(30)
    arrays = spatial.fit(X, np.stack([np.ones(30), Y[:, 0]], 1).astype(np.uint8), DIM, 0.1, 0)
    p = spatial.predict_proba(arrays, X)
    assert (p[:, 0] > 0.99).all()


def test_cell_features_choose_the_spatial_head_and_pooled_ones_refuse_it() -> None:
    assert jobs.classifier_settings("efflite0-imagenet-stage16+block-cells-288x512") == {
        "kind": "spatial", "cell_dim": 432, "n_folds": 3}
    assert jobs.classifier_settings("efflite0-imagenet-stage16+head-avgmax-288x512", "dense") == {"kind": "dense"}
    with pytest.raises(ModelError, match="The spatial head needs cell features"):
        jobs.classifier_settings("vgg16-hed-bsds500-block4_conv3+block5_conv3-avgmax-224x224", "spatial")
    with pytest.raises(ModelError, match="The linear classifier needs pooled features"):
        jobs.classifier_settings("efflite0-imagenet-stage16+block-cells-288x512", "linear")
    assert jobs.classifier_settings("vgg16-hed-bsds500-block5_conv3-avg-224x224") == {"kind": "linear"}
