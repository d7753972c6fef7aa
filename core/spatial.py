"""The spatial head: a character is scored cell by cell and a frame counts by its best cells.

A frame's cell features (:data:`core.effnet.CELL_SPEC`) are a bag of cells (144 at 288x512), each with
``cell_dim`` values. Two logistic regressions per character, both on standardised values with balanced classes
and the classifier's ``C``, and the mean of their probabilities:

* **cells** (multiple-instance learning, mi-SVM's alternation): every cell of a frame without the character is
  a negative; at first every cell of a frame with it is a positive, then, for :data:`ROUNDS` more fits, only
  each such frame's :data:`TOP_K` best-scoring cells. A frame's logit is the mean of its :data:`TOP_K` best
  cells' logits, so one small character in a corner counts and the background around it does not.
* **pooled**: the cells averaged and max-pooled over the frame (2 x ``cell_dim`` values).

Measured on every protocol of issue 11 by ``benchmarks/accuracy.py`` and, with other settings (the parts
alone, :data:`TOP_K`, :data:`ROUNDS`, ``C``, smoothing), by ``benchmarks/mil_head.py`` (``docs/accuracy.md``).
A fitted head is a dict of float32 arrays (:data:`ARRAYS`), saved like the other kinds'; prediction needs only
NumPy. :data:`TOP_K`, :data:`ROUNDS` and :data:`PARTS` are read when a head is fitted, and the head keeps the
ones prediction needs (``top_k``, ``parts``), so a saved head always predicts the way it was trained.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

#: Cells that make a frame's score, and the rounds of re-choosing a positive frame's cells after the first fit
#: (the settings of a head about to be fitted; a fitted head keeps its own).
TOP_K = 2
ROUNDS = 2
#: Share of a positive frame's cells, its lowest-scoring ones, that join the negatives from the second fit on
#: (0: none; ``benchmarks/mil_head.py`` measures it): the character's own scene as background.
BACKGROUND_SHARE = 0.0
#: The regressions whose probabilities a frame's is the mean of (``benchmarks/mil_head.py`` measures each alone).
PARTS: tuple[str, ...] = ("cells", "pooled")
#: Characters fitted at once: one per core, at most 2 (more threads only share the same cores). While they are,
#: the BLAS library gets the cores left per character: two fits each calling two BLAS threads on 2 cores made
#: the first fit of a process 36-40 s where one BLAS thread each makes it 26-29 s, the same arrays
#: (``docs/benchmarks.md``).
FIT_THREADS = max(1, min(2, os.cpu_count() or 1))
#: Frames scored at once: 512 frames of 144 x 432 values are 127 MB in float32.
CHUNK = 512
#: Logit of a character whose training set holds one class only (as :data:`core.classifier.ONE_CLASS_LOGIT`).
ONE_CLASS_LOGIT = 8.0
#: The arrays of a fitted head, with their shapes in d (values per cell), P (2 d) and C (characters).
ARRAYS: dict[str, tuple[str, ...]] = {
    "cell_mean": ("d",), "cell_scale": ("d",), "cell_coef": ("C", "d"), "cell_intercept": ("C",),
    "pool_mean": ("P",), "pool_scale": ("P",), "pool_coef": ("C", "P"), "pool_intercept": ("C",),
    "n_cells": ("1",), "top_k": ("1",), "parts": ("2",),
}
#: What a head saved before it kept its settings was fitted with (the only settings the product had used).
SAVED_BEFORE = {"top_k": np.array([2], np.float32), "parts": np.array([1, 1], np.float32)}


#: The order of the ``parts`` array's flags.
_PART_ORDER = ("cells", "pooled")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    return out


def _scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return mean.astype(np.float32), scale.astype(np.float32)


def _pooled(cells: np.ndarray) -> np.ndarray:
    """(N, cells, d) -> (N, 2 d): the average and the maximum over the cells."""
    return np.concatenate([cells.mean(axis=1), cells.max(axis=1)], axis=1)


def _balanced(t: np.ndarray) -> np.ndarray:
    """Sample weights that make both classes weigh half (scikit-learn's ``balanced``, for changing sets)."""
    pos = max(1, int(t.sum()))
    neg = max(1, len(t) - pos)
    out: np.ndarray = np.where(t == 1, 0.5 / pos, 0.5 / neg) * len(t)
    return out


def as_cells(X: np.ndarray, cell_dim: int) -> np.ndarray:
    """(N, cells x d) features -> (N, cells, d) float32; ValueError when the width is not whole cells."""
    if X.ndim != 2 or cell_dim < 1 or X.shape[1] % cell_dim:
        raise ValueError(f"cell features need a width that is a multiple of {cell_dim} values, got {X.shape}")
    return np.asarray(X, np.float32).reshape(len(X), -1, cell_dim)


def _fit_character(z: np.ndarray, zp: np.ndarray, y: np.ndarray, C: float, seed: int
                   ) -> tuple[np.ndarray, float, np.ndarray, float]:
    """One character's pooled regression and cells' regression (mi-SVM's alternation) on standardised cells
    ``z`` (N, cells, d) and pooled values ``zp`` (N, 2 d): (pooled coef, intercept, cells' coef, intercept)."""
    from sklearn.linear_model import LogisticRegression

    _, m, d = z.shape
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed).fit(zp, y)
    neg, bags = z[y == 0].reshape(-1, d), z[y == 1]
    pos = bags.reshape(-1, d)
    background = np.zeros((0, d), np.float32)
    n_background = int(BACKGROUND_SHARE * m)
    for _ in range(ROUNDS + 1):
        t = np.r_[np.zeros(len(neg) + len(background)), np.ones(len(pos))]
        cl = LogisticRegression(C=C, max_iter=500, random_state=seed)
        cl.fit(np.vstack([neg, background, pos]), t, sample_weight=_balanced(t))
        s = (bags @ cl.coef_[0].astype(np.float32)) + np.float32(cl.intercept_[0])
        order = np.argsort(-s, axis=1)
        pos = np.take_along_axis(bags, order[:, :TOP_K, None], axis=1).reshape(-1, d)
        if n_background:
            background = np.take_along_axis(bags, order[:, m - n_background:, None], axis=1).reshape(-1, d)
    return lr.coef_[0], float(lr.intercept_[0]), cl.coef_[0], float(cl.intercept_[0])


