"""The per-character classifier: validated model choice, scores, safe persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.classifier import ScreenTimeClassifier
from core.errors import ModelError
from core.validation import scores, time_block_folds


def _data(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two characters whose presence shows in features 0 and 1 (plus noise), Tom and Jerry sometimes together."""
    rng = np.random.default_rng(seed)
    Y = np.stack([(np.arange(n) // 7) % 2, (np.arange(n) // 5) % 3 == 0], axis=1).astype(np.uint8)
    X = rng.normal(0, 1, (n, 20)).astype(np.float32)
    X[:, :2] += 5.0 * Y
    return X, Y, np.arange(n, dtype=float)


@pytest.mark.parametrize("kind", ["linear", "dense", "auto"])
def test_learns_two_characters_at_once(kind: str) -> None:
    X, Y, T = _data()
    clf = ScreenTimeClassifier(kind=kind).fit(X, Y, T, ["Tom", "Jerry"])
    Xt, Yt, _ = _data(seed=1)
    acc = (clf.predict(Xt) == (Yt == 1)).mean(axis=0)
    assert (acc > 0.92).all()
    assert set(clf.cv_scores_) == {"Tom", "Jerry"}
    assert all(s.f1 > 0.85 for s in clf.cv_scores_.values())
    assert clf.kind_ in ("linear", "dense")
    if kind == "auto":
        assert set(clf.cv_by_kind_) == {"linear", "dense"}
        assert clf.cv_by_kind_[clf.kind_] == max(clf.cv_by_kind_.values())


def test_save_and_load_give_the_same_predictions(tmp_path: Path) -> None:
    X, Y, T = _data()
    clf = ScreenTimeClassifier(kind="dense").fit(X, Y, T, ["Tom", "Jerry"])
    clf.save(tmp_path / "m", extra={"backbone": "b", "weights": "w", "every": 1.0})
    back, meta = ScreenTimeClassifier.load(tmp_path / "m")
    np.testing.assert_allclose(back.predict_proba(X), clf.predict_proba(X), rtol=1e-6)
    assert back.names_ == ("Tom", "Jerry") and meta["backbone"] == "b"
    assert back.cv_scores_["Tom"] == clf.cv_scores_["Tom"]
    with np.load(tmp_path / "m" / "weights.npz", allow_pickle=False) as z:  # plain arrays, no pickled objects
        assert sorted(z.files) == ["b1", "b2", "mean", "scale", "w1", "w2"]
    assert json.loads((tmp_path / "m" / "model.json").read_text())["characters"] == ["Tom", "Jerry"]


@pytest.mark.parametrize("setup, message", [
    pytest.param(lambda d: None, "holds no trained model", id="empty-folder"),
    pytest.param(lambda d: ((d / "model.json").write_text("{"), (d / "weights.npz").write_bytes(b"x")),
                 "is damaged", id="damaged"),
    pytest.param(lambda d: ((d / "model.json").write_text('{"format": 99}'), (d / "weights.npz").write_bytes(b"x")),
                 "another version", id="other-version"),
])
def test_loading_a_bad_model_says_what_to_do(tmp_path: Path, setup, message: str) -> None:
    setup(tmp_path)
    with pytest.raises(ModelError, match=message):
        ScreenTimeClassifier.load(tmp_path)


def test_a_character_without_examples_is_named() -> None:
    X, Y, T = _data()
    Y[:, 1] = 0
    Y[0, 1] = 1
    with pytest.raises(ModelError, match="Jerry needs at least 2 labelled moments with them on screen"):
        ScreenTimeClassifier().fit(X, Y, T, ["Tom", "Jerry"])


def test_features_of_another_backbone_are_refused() -> None:
    X, Y, T = _data()
    clf = ScreenTimeClassifier(kind="linear").fit(X, Y, T, ["Tom", "Jerry"])
    with pytest.raises(ModelError, match="same backbone"):
        clf.predict_proba(np.zeros((3, 7), np.float32))


def test_folds_keep_neighbouring_seconds_together() -> None:
    folds = time_block_folds(np.arange(100.0), 5, 10.0)
    for start in range(0, 100, 10):
        assert len(set(folds[start:start + 10])) == 1
    assert sorted(set(folds)) == [0, 1, 2, 3, 4]


def test_scores_and_words() -> None:
    s = scores("Tom", np.array([1, 1, 1, 1, 0, 0], bool), np.array([1, 1, 1, 0, 1, 0], bool))
    assert (s.true_positives, s.false_positives, s.false_negatives) == (3, 1, 1)
    assert s.precision == 0.75 and s.recall == 0.75
    assert s.in_words() == ("finds Tom in 8 of 10 moments they are on screen; "
                            "when it says Tom, it is right 8 times in 10")
