"""The character classifier: one yes/no output per character over frame features.

Three kinds of model. On cell features (the default, :data:`core.effnet.CELL_SPEC`) the product trains
``spatial``; on pooled features ``linear`` (:data:`core.config.CLASSIFIER_KIND`), and ``kind="auto"`` trains
``dense`` and ``linear`` on the same features and keeps the one that validates better:

* ``dense``: the tutorial's recipe, a hidden dense layer with dropout, trained with per-character class
  weights (a sigmoid per character instead of the tutorial's exclusive softmax), in NumPy;
* ``linear``: logistic regression per character with balanced class weights;
* ``spatial``: cells scored one by one and a frame counted by its best ones (:mod:`core.spatial`).

Validation is cross-validation over contiguous time blocks (:mod:`core.validation`). Models are saved as
JSON plus a NumPy ``.npz`` of arrays: loading never executes code, and prediction needs only NumPy.

Follows scikit-learn's estimator rules without importing scikit-learn (importing :mod:`core` stays fast; the
linear fit imports it when it runs): ``__init__`` takes keyword-only settings and only stores them,
``get_params``/``set_params`` make :func:`sklearn.base.clone` work, ``fit`` returns ``self``, and what is
learned ends in ``_``.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import math
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from . import config, spatial
from ._version import __version__
from .atomic import interrupted_replace, json_text, replace_dir
from .errors import ModelError
from .labels import ENOUGH_RULE, has_enough
from .validation import Scores, scores, time_block_folds

#: The kinds ``auto`` chooses between (on pooled features).
KINDS = ("dense", "linear")
#: Every kind a model may be.
ALL_KINDS = (*KINDS, "spatial")
#: Fewest Adam updates of the dense model, whatever the number of labels (120 labels at 60 epochs of
#: batches of 32 gave 240 updates and left it 4 points below its converged accuracy).
MIN_STEPS = 600
#: Logit given to a character whose training set holds one class only (this happens inside cross-validation,
#: when all of a character's moments fall in the held-out blocks): sigmoid(+-8) = 0.9997 / 0.0003, i.e.
#: "always" / "never" at any threshold in (0.001, 0.999), while staying finite.
ONE_CLASS_LOGIT = 8.0
#: Adam's published constants (Kingma and Ba, 2015; also Keras's defaults).
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8
#: Thresholds tried by ``threshold="cv"``: 0.05 to 0.95 in steps of 0.05, in float32 like the probabilities,
#: so that a threshold scores in cross-validation exactly as it later predicts.
CV_THRESHOLD_GRID = np.linspace(0.05, 0.95, 19).astype(np.float32)
#: A candidate kind replaces the best so far only if its macro F1 is higher by more than this: ties, up to
#: floating-point noise, keep the first kind of :data:`KINDS`.
_TIE = 1e-9
MODEL_FORMAT = 1

Threshold = Union[float, str]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # Clipped so that exp never overflows; sigmoid(+-40) is already 1 or 0 in float32.
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    return out


class _Fitted:
    """Arrays of one fitted model and its NumPy forward pass."""

    def __init__(self, kind: str, arrays: dict[str, np.ndarray]) -> None:
        self.kind = kind
        self.arrays = arrays

    @property
    def n_features(self) -> int:
        if self.kind == "spatial":
            return spatial.n_features(self.arrays)
        return int(self.arrays["mean"].shape[0])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        a = self.arrays
        if self.kind == "spatial":
            return spatial.predict_proba(a, X)
        X = np.asarray(X, np.float32)
        Z = (X - a["mean"]) / a["scale"]
        if self.kind == "linear":
            return _sigmoid(Z @ a["coef"].T + a["intercept"])
        H = np.maximum(Z @ a["w1"] + a["b1"], 0.0)
        return _sigmoid(H @ a["w2"] + a["b2"])


def check_enough(Y: np.ndarray, names: Sequence[str]) -> None:
    """:class:`ModelError` naming the first character of ``names`` (the columns of the 0/1 labels ``Y``) with
    too few labelled frames on screen or off to learn from."""
    for j, name in enumerate(names):
        pos = int(np.asarray(Y)[:, j].sum())
        if not has_enough(pos, len(Y)):
            raise ModelError(f"{name} needs {ENOUGH_RULE} (now {pos} with them on screen, {len(Y) - pos} "
                             "without): label a few more frames.")


@dataclass(frozen=True)
class _Copies:
    """Extra training rows, each a copy of one moment (``source``: its index) that carries its labels."""

    X: np.ndarray
    source: np.ndarray

    @classmethod
    def checked(cls, X: np.ndarray, copies: Optional[np.ndarray], copy_of: Optional[np.ndarray]) -> _Copies:
        """As many copies as indices, each index a moment of ``X``, the copies as wide as ``X``."""
        if copies is None and copy_of is None:
            return cls(np.zeros((0, np.shape(X)[-1]), np.float32), np.zeros(0, np.int64))
        if copies is None or copy_of is None:
            raise ValueError("copies and copy_of go together")
        if not np.issubdtype(np.asarray(copy_of).dtype, np.integer):
            raise ValueError("copy_of must hold the indices of moments (integers)")
        rows, source = np.asarray(copies, np.float32), np.asarray(copy_of, np.int64)
        if rows.ndim != 2 or source.shape != (len(rows),) or (len(rows) and rows.shape[1] != np.shape(X)[-1]):
            raise ValueError(f"copies (M, D) and copy_of (M,) disagree with X: {rows.shape}, {source.shape}, "
                             f"{np.shape(X)}")
        if len(source) and not (source.min() >= 0 and source.max() < len(X)):
            raise ValueError("copy_of names a moment that X does not hold")
        return cls(rows, source)

    def training_rows(self, X: np.ndarray, Y: np.ndarray, moments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The moments selected by the mask ``moments`` and the copies of them, with their labels."""
        keep = moments[self.source]
        if not keep.any():
            return (X, Y) if moments.all() else (X[moments], Y[moments])
        return np.concatenate([X[moments], self.X[keep]]), np.concatenate([Y[moments], Y[self.source[keep]]])


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
        if y.min() == y.max():  # this fold has one class only: predict it
            intercept[j] = ONE_CLASS_LOGIT if y[0] else -ONE_CLASS_LOGIT
            continue
        lr = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)
        lr.fit(Z, y)
        coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
    return _Fitted("linear", {"mean": mean, "scale": scale, "coef": coef, "intercept": intercept})


