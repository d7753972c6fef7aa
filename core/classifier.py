"""The character classifier: one yes/no output per character over frame features.

Two candidates are trained on the same features and the one that validates better is kept:

* ``dense``: the tutorial's recipe, a hidden dense layer with dropout, trained with per-character class
  weights (a sigmoid per character instead of the tutorial's exclusive softmax), in NumPy;
* ``linear``: logistic regression per character with balanced class weights.

Validation is cross-validation over contiguous time blocks (:mod:`core.validation`). Models are saved as
JSON plus a NumPy ``.npz`` of arrays: loading never executes code, and prediction needs only NumPy.
Follows scikit-learn's rules: ``__init__`` only stores parameters, ``fit`` returns ``self``, what is learned
ends in ``_``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import config
from ._version import __version__
from .errors import ModelError
from .validation import Scores, scores, time_block_folds

KINDS = ("dense", "linear")
#: Fewest Adam updates of the dense model, whatever the number of labels (120 labels at 60 epochs of
#: batches of 32 gave 240 updates and left it 4 points below its converged accuracy).
MIN_STEPS = 600
MODEL_FORMAT = 1


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


class _Fitted:
    """Arrays of one fitted model and its NumPy forward pass."""

    def __init__(self, kind: str, arrays: dict[str, np.ndarray]) -> None:
        self.kind = kind
        self.arrays = arrays

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        a = self.arrays
        Z = (X - a["mean"]) / a["scale"]
        if self.kind == "linear":
            return _sigmoid(Z @ a["coef"].T + a["intercept"])
        H = np.maximum(Z @ a["w1"] + a["b1"], 0.0)
        return _sigmoid(H @ a["w2"] + a["b2"])


def _standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return mean.astype(np.float32), scale.astype(np.float32)


def _fit_linear(X: np.ndarray, Y: np.ndarray, C: float, seed: int) -> _Fitted:
    from sklearn.linear_model import LogisticRegression

    mean, scale = _standardise(X)
    Z = (X - mean) / scale
    coef = np.zeros((Y.shape[1], X.shape[1]), np.float32)
    intercept = np.zeros(Y.shape[1], np.float32)
    for j in range(Y.shape[1]):
        y = Y[:, j]
        if y.min() == y.max():  # this fold has one class only: predict its share
            intercept[j] = 8.0 if y[0] else -8.0
            continue
        lr = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)
        lr.fit(Z, y)
        coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
    return _Fitted("linear", {"mean": mean, "scale": scale, "coef": coef, "intercept": intercept})


def _fit_dense(X: np.ndarray, Y: np.ndarray, hidden: int, dropout: float, epochs: int, seed: int) -> _Fitted:
    """The tutorial's dense layer with dropout and class weights, trained with Adam in NumPy.

    NumPy keeps training free of TensorFlow: with cached features a model trains in about a second and the
    dashboard can retrain after every few labels. Loss: binary cross-entropy per character, each class of
    each character weighted as if it were half of the data (the tutorial's class weights), plus L2.
    """
    rng = np.random.default_rng(seed)
    mean, scale = _standardise(X)
    Z = ((X - mean) / scale).astype(np.float32)
    T = Y.astype(np.float32)
    n, d = Z.shape
    c = T.shape[1]
    pos = T.mean(axis=0).clip(1e-3, 1 - 1e-3)
    w_pos, w_neg = (0.5 / pos).astype(np.float32), (0.5 / (1 - pos)).astype(np.float32)
    params = {
        "w1": (rng.standard_normal((d, hidden)) * np.sqrt(2.0 / d)).astype(np.float32),
        "b1": np.zeros(hidden, np.float32),
        "w2": (rng.standard_normal((hidden, c)) * np.sqrt(1.0 / hidden)).astype(np.float32),
        "b2": np.zeros(c, np.float32),
    }
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v2 = {k: np.zeros_like(v) for k, v in params.items()}
    lr, beta1, beta2, l2, batch, step = 1e-3, np.float32(0.9), np.float32(0.999), np.float32(1e-3), 32, 0
    # Small label sets give few batches per epoch: train for at least MIN_STEPS updates all the same.
    epochs = max(epochs, -(-MIN_STEPS // -(-n // batch)))
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            x, t = Z[idx], T[idx]
            x = x * ((rng.random(x.shape, dtype=np.float32) >= 0.2) * np.float32(1.25))  # input dropout
            h_pre = x @ params["w1"] + params["b1"]
            keep = (rng.random(h_pre.shape, dtype=np.float32) >= dropout) * np.float32(1.0 / (1.0 - dropout))
            h = np.maximum(h_pre, 0.0) * keep
            p = _sigmoid(h @ params["w2"] + params["b2"])
            # d(weighted BCE)/d(logit), averaged over the batch and the characters
            g_out = (w_pos * t * (p - 1.0) + w_neg * (1.0 - t) * p) / (len(idx) * c)
            grads = {"w2": h.T @ g_out + l2 * params["w2"], "b2": g_out.sum(axis=0)}
            g_h = (g_out @ params["w2"].T) * keep * (h_pre > 0)
            grads["w1"] = x.T @ g_h + l2 * params["w1"]
            grads["b1"] = g_h.sum(axis=0)
            step += 1
            for k in params:
                m[k] = beta1 * m[k] + (1 - beta1) * grads[k]
                v2[k] = beta2 * v2[k] + (1 - beta2) * grads[k] ** 2
                rate = np.float32(lr * np.sqrt(1 - beta2 ** step) / (1 - beta1 ** step))
                params[k] -= rate * m[k] / (np.sqrt(v2[k]) + np.float32(1e-8))
    return _Fitted("dense", {"mean": mean, "scale": scale, **params})


class ScreenTimeClassifier:
    """Multi-label classifier over frame features with validated model choice.

    >>> clf = ScreenTimeClassifier().fit(X, Y, times, ["Tom", "Jerry"])   # doctest: +SKIP
    >>> clf.kind_, clf.cv_scores_["Tom"].f1                               # doctest: +SKIP
    ('linear', 0.93)
    >>> clf.predict_proba(X_new).shape                                     # doctest: +SKIP
    (600, 2)
    """

    def __init__(self, kind: str = "auto", hidden: int = 256, dropout: float = 0.5, epochs: int = 60,
                 C: float = 0.1, n_folds: int = config.CV_FOLDS, block_s: float = 10.0,
                 random_state: int = 0) -> None:
        self.kind = kind
        self.hidden = hidden
        self.dropout = dropout
        self.epochs = epochs
        self.C = C
        self.n_folds = n_folds
        self.block_s = block_s
        self.random_state = random_state

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("kind", "hidden", "dropout", "epochs", "C", "n_folds", "block_s",
                                              "random_state")}

    def _fit_one(self, kind: str, X: np.ndarray, Y: np.ndarray) -> _Fitted:
        if kind == "linear":
            return _fit_linear(X, Y, self.C, self.random_state)
        return _fit_dense(X, Y, self.hidden, self.dropout, self.epochs, self.random_state)

    def _oof(self, kind: str, X: np.ndarray, Y: np.ndarray, folds: np.ndarray) -> np.ndarray:
        """Out-of-fold probabilities: each moment predicted by a model that never saw its block."""
        P = np.zeros(Y.shape, np.float32)
        for f in np.unique(folds):
            test = folds == f
            P[test] = self._fit_one(kind, X[~test], Y[~test]).predict_proba(X[test])
        return P

    def fit(self, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: list[str] | tuple[str, ...]
            ) -> "ScreenTimeClassifier":
        # One BLAS thread: the matrices are small, and on 2 busy cores several threads fighting over them made
        # training of the demo's 20 labels take 80 s instead of 7 s (measured while features were extracted).
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return self._fit(X, Y, times, names)

    def _fit(self, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: list[str] | tuple[str, ...]
             ) -> "ScreenTimeClassifier":
        X = np.asarray(X, np.float32)
        Y = np.asarray(Y, np.uint8)
        times = np.asarray(times, float)
        if self.kind not in ("auto", *KINDS):
            raise ValueError(f"kind must be auto, dense or linear, got {self.kind!r}")
        if X.ndim != 2 or Y.shape != (X.shape[0], len(names)) or times.shape != (X.shape[0],):
            raise ValueError(f"X (N, D), Y (N, {len(names)}) and times (N,) disagree: "
                             f"{X.shape}, {Y.shape}, {times.shape}")
        if len(names) == 0:
            raise ModelError("There are no characters to learn: add at least one character and label it.")
        for j, name in enumerate(names):
            pos = int(Y[:, j].sum())
            if pos < 2 or len(Y) - pos < 2:
                raise ModelError(f"{name} needs at least 2 labelled moments with them on screen and 2 without "
                                 f"(now {pos} with, {len(Y) - pos} without): label a few more frames.")
        n_blocks = len(np.unique(np.floor(times / self.block_s)))
        n_folds = min(self.n_folds, n_blocks)
        kinds = list(KINDS) if self.kind == "auto" else [self.kind]
        self.names_ = tuple(names)
        self.cv_scores_: dict[str, Scores] = {}
        self.cv_by_kind_: dict[str, float] = {}
        self.oof_proba_: Optional[np.ndarray] = None
        self.thresholds_ = np.full(len(names), config.THRESHOLD, np.float32)
        if n_folds >= 2:
            folds = time_block_folds(times, n_folds, self.block_s)
            best = None
            for kind in kinds:
                P = self._oof(kind, X, Y, folds)
                macro = float(np.mean([scores(n, Y[:, j] == 1, P[:, j] >= config.THRESHOLD).f1
                                       for j, n in enumerate(names)]))
                self.cv_by_kind_[kind] = round(macro, 4)
                if best is None or macro > best[0] + 1e-9:
                    best = (macro, kind, P)
            assert best is not None
            _, self.kind_, self.oof_proba_ = best
            self.cv_scores_ = {n: scores(n, Y[:, j] == 1, self.oof_proba_[:, j] >= self.thresholds_[j])
                               for j, n in enumerate(names)}
        else:
            self.kind_ = "linear" if self.kind == "auto" else self.kind
        self.n_folds_ = n_folds
        self.n_train_ = int(len(Y))
        self.model_ = self._fit_one(self.kind_, X, Y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise ModelError("This model has not been trained yet: train it on labelled moments first.")
        X = np.asarray(X, np.float32)
        expected = self.model_.arrays["mean"].shape[0]
        if X.ndim != 2 or X.shape[1] != expected:
            raise ModelError(f"The features have {X.shape[-1]} values per frame but the model expects {expected}: "
                             "use the same backbone the model was trained with.")
        return self.model_.predict_proba(X).astype(np.float32)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X) >= self.thresholds_

    # ---- persistence: JSON + npz, nothing that executes on load -------------------------------------------
    def save(self, model_dir: os.PathLike[str] | str, extra: Optional[dict[str, Any]] = None) -> Path:
        """Write ``model.json`` and ``weights.npz`` into ``model_dir``; ``extra`` is stored in the JSON."""
        d = Path(model_dir)
        d.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": MODEL_FORMAT, "program_version": __version__, "characters": list(self.names_),
            "kind": self.kind_, "params": self.get_params(), "thresholds": [float(t) for t in self.thresholds_],
            "n_train": self.n_train_, "n_folds": self.n_folds_, "cv_by_kind": self.cv_by_kind_,
            "cv_scores": {n: asdict(s) for n, s in self.cv_scores_.items()}, **(extra or {}),
        }
        tmp_w = d / ".weights.npz.tmp.npz"
        np.savez(tmp_w, **self.model_.arrays)
        os.replace(tmp_w, d / "weights.npz")
        tmp_j = d / ".model.json.tmp"
        tmp_j.write_text(json.dumps(meta, indent=1))
        os.replace(tmp_j, d / "model.json")
        return d

    @classmethod
    def load(cls, model_dir: os.PathLike[str] | str) -> tuple["ScreenTimeClassifier", dict[str, Any]]:
        """The model and its stored metadata (backbone, sampling...). Raises :class:`ModelError`."""
        d = Path(model_dir)
        mj, wz = d / "model.json", d / "weights.npz"
        if not mj.is_file() or not wz.is_file():
            raise ModelError(f"{d} holds no trained model (model.json and weights.npz): train one with "
                             "`python -m core train` first, or check the folder.")
        try:
            meta = json.loads(mj.read_text())
            if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
                raise ModelError(f"The model in {d} was saved by another version of Screen Time: train it again.")
            with np.load(wz, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise ModelError(f"The model in {d} is damaged ({exc.__class__.__name__}): train it again.") from None
        clf = cls(**meta["params"])
        clf.names_ = tuple(meta["characters"])
        clf.kind_ = meta["kind"]
        clf.thresholds_ = np.asarray(meta["thresholds"], np.float32)
        clf.n_train_ = meta["n_train"]
        clf.n_folds_ = meta["n_folds"]
        clf.cv_by_kind_ = meta.get("cv_by_kind", {})
        clf.cv_scores_ = {n: Scores(**s) for n, s in meta.get("cv_scores", {}).items()}
        clf.model_ = _Fitted(clf.kind_, arrays)
        return clf, meta
