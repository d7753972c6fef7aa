"""The per-character classifier: validated model choice, scores, safe persistence."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.classifier import ScreenTimeClassifier
from core.errors import ModelError
from core.labels import ENOUGH_RULE
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
def test_loading_a_bad_model_says_what_to_do(tmp_path: Path, setup: Callable[[Path], object], message: str
                                             ) -> None:
    setup(tmp_path)
    with pytest.raises(ModelError, match=message):
        ScreenTimeClassifier.load(tmp_path)


def test_a_character_without_examples_is_named() -> None:
    X, Y, T = _data()
    Y[:, 1] = 0
    Y[0, 1] = 1
    with pytest.raises(ModelError, match=re.escape(f"Jerry needs {ENOUGH_RULE} (now 1 with them on screen, 119 ")):
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


# ---- scikit-learn's estimator rules ---------------------------------------------------------------------------
def _faint_jerry(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tom plain to see (feature 0 shifted by 5 s.d.); Jerry on screen a quarter of the time and faint (feature 1
    shifted by 2 s.d.), so that balanced class weights make 0.5 call him too often and a higher threshold
    scores better."""
    rng = np.random.default_rng(seed)
    Y = np.stack([(np.arange(n) // 7) % 2, (np.arange(n) // 4) % 4 == 0], axis=1).astype(np.uint8)
    X = rng.normal(0, 1, (n, 20)).astype(np.float32)
    X[:, 0] += 5.0 * Y[:, 0]
    X[:, 1] += 2.0 * Y[:, 1]
    return X, Y, np.arange(n, dtype=float)


def test_clone_gives_an_unfitted_copy_with_equal_settings() -> None:
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    X, Y, T = _data()
    clf = ScreenTimeClassifier(kind="linear", C=0.5, threshold="cv").fit(X, Y, T, ["Tom", "Jerry"])
    check_is_fitted(clf)
    copy = clone(clf)
    assert copy is not clf and copy.get_params() == clf.get_params()
    assert copy.get_params()["threshold"] == "cv" and copy.get_params(deep=False)["C"] == 0.5
    assert not [name for name in vars(copy) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)


def test_set_params_changes_a_setting_and_refuses_an_unknown_one() -> None:
    clf = ScreenTimeClassifier()
    assert clf.set_params(kind="linear", threshold=0.4) is clf
    assert (clf.kind, clf.threshold) == ("linear", 0.4)
    with pytest.raises(ValueError, match="no setting 'hiddden'"):
        clf.set_params(epochs=5, hiddden=3)
    assert clf.epochs == 60  # nothing changed


def test_settings_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        ScreenTimeClassifier("linear")  # type: ignore[call-arg]
    assert repr(ScreenTimeClassifier(kind="dense", threshold="cv")) == \
        "ScreenTimeClassifier(kind='dense', threshold='cv')"


def test_init_only_stores_the_settings() -> None:
    clf = ScreenTimeClassifier()
    assert vars(clf) == clf.get_params()


@pytest.mark.parametrize("use", [
    pytest.param(lambda clf: clf.predict_proba(np.zeros((2, 20), np.float32)), id="predict_proba"),
    pytest.param(lambda clf: clf.predict(np.zeros((2, 20), np.float32)), id="predict"),
    pytest.param(lambda clf: clf.save("never-written"), id="save"),
])
def test_an_unfitted_model_says_to_train_it_first(use: Callable[[ScreenTimeClassifier], object]) -> None:
    with pytest.raises(ModelError, match="^This model has not been trained yet: train it on labelled moments first.$"):
        use(ScreenTimeClassifier())


@pytest.mark.parametrize("setting, message", [
    pytest.param({"kind": "forest"}, "kind must be auto, dense, linear or spatial", id="kind"),
    pytest.param({"kind": "spatial"}, "a spatial model needs cell_dim", id="spatial-without-cells"),
    pytest.param({"threshold": 1.0}, "threshold must be a probability between 0 and 1 or 'cv'", id="threshold-1"),
    pytest.param({"threshold": 0.0}, "threshold must be a probability", id="threshold-0"),
    pytest.param({"threshold": "f1"}, "threshold must be a probability", id="threshold-word"),
    pytest.param({"threshold": True}, "threshold must be a probability", id="threshold-bool"),
    pytest.param({"dropout": 1.0}, "dropout must be at least 0 and below 1", id="dropout"),
    pytest.param({"input_dropout": -0.1}, "input_dropout must be at least 0 and below 1", id="input-dropout"),
    pytest.param({"batch_size": 0}, "batch_size must be at least 1", id="batch"),
    pytest.param({"block_s": 0.0}, "block_s must be a positive number of seconds", id="block"),
])
def test_a_bad_setting_is_refused_by_fit(setting: dict[str, Any], message: str) -> None:
    X, Y, T = _data()
    clf = ScreenTimeClassifier(**setting)  # stored as given: checking is fit's job
    with pytest.raises(ValueError, match=message):
        clf.fit(X, Y, T, ["Tom", "Jerry"])


@pytest.mark.parametrize("kind", ["linear", "dense"])
def test_the_default_threshold_is_0_5_for_everyone_and_scores_the_out_of_fold_probabilities(kind: str) -> None:
    X, Y, T = _data()
    clf = ScreenTimeClassifier(kind=kind).fit(X, Y, T, ["Tom", "Jerry"])
    assert clf.thresholds_.dtype == np.float32 and clf.thresholds_.tolist() == [0.5, 0.5]
    assert clf.oof_proba_ is not None and clf.oof_proba_.shape == Y.shape
    for j, name in enumerate(clf.names_):
        assert clf.cv_scores_[name] == scores(name, Y[:, j] == 1, clf.oof_proba_[:, j] >= 0.5)
    assert clf.cv_by_kind_ == {kind: round(float(np.mean([s.f1 for s in clf.cv_scores_.values()])), 4)}
    assert (clf.predict(X) == (clf.predict_proba(X) >= 0.5)).all()
    assert (clf.n_train_, clf.n_folds_, clf.n_features_in_) == (120, 5, 20)


def test_a_fixed_threshold_is_used_for_every_character_and_for_the_scores() -> None:
    X, Y, T = _data()
    clf = ScreenTimeClassifier(kind="linear", threshold=0.3).fit(X, Y, T, ["Tom", "Jerry"])
    assert clf.thresholds_.tolist() == pytest.approx([0.3, 0.3])
    assert clf.oof_proba_ is not None
    assert clf.cv_scores_["Jerry"] == scores("Jerry", Y[:, 1] == 1, clf.oof_proba_[:, 1] >= np.float32(0.3))


def test_threshold_cv_learns_a_higher_threshold_for_a_faint_character_and_keeps_it_when_saved(tmp_path: Path) -> None:
    X, Y, T = _faint_jerry()
    clf = ScreenTimeClassifier(kind="linear", threshold="cv").fit(X, Y, T, ["Tom", "Jerry"])
    tom, jerry = clf.thresholds_.tolist()
    assert tom == 0.5  # many thresholds separate Tom perfectly: ties go to the one nearest 0.5
    assert jerry > 0.5
    assert clf.oof_proba_ is not None
    at_half = scores("Jerry", Y[:, 1] == 1, clf.oof_proba_[:, 1] >= 0.5)
    assert clf.cv_scores_["Jerry"].f1 > at_half.f1
    assert clf.cv_scores_["Jerry"] == scores("Jerry", Y[:, 1] == 1, clf.oof_proba_[:, 1] >= clf.thresholds_[1])
    assert (clf.predict(X) == (clf.predict_proba(X) >= clf.thresholds_)).all()

    clf.save(tmp_path / "m")
    back, meta = ScreenTimeClassifier.load(tmp_path / "m")
    assert meta["params"]["threshold"] == "cv" and back.threshold == "cv"
    np.testing.assert_array_equal(back.thresholds_, clf.thresholds_)
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    assert back.cv_scores_ == clf.cv_scores_


def test_threshold_cv_falls_back_to_0_5_without_cross_validation() -> None:
    X, Y, T = _faint_jerry()
    clf = ScreenTimeClassifier(kind="linear", threshold="cv", block_s=1000.0).fit(X, Y, T, ["Tom", "Jerry"])
    assert clf.n_folds_ == 1 and clf.oof_proba_ is None and clf.cv_scores_ == {}
    assert clf.thresholds_.tolist() == [0.5, 0.5]


def test_a_model_saved_before_the_newer_settings_loads_with_their_defaults(tmp_path: Path) -> None:
    X, Y, T = _data()
    clf = ScreenTimeClassifier(kind="linear").fit(X, Y, T, ["Tom", "Jerry"])
    clf.save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["params"] = {"kind": "auto", "hidden": 256, "dropout": 0.5, "epochs": 60, "C": 0.1, "n_folds": 5,
                      "block_s": 10.0, "random_state": 0}  # the settings of format 1's first models
    (tmp_path / "model.json").write_text(json.dumps(meta))
    back, _ = ScreenTimeClassifier.load(tmp_path)
    # the stored settings are kept (kind "auto" was the default then), the newer ones take their defaults
    assert back.get_params() == {**ScreenTimeClassifier().get_params(), "kind": "auto"}
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.oof_proba_ is None and back.n_features_in_ == 20


def test_the_demo_model_still_loads_and_predicts() -> None:
    clf, meta = ScreenTimeClassifier.load(Path(__file__).resolve().parents[1] / "demo" / "model")
    assert clf.threshold == 0.5 and clf.thresholds_.tolist() == [0.5] * len(clf.names_)
    P = clf.predict_proba(np.zeros((3, clf.n_features_in_), np.float32))
    assert P.shape == (3, len(meta["characters"])) and ((P >= 0) & (P <= 1)).all()


def test_a_model_with_an_unknown_setting_was_saved_by_another_version(tmp_path: Path) -> None:
    X, Y, T = _data()
    ScreenTimeClassifier(kind="linear").fit(X, Y, T, ["Tom", "Jerry"]).save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["params"]["momentum"] = 0.9
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="saved by another version"):
        ScreenTimeClassifier.load(tmp_path)


def test_importing_the_classifier_does_not_import_scikit_learn() -> None:
    import subprocess
    import sys

    code = "import sys, core.classifier; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"