def _fit_dense(X: np.ndarray, Y: np.ndarray, *, hidden: int, dropout: float, input_dropout: float, epochs: int,
               min_steps: int, batch_size: int, learning_rate: float, l2: float, seed: int) -> _Fitted:
    """The tutorial's dense layer with dropout and class weights, trained with Adam in NumPy.

    NumPy keeps training free of TensorFlow: with cached features a model trains in about a second and the
    dashboard can retrain after every few labels. Loss: binary cross-entropy per character, each class of
    each character weighted as if it were half of the data (the tutorial's class weights), plus L2.
    Dropout is inverted dropout: the units kept are scaled by 1 / (1 - rate), so prediction needs no scaling.
    """
    rng = np.random.default_rng(seed)
    mean, scale = _standardise(X)
    Z = ((X - mean) / scale).astype(np.float32)
    T = Y.astype(np.float32)
    n, d = Z.shape
    c = T.shape[1]
    pos = T.mean(axis=0).clip(1e-3, 1 - 1e-3)  # a fold may lack a class: keep its weight finite
    w_pos, w_neg = (0.5 / pos).astype(np.float32), (0.5 / (1 - pos)).astype(np.float32)
    params = {
        "w1": (rng.standard_normal((d, hidden)) * np.sqrt(2.0 / d)).astype(np.float32),
        "b1": np.zeros(hidden, np.float32),
        "w2": (rng.standard_normal((hidden, c)) * np.sqrt(1.0 / hidden)).astype(np.float32),
        "b2": np.zeros(c, np.float32),
    }
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v2 = {k: np.zeros_like(v) for k, v in params.items()}
    # Python floats, so that NumPy computes in the arrays' float32 (a NumPy float64 would win over float32).
    lr, in_drop, drop = float(learning_rate), float(input_dropout), float(dropout)
    beta1, beta2, eps, decay = np.float32(ADAM_BETA1), np.float32(ADAM_BETA2), np.float32(ADAM_EPSILON), np.float32(l2)
    in_keep_scale, keep_scale = np.float32(1.0 / (1.0 - in_drop)), np.float32(1.0 / (1.0 - drop))
    batch, step = int(batch_size), 0
    # Small label sets give few batches per epoch: train for at least min_steps updates all the same.
    epochs = max(epochs, -(-min_steps // -(-n // batch)))
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            x, t = Z[idx], T[idx]
            x = x * ((rng.random(x.shape, dtype=np.float32) >= in_drop) * in_keep_scale)
            h_pre = x @ params["w1"] + params["b1"]
            keep = (rng.random(h_pre.shape, dtype=np.float32) >= drop) * keep_scale
            h = np.maximum(h_pre, 0.0) * keep
            p = _sigmoid(h @ params["w2"] + params["b2"])
            # d(weighted BCE)/d(logit), averaged over the batch and the characters
            g_out = (w_pos * t * (p - 1.0) + w_neg * (1.0 - t) * p) / (len(idx) * c)
            grads = {"w2": h.T @ g_out + decay * params["w2"], "b2": g_out.sum(axis=0)}
            g_h = (g_out @ params["w2"].T) * keep * (h_pre > 0)
            grads["w1"] = x.T @ g_h + decay * params["w1"]
            grads["b1"] = g_h.sum(axis=0)
            step += 1
            for k in params:
                m[k] = beta1 * m[k] + (1 - beta1) * grads[k]
                v2[k] = beta2 * v2[k] + (1 - beta2) * grads[k] ** 2
                rate = np.float32(lr * np.sqrt(1 - beta2 ** step) / (1 - beta1 ** step))
                params[k] -= rate * m[k] / (np.sqrt(v2[k]) + eps)
    return _Fitted("dense", {"mean": mean, "scale": scale, **params})


def _cv_threshold(p: np.ndarray, truth: np.ndarray) -> np.float32:
    """The threshold of :data:`CV_THRESHOLD_GRID` with the best F1 on out-of-fold probabilities ``p``.

    Ties go to the threshold nearest ``config.THRESHOLD``, then to the lower one.

    >>> p = np.array([0.1, 0.2, 0.3, 0.4], np.float32)    # 0.25 and 0.3 both separate the classes
    >>> round(float(_cv_threshold(p, np.array([False, False, True, True]))), 2)
    0.3
    """
    order = sorted(CV_THRESHOLD_GRID, key=lambda t: (round(abs(float(t) - config.THRESHOLD), 6), float(t)))
    best_t, best_f1 = np.float32(config.THRESHOLD), -1.0
    for t in order:
        f1 = scores("", truth, p >= t).f1
        if f1 > best_f1:  # strictly better: an equal F1 further from the centre does not replace it
            best_t, best_f1 = t, f1
    return best_t


class ScreenTimeClassifier:
    """Multi-label classifier over frame features with validated model choice.

    >>> clf = ScreenTimeClassifier().fit(X, Y, times, ["Tom", "Jerry"])   # doctest: +SKIP
    >>> clf.kind_, clf.cv_scores_["Tom"].f1                               # doctest: +SKIP
    ('linear', 0.93)
    >>> clf.predict_proba(X_new).shape                                     # doctest: +SKIP
    (600, 2)
    >>> ScreenTimeClassifier(kind="dense", threshold="cv")     # the settings that differ from the defaults
    ScreenTimeClassifier(kind='dense', threshold='cv')

    Settings (keyword-only; the defaults are the product's; checked by :meth:`fit`, not here):

    kind : ``"auto"``, ``"dense"``, ``"linear"`` or ``"spatial"``
        Default :data:`core.config.CLASSIFIER_KIND` (``linear``, and the measurement that chose it). ``auto``
        cross-validates both and keeps the one with the higher macro F1 (``dense`` on a tie); without
        cross-validation (fewer than 2 folds, see ``n_folds``) it takes ``linear``.
        ``spatial`` (:mod:`core.spatial`) needs cell features and ``cell_dim``; ``auto`` never picks it.
    hidden : int
        Units of the dense model's hidden layer.
    dropout : float in [0, 1)
        Fraction of the dense model's hidden units dropped at each update.
    input_dropout : float in [0, 1)
        Fraction of the input features dropped at each update of the dense model (0.2).
    epochs : int
        Passes of the dense model over the labels, raised if needed to reach ``min_steps`` updates.
    min_steps : int
        Fewest Adam updates of the dense model (:data:`MIN_STEPS`, 600, and the measurement behind it).
    batch_size : int
        Labelled moments per update of the dense model (32).
    learning_rate : float
        Adam's step size for the dense model (1e-3, Adam's and Keras's default).
    l2 : float
        Weight decay of the dense model: ``l2 * w`` is added to the gradient of both weight matrices
        (not the biases), i.e. a penalty of ``l2 / 2 * sum(w ** 2)`` on the loss (1e-3).
    C : float
        Inverse L2 strength of the logistic regression (scikit-learn's ``C``) on standardised features.
    n_folds : int
        Most cross-validation folds (:data:`core.config.CV_FOLDS`); fewer when there are fewer time blocks,
        and none below 2.
    block_s : float
        Seconds per time block of cross-validation: a block is never split between folds.
    random_state : int
        Seed of the dense model's initial weights, shuffling and dropout, and of the logistic regression.
    threshold : float in (0, 1), or ``"cv"``
        Probability at or above which a character counts as present. A number is used for every character
        (default :data:`core.config.THRESHOLD`, 0.5: the classes are balanced, so 0.5 is the point of equal
        cost). ``"cv"`` learns one threshold per character: the value of :data:`CV_THRESHOLD_GRID` with the
        best F1 on the out-of-fold probabilities (ties nearest 0.5), and 0.5 where there was no
        cross-validation. Its ``cv_scores_`` are then optimistic, since the thresholds were chosen on the
        same probabilities; docs/accuracy.md measured that such thresholds over-fit small label sets
        (-0.05 to -0.08 macro F1 at 25-100 labels), which is why it is not the default.

    cell_dim : int
        Values per cell of cell features, for ``kind="spatial"`` (:data:`core.effnet.CELL_DIM`); 0 otherwise.

    Learned attributes (set by :meth:`fit` or :meth:`load`):

    names_ : tuple of str
        The characters, in the order of the columns of ``Y`` and of the probabilities.
    kind_ : str
        The model kept, ``"dense"`` or ``"linear"``.
    thresholds_ : float32 array (characters,)
        Per-character thresholds used by :meth:`predict` and by ``cv_scores_``.
    cv_scores_ : dict of str to :class:`core.validation.Scores`
        Out-of-fold scores of the kept kind at ``thresholds_`` (empty without cross-validation).
    cv_by_kind_ : dict of str to float
        Out-of-fold macro F1 of each kind tried, each at its own thresholds (rounded to 4 decimals).
    oof_proba_ : float32 array (moments, characters) or None
        Out-of-fold probabilities of the kept kind; None without cross-validation and after :meth:`load`
        (they are not saved).
    n_train_, n_folds_, n_features_in_ : int
        Labelled moments trained on, folds used (below 2: none), feature values per frame.
    model_ :
        The fitted arrays and their NumPy forward pass.
    """

    names_: tuple[str, ...]
    kind_: str
    thresholds_: np.ndarray
    cv_scores_: dict[str, Scores]
    cv_by_kind_: dict[str, float]
    oof_proba_: Optional[np.ndarray]
    n_train_: int
    n_folds_: int
    n_features_in_: int
    model_: _Fitted

    def __init__(self, *, kind: str = config.CLASSIFIER_KIND, hidden: int = 256, dropout: float = 0.5,
                 input_dropout: float = 0.2, epochs: int = 60, min_steps: int = MIN_STEPS, batch_size: int = 32,
                 learning_rate: float = 1e-3, l2: float = 1e-3, C: float = 0.1, n_folds: int = config.CV_FOLDS,
                 block_s: float = 10.0, random_state: int = 0, threshold: Threshold = config.THRESHOLD,
                 cell_dim: int = 0) -> None:
        self.kind = kind
        self.hidden = hidden
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.epochs = epochs
        self.min_steps = min_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.l2 = l2
        self.C = C
        self.n_folds = n_folds
        self.block_s = block_s
        self.random_state = random_state
        self.threshold = threshold
        self.cell_dim = cell_dim

    # ---- scikit-learn's estimator protocol, without importing scikit-learn -----------------------------------
    @classmethod
    def _defaults(cls) -> dict[str, Any]:
        """The settings and their defaults: the keyword-only parameters of ``__init__``, their one home."""
        return {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The settings, by name (``deep`` is accepted for scikit-learn: there are no nested estimators)."""
        return {k: getattr(self, k) for k in self._defaults()}

    def set_params(self, **params: Any) -> ScreenTimeClassifier:
        """Change settings by name; an unknown name raises ValueError and changes nothing. Returns ``self``."""
        valid = self._defaults()
        for key in params:
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no setting {key!r}: "
                                 f"the settings are {', '.join(valid)}.")
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = self._defaults()
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k]]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags, asked for by its tools only (``check_is_fitted``...), which import it first."""
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        return Tags(estimator_type="classifier", classifier_tags=ClassifierTags(multi_label=True),
                    target_tags=TargetTags(required=True, two_d_labels=True, multi_output=True,
                                           single_output=False))

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise ModelError("This model has not been trained yet: train it on labelled moments first.")

    def _check_settings(self) -> None:
        """ValueError for a setting out of range (here, not in ``__init__``, as scikit-learn does)."""
        if self.kind not in ("auto", *ALL_KINDS):
            raise ValueError(f"kind must be auto, dense, linear or spatial, got {self.kind!r}")
        if self.kind == "spatial" and self.cell_dim < 1:
            raise ValueError(f"a spatial model needs cell_dim, the values per cell, got {self.cell_dim!r}")
        t = self.threshold
        if not (t == "cv" if isinstance(t, str) else (isinstance(t, (float, np.floating)) and 0.0 < t < 1.0)):
            raise ValueError(f"threshold must be a probability between 0 and 1 or 'cv', got {t!r}")
        for name in ("dropout", "input_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be at least 0 and below 1, got {getattr(self, name)!r}")
        for name in ("hidden", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        if not self.block_s > 0:
            raise ValueError(f"block_s must be a positive number of seconds, got {self.block_s!r}")

    # ---- training --------------------------------------------------------------------------------------------
    def _fit_one(self, kind: str, X: np.ndarray, Y: np.ndarray) -> _Fitted:
        if kind == "spatial":
            return _Fitted("spatial", spatial.fit(X, Y, self.cell_dim, self.C, self.random_state))
        if kind == "linear":
            return _fit_linear(X, Y, self.C, self.random_state)
        return _fit_dense(X, Y, hidden=self.hidden, dropout=self.dropout, input_dropout=self.input_dropout,
                          epochs=self.epochs, min_steps=self.min_steps, batch_size=self.batch_size,
                          learning_rate=self.learning_rate, l2=self.l2, seed=self.random_state)

    def _oof(self, kind: str, X: np.ndarray, Y: np.ndarray, folds: np.ndarray, copies: _Copies) -> np.ndarray:
        """Out-of-fold probabilities: each moment predicted by a model that never saw its block (nor a copy of
        one of its moments)."""
        P = np.zeros(Y.shape, np.float32)
        for f in np.unique(folds):
            test = folds == f
            train = copies.training_rows(X, Y, ~test)
            P[test] = self._fit_one(kind, *train).predict_proba(X[test])
        return P

    def _thresholds(self, Y: np.ndarray, oof: Optional[np.ndarray]) -> np.ndarray:
        """Per-character thresholds of the setting ``threshold``, given out-of-fold probabilities (or None)."""
        if not isinstance(self.threshold, str):  # a number (checked: the only string allowed is "cv")
            return np.full(Y.shape[1], self.threshold, np.float32)
        if oof is None:
            return np.full(Y.shape[1], config.THRESHOLD, np.float32)
        return np.array([_cv_threshold(oof[:, j], Y[:, j] == 1) for j in range(Y.shape[1])], np.float32)

    def fit(self, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str],
            copies: Optional[np.ndarray] = None, copy_of: Optional[np.ndarray] = None) -> ScreenTimeClassifier:
        """Learn from features ``X`` (N, D), 0/1 labels ``Y`` (N, characters) at ``times`` (N,) seconds.

        ``copies`` (M, D): more examples made from the moments ``copy_of`` (M indices into ``X``; their mirror
        images, :mod:`core.mirrored`), with those moments' labels. They are learned from wherever their moment
        is, and never scored: validation, thresholds and ``n_train_`` are of the N moments alone.

        Raises :class:`ModelError` when a character has too few examples, ValueError for inconsistent shapes
        or settings. Returns ``self``.
        """
        # One BLAS thread: the matrices are small, and on 2 busy cores several threads fighting over them made
        # training of the demo's 20 labels take 80 s instead of 7 s (measured while features were extracted).
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return self._fit(X, Y, times, names, _Copies.checked(X, copies, copy_of))

    def _fit(self, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str], copies: _Copies
             ) -> ScreenTimeClassifier:
        X = np.asarray(X, np.float32)
        Y = np.asarray(Y, np.uint8)
        times = np.asarray(times, float)
        self._check_settings()
        if X.ndim != 2 or Y.shape != (X.shape[0], len(names)) or times.shape != (X.shape[0],):
            raise ValueError(f"X (N, D), Y (N, {len(names)}) and times (N,) disagree: "
                             f"{X.shape}, {Y.shape}, {times.shape}")
        if len(names) == 0:
            raise ModelError("There are no characters to learn: add at least one character and label it.")
        check_enough(Y, names)
        n_blocks = len(np.unique(np.floor(times / self.block_s)))
        n_folds = min(self.n_folds, n_blocks)
        kinds = list(KINDS) if self.kind == "auto" else [self.kind]
        cv_by_kind: dict[str, float] = {}
        cv_scores: dict[str, Scores] = {}
        oof: Optional[np.ndarray] = None
        thresholds = self._thresholds(Y, None)
        kind = "linear" if self.kind == "auto" else self.kind
        if n_folds >= 2:
            folds = time_block_folds(times, n_folds, self.block_s)
            best: Optional[tuple[float, str, np.ndarray, np.ndarray]] = None
            for candidate in kinds:
                P = self._oof(candidate, X, Y, folds, copies)
                thr = self._thresholds(Y, P)
                macro = float(np.mean([scores(n, Y[:, j] == 1, P[:, j] >= thr[j]).f1 for j, n in enumerate(names)]))
                cv_by_kind[candidate] = round(macro, 4)
                if best is None or macro > best[0] + _TIE:
                    best = (macro, candidate, P, thr)
            assert best is not None
            _, kind, oof, thresholds = best
            cv_scores = {n: scores(n, Y[:, j] == 1, oof[:, j] >= thresholds[j]) for j, n in enumerate(names)}
        model = self._fit_one(kind, *copies.training_rows(X, Y, np.ones(len(X), bool)))
        self.names_ = tuple(names)
        self.kind_ = kind
        self.thresholds_ = thresholds
        self.cv_scores_ = cv_scores
        self.cv_by_kind_ = cv_by_kind
        self.oof_proba_ = oof
        self.n_folds_ = n_folds
        self.n_train_ = int(len(Y))
        self.n_features_in_ = model.n_features
        self.model_ = model
        return self

    # ---- prediction --------------------------------------------------------------------------------------------
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probability (N, characters) that each character is on screen in each of the N frames."""
        self._check_fitted()
        X = np.asarray(X)  # float16 cell features stay so: the spatial head converts a chunk at a time
        expected = self.n_features_in_
        if X.ndim != 2 or X.shape[1] != expected:
            raise ModelError(f"The features have {X.shape[-1]} values per frame but the model expects {expected}: "
                             "use the same backbone the model was trained with.")
        return self.model_.predict_proba(X).astype(np.float32)

    def cell_logits(self, cells: np.ndarray) -> np.ndarray:
        """A ``spatial`` model's logit of each character in each cell: (cells, d) -> (cells, characters)."""
        self._check_fitted()
        if self.kind_ != "spatial":
            raise ModelError(f"A {self.kind_} model does not score cells: train a spatial one.")
        return spatial.cell_logits(self.model_.arrays, np.asarray(cells, np.float32)[None])[0]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Presence (N, characters), bool: the probabilities at or above ``thresholds_``."""
        out: np.ndarray = self.predict_proba(X) >= self.thresholds_
        return out

    # ---- persistence: JSON + npz, nothing that executes on load -------------------------------------------
    def save(self, model_dir: os.PathLike[str] | str, extra: Optional[dict[str, Any]] = None) -> Path:
        """Write ``model.json`` and ``weights.npz`` into ``model_dir``; ``extra`` is stored in the JSON.

        The folder is replaced as a whole (:func:`core.atomic.replace_dir`): a save that is killed leaves the
        previous model or the new one, never the JSON of one beside the weights of the other. ``model.json``
        also names the SHA-256 of its ``weights.npz``, so a folder mixed by hand is refused on load.
        """
        self._check_fitted()
        meta = {
            "format": MODEL_FORMAT, "program_version": __version__, "characters": list(self.names_),
            "kind": self.kind_, "params": self.get_params(), "thresholds": [float(t) for t in self.thresholds_],
            "n_train": self.n_train_, "n_folds": self.n_folds_, "cv_by_kind": self.cv_by_kind_,
            "cv_scores": {n: asdict(s) for n, s in self.cv_scores_.items()}, **(extra or {}),
        }

        def fill(tmp: Path) -> None:
            buf = io.BytesIO()
            np.savez(buf, **self.model_.arrays)  # type: ignore[arg-type]  # numpy's stub: positional arrays too
            data = buf.getvalue()
            (tmp / WEIGHTS_FILE).write_bytes(data)
            meta["weights_sha256"] = hashlib.sha256(data).hexdigest()
            (tmp / MODEL_FILE).write_text(json_text(meta), encoding="utf-8")

        return replace_dir(model_dir, fill)

    @classmethod
    def load(cls, model_dir: os.PathLike[str] | str) -> tuple[ScreenTimeClassifier, dict[str, Any]]:
        """The model and its stored metadata (backbone, sampling...). Raises :class:`ModelError`, with one
        sentence, for a missing, mixed, damaged or foreign folder (:func:`check_model_folder`).

        Settings that a model folder does not name (it was saved before they existed) take their defaults.
        """
        meta, arrays = read_model_folder(model_dir)
        clf = cls(**meta["params"])
        clf.names_ = tuple(meta["characters"])
        clf.kind_ = meta["kind"]
        clf.thresholds_ = np.asarray(meta["thresholds"], np.float32)
        clf.n_train_ = meta["n_train"]
        clf.n_folds_ = meta["n_folds"]
        clf.cv_by_kind_ = meta.get("cv_by_kind", {})
        clf.cv_scores_ = {n: Scores(**s) for n, s in meta.get("cv_scores", {}).items()}
        clf.oof_proba_ = None
        clf.model_ = _Fitted(clf.kind_, arrays)
        clf.n_features_in_ = clf.model_.n_features
        return clf, meta


# ---- the model folder's schema ----------------------------------------------------------------------------
MODEL_FILE, WEIGHTS_FILE = "model.json", "weights.npz"
#: Bytes: the largest model.json and the most that weights.npz may unpack to. A 20-character dense model on
#: 2,048 features is 2 MB; these only stop a damaged or hostile folder from filling the memory.
MAX_MODEL_JSON_BYTES = 16 * 1024**2
MAX_WEIGHTS_BYTES = 512 * 1024**2
#: Arrays of each kind, with their shapes in D (features), C (characters) and H (hidden units).
ARRAY_SHAPES: dict[str, dict[str, tuple[str, ...]]] = {
    "linear": {"mean": ("D",), "scale": ("D",), "coef": ("C", "D"), "intercept": ("C",)},
    "dense": {"mean": ("D",), "scale": ("D",), "w1": ("D", "H"), "b1": ("H",), "w2": ("H", "C"), "b2": ("C",)},
    "spatial": spatial.ARRAYS,
}
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, TypeError, RecursionError, zipfile.BadZipFile, zlib.error)


class _Damaged(Exception):
    """What is wrong with a model folder, in a few words (made into one ModelError sentence)."""


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _check_params(params: Any) -> dict[str, Any]:
    """The stored settings, each of the type of its default and in range; unknown ones mean another version."""
    defaults = ScreenTimeClassifier._defaults()
    if not isinstance(params, dict):
        raise _Damaged("its settings (params) are missing")
    if not set(params) <= set(defaults):
        raise _OtherVersion
    for key, value in params.items():
        default = defaults[key]
        if key == "threshold":
            ok = value == "cv" or _is_number(value)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = _is_number(value)
        if not ok:
            raise _Damaged(f"its setting {key} is {value!r}")
    try:
        ScreenTimeClassifier(**params)._check_settings()
    except ValueError as exc:
        raise _Damaged(str(exc)) from None
    return params


class _OtherVersion(Exception):
    pass


def _check_meta(meta: dict[str, Any]) -> None:
    """The fields of model.json that prediction relies on."""
    names = meta.get("characters")
    if (not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names)):
        raise _Damaged("it names no characters, or an empty one")
    if len(set(names)) != len(names):
        raise _Damaged("it names a character twice")
    if meta.get("kind") not in ALL_KINDS:
        raise _Damaged(f"its kind is {meta.get('kind')!r}, not one of {', '.join(ALL_KINDS)}")
    thr = meta.get("thresholds")
    if (not isinstance(thr, list) or len(thr) != len(names)
            or not all(_is_number(t) and 0.0 < t < 1.0 for t in thr)):
        raise _Damaged(f"it needs one threshold between 0 and 1 for each of its {len(names)} characters")
    if not _is_count(meta.get("n_train")) or not _is_count(meta.get("n_folds")):
        raise _Damaged("its counts of labels and folds are not whole numbers")
    cv_by_kind = meta.get("cv_by_kind", {})
    if not isinstance(cv_by_kind, dict) or not all(v is None or _is_number(v) for v in cv_by_kind.values()):
        raise _Damaged("its validation scores are not numbers")
    cv = meta.get("cv_scores", {})
    fields = set(Scores.__dataclass_fields__)
    if not isinstance(cv, dict) or not all(isinstance(s, dict) and set(s) == fields for s in cv.values()):
        raise _Damaged("its validation scores are incomplete")
    if "every" in meta and not (_is_number(meta["every"]) and config.EVERY_MIN_S <= meta["every"]
                                <= config.EVERY_MAX_S):
        raise _Damaged(f"its sampling step (every) is {meta['every']!r}, not {config.EVERY_MIN_S:g} to "
                       f"{config.EVERY_MAX_S:g} seconds")
    for key in ("backbone", "weights"):
        if key in meta and not (isinstance(meta[key], str) and meta[key]):
            raise _Damaged(f"its {key} is not named")
    if "features" in meta:
        f = meta["features"]
        size = f.get("input_size") if isinstance(f, dict) else None
        if (not isinstance(f, dict) or not isinstance(f.get("layers"), list)
                or not all(isinstance(x, str) for x in f["layers"]) or not isinstance(f.get("pooling"), str)
                or not isinstance(size, list) or len(size) != 2 or not all(_is_count(v) and v > 0 for v in size)):
            raise _Damaged("its feature description (layers, pooling, input size) is incomplete")


def _check_arrays(kind: str, arrays: dict[str, np.ndarray], n_characters: int) -> dict[str, np.ndarray]:
    """The arrays of ``kind``, float32, finite, with consistent shapes; ``scale`` never zero."""
    want = ARRAY_SHAPES[kind]
    if kind == "spatial" and set(arrays) == set(want) - set(spatial.SAVED_BEFORE):
        arrays = {**arrays, **{k: v.copy() for k, v in spatial.SAVED_BEFORE.items()}}  # saved before a head kept
        # its settings
    if set(arrays) != set(want):
        raise _Damaged(f"a {kind} model holds the arrays {', '.join(sorted(want))}, "
                       f"this one {', '.join(sorted(arrays)) or 'none'}")
    dims: dict[str, int] = {"C": n_characters, "1": 1, "2": 2}
    for name, axes in want.items():
        a = arrays[name]
        if a.ndim != len(axes) or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise _Damaged(f"its array {name} is not a {len(axes)}-D array of numbers")
        for axis, size in zip(axes, a.shape):
            if dims.setdefault(axis, int(size)) != size or size == 0:
                raise _Damaged(f"its array {name} has shape {a.shape}, which does not fit {n_characters} "
                               f"character(s) and {dims.get('D', '?')} features")
        if not np.isfinite(a).all():
            raise _Damaged(f"its array {name} holds values that are not finite numbers")
    if kind == "spatial":
        wrong = spatial.check(arrays)
        if wrong:
            raise _Damaged(wrong)
    elif not (arrays["scale"] != 0).all():
        raise _Damaged("its array scale holds a zero")
    return {k: np.asarray(v, np.float32) for k, v in arrays.items()}


def _read_json(mj: Path) -> Any:
    if mj.stat().st_size > MAX_MODEL_JSON_BYTES:
        raise _Damaged(f"its {MODEL_FILE} is larger than {MAX_MODEL_JSON_BYTES // 1024**2} MB")
    return json.loads(mj.read_text(encoding="utf-8"))


def _read_arrays(wz: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(wz) as zf:
        if sum(i.file_size for i in zf.infolist()) > MAX_WEIGHTS_BYTES:
            raise _Damaged(f"its {WEIGHTS_FILE} unpacks to more than {MAX_WEIGHTS_BYTES // 1024**2} MB")
    with np.load(wz, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def read_model_folder(model_dir: os.PathLike[str] | str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``model.json`` and the arrays of a model folder, checked against the folder's schema (settings and
    their types, kind, characters, thresholds, the arrays and their shapes for the characters and the feature
    width, finite values, a non-zero scale, the sampling step, and the SHA-256 of the weights that
    ``model.json`` names). Raises :class:`ModelError` with one sentence saying what to do.
    """
    d = Path(model_dir)
    mj, wz = d / MODEL_FILE, d / WEIGHTS_FILE
    if not d.exists():
        aside = interrupted_replace(d)
        if aside is not None:
            raise ModelError(f"Saving the model in {d} was interrupted: the previous model is in {aside}; "
                             f"rename that folder to {d.name}, or train again.")
    if not mj.is_file() or not wz.is_file():
        raise ModelError(f"{d} holds no trained model ({MODEL_FILE} and {WEIGHTS_FILE}): train one with "
                         "`python -m core train` first, or check the folder.")
    other_version = ModelError(f"The model in {d} was saved by another version of Screen Time: train it again.")
    try:
        meta = _read_json(mj)
        if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
            raise other_version
        if wz.stat().st_size > MAX_WEIGHTS_BYTES:
            raise _Damaged(f"its {WEIGHTS_FILE} is larger than {MAX_WEIGHTS_BYTES // 1024**2} MB")
        stored_sha = meta.get("weights_sha256")  # models saved before it existed have none
        if stored_sha is not None and hashlib.sha256(wz.read_bytes()).hexdigest() != stored_sha:
            raise ModelError(f"The model in {d} is a mix of two saves (its {WEIGHTS_FILE} is not the one its "
                             f"{MODEL_FILE} names): train it again, or copy the whole folder again.")
        meta["params"] = _check_params(meta.get("params"))
        _check_meta(meta)
        arrays = _check_arrays(meta["kind"], _read_arrays(wz), len(meta["characters"]))
    except _OtherVersion:
        raise other_version from None
    except _Damaged as exc:
        raise ModelError(f"The model in {d} is damaged ({exc}): train it again.") from None
    except _READ_ERRORS as exc:
        raise ModelError(f"The model in {d} is damaged ({exc.__class__.__name__}): train it again.") from None
    return meta, arrays


def check_model_folder(model_dir: os.PathLike[str] | str) -> None:
    """Raise :class:`ModelError` (one sentence) unless ``model_dir`` holds a complete, consistent model."""
    read_model_folder(model_dir)