def fit(X: np.ndarray, Y: np.ndarray, cell_dim: int, C: float, seed: int) -> dict[str, np.ndarray]:
    """The arrays of a head trained on features ``X`` (N, cells x ``cell_dim``) and 0/1 labels ``Y`` (N, chars).

    The characters are fitted :data:`FIT_THREADS` at a time (the regressions' matrix products release the
    interpreter; the result is the same as one at a time)."""
    cells = as_cells(X, cell_dim)
    n, m, d = cells.shape
    cell_mean, cell_scale = _scale(cells.reshape(-1, d))
    z = (cells - cell_mean) / cell_scale
    pooled = _pooled(cells)
    pool_mean, pool_scale = _scale(pooled)
    zp = (pooled - pool_mean) / pool_scale
    chars = Y.shape[1]
    out = {"cell_mean": cell_mean, "cell_scale": cell_scale, "cell_coef": np.zeros((chars, d), np.float32),
           "cell_intercept": np.zeros(chars, np.float32), "pool_mean": pool_mean, "pool_scale": pool_scale,
           "pool_coef": np.zeros((chars, 2 * d), np.float32), "pool_intercept": np.zeros(chars, np.float32),
           "n_cells": np.array([m], np.float32), "top_k": np.array([TOP_K], np.float32),
           "parts": np.array([p in PARTS for p in _PART_ORDER], np.float32)}
    two_class = []
    for j in range(chars):
        y = Y[:, j]
        if y.min() == y.max():  # one class only (inside cross-validation): predict it
            out["cell_intercept"][j] = out["pool_intercept"][j] = ONE_CLASS_LOGIT if y[0] else -ONE_CLASS_LOGIT
        else:
            two_class.append(j)
    workers = max(1, min(FIT_THREADS, len(two_class)))
    with threadpool_limits(limits=max(1, (os.cpu_count() or 1) // workers), user_api="blas"), \
            ThreadPoolExecutor(max_workers=workers) as pool:
        fitted = pool.map(lambda j: _fit_character(z, zp, Y[:, j], C, seed), two_class)
        for j, (pool_coef, pool_intercept, cell_coef, cell_intercept) in zip(two_class, fitted):
            out["pool_coef"][j], out["pool_intercept"][j] = pool_coef, pool_intercept
            out["cell_coef"][j], out["cell_intercept"][j] = cell_coef, cell_intercept
    return out


def n_features(arrays: dict[str, np.ndarray]) -> int:
    """Feature values per frame the head expects: cells x values per cell."""
    return int(arrays["n_cells"][0]) * int(arrays["cell_mean"].shape[0])


def check(arrays: dict[str, np.ndarray]) -> str:
    """What is wrong with a head's arrays beyond their shapes, in a few words ("" when nothing is)."""
    m, d = float(arrays["n_cells"][0]), int(arrays["cell_mean"].shape[0])
    if not (m >= 1 and m == int(m)):
        return f"its cell count is {m!r}"
    if arrays["pool_mean"].shape[0] != 2 * d:
        return "its pooled arrays do not fit its cells"
    k = float(arrays["top_k"][0])
    if not (1 <= k <= m and k == int(k)):
        return f"its top_k is {k!r}, not a whole number of its {int(m)} cells"
    flags = arrays["parts"]
    if not (np.isin(flags, (0, 1)).all() and flags.any()):
        return "its parts are not flags with at least one set"
    if not ((arrays["cell_scale"] != 0).all() and (arrays["pool_scale"] != 0).all()):
        return "its scales hold a zero"
    return ""


def cell_logits(arrays: dict[str, np.ndarray], cells: np.ndarray) -> np.ndarray:
    """(N, cells, d) float32 -> (N, cells, characters): each cell's logit under the cells' regression."""
    z = (cells - arrays["cell_mean"]) / arrays["cell_scale"]
    out: np.ndarray = z @ arrays["cell_coef"].T + arrays["cell_intercept"]
    return out


def predict_proba(arrays: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """(N, cells x d) features -> (N, characters) float32 probabilities, :data:`CHUNK` frames at a time."""
    d = int(arrays["cell_mean"].shape[0])
    top_k = int(arrays["top_k"][0])
    use_cells, use_pooled = (bool(f) for f in arrays["parts"])
    out = np.zeros((len(X), arrays["cell_coef"].shape[0]), np.float32)
    for start in range(0, len(X), CHUNK):
        cells = as_cells(X[start:start + CHUNK], d)
        logits = []
        if use_cells:
            logits.append(np.sort(cell_logits(arrays, cells), axis=1)[:, -top_k:].mean(axis=1))
        if use_pooled:
            zp = (_pooled(cells) - arrays["pool_mean"]) / arrays["pool_scale"]
            logits.append(zp @ arrays["pool_coef"].T + arrays["pool_intercept"])
        out[start:start + CHUNK] = np.mean([_sigmoid(z) for z in logits], axis=0)
    return out
