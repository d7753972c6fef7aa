"""A spatial multiple-instance head on EfficientNet-Lite0 cells, on every protocol of ``accuracy.py`` (issue 11,
"Spatial heads").

A frame is a bag of 144 cells (the 9x16 grid of the product's network at 288x512). A cell's values are the
last stride-16 stage (112 channels, each 2x2 block of its 18x32 map max-pooled onto the grid) and the last
block's output (320 channels, before the 1280-channel head): 432 values, standardised over the training cells.

* ``mil``: a logistic regression on cells (C = 0.1, balanced): every cell of a frame without the character is a
  negative; at first every cell of a frame with it is a positive, then twice over only each such frame's two
  best-scoring cells (mi-SVM's alternation). A frame's score is the mean of its two best cells' scores, so one
  small character in a corner counts and the background around it does not.
* ``pooled``: the same cells pooled over the frame (average and maximum, 864 values), logistic regression
  (C = 0.1, balanced): the pooled baseline on the same values.
* ``pooled+mil``: the mean of the two probabilities.

Each is scored with a 0.5 threshold alone (``none``) and through the product's smoothing (``hmm``,
:func:`core.smoothing.smooth_probs` with default settings), on the label masks, seeds and scoring of
``accuracy.py`` (the film's sparse and cross-part protocols, the synthetic suite clip to clip; random labels
unless ``--strategies`` says otherwise), so its figures sit next to ``protocols-efflite0-288x512.md``:

    PYTHONPATH=. .venv/bin/python benchmarks/mil_head.py --cache /work/acc-cache

Writes ``benchmarks/results/mil_head.{md,json}``. The cells come from the product's network
(:mod:`core.effnet`, its layers walked here) on the frames as ``predict`` scales them, cached as float16 under
``<cache>/cells/`` (their size per hour of video is printed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import accuracy as acc  # the same folder as this script
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from speed import sampled_frames  # the same folder

SIZE = (288, 512)
GRID = (9, 16)
CELLS = GRID[0] * GRID[1]
REG = 0.1
TOP_K = 2
ROUNDS = 2
PARTS = {"pooled": ("pooled",), "mil": ("mil",), "pooled+mil": ("pooled", "mil")}
SMOOTHING = ("none", "hmm")


def cell_maps(video: Path, folder: Path) -> np.ndarray:
    """(frames, 144, 432) float16 cell values of every sampled second of ``video`` (cached in ``folder``)."""
    import torch

    from core import effnet
    from core.backbone import FeatureSpec

    path = folder / f"{video.stem}-{SIZE[0]}x{SIZE[1]}.npy"
    if path.exists():
        return np.load(path)
    bb = effnet.EfficientNetLite0Backbone(FeatureSpec(effnet.LAYERS, "avgmax", SIZE))
    net, frames, out = bb._net, sampled_frames(video, SIZE), []
    mid = None
    with torch.no_grad():
        for i in range(0, len(frames), 16):
            x = (torch.from_numpy(np.ascontiguousarray(frames[i:i + 16])).permute(0, 3, 1, 2).float() - 127.0) / 128.0
            h = net._swish(net._bn0(net._conv_stem(x)))
            for k, block in enumerate(net._blocks):
                h = block(h)
                if k == bb._mid:
                    mid = h
            n, c = mid.shape[:2]
            mid = mid.reshape(n, c, GRID[0], 2, GRID[1], 2).amax((3, 5))
            both = torch.cat([mid, h], 1)  # (n, 432, 9, 16)
            out.append(both.permute(0, 2, 3, 1).reshape(n, CELLS, -1).half().numpy())
    cells = np.concatenate(out)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(path, cells)
    return cells


def _balanced(t: np.ndarray) -> np.ndarray:
    pos = max(1, int(t.sum()))
    neg = max(1, len(t) - pos)
    return np.where(t == 1, 0.5 / pos, 0.5 / neg) * len(t)


def fit_mil(cells: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A frame scorer (decision values) trained on labelled frames' cells, as the module docstring says."""
    n, m, d = cells.shape
    flat = cells.reshape(-1, d).astype(np.float32)
    scaler = StandardScaler().fit(flat)
    z = scaler.transform(flat).reshape(n, m, d)
    neg, bags = z[y == 0].reshape(-1, d), z[y == 1]
    pos = bags.reshape(-1, d)
    model = None
    for _ in range(ROUNDS + 1):
        t = np.r_[np.zeros(len(neg)), np.ones(len(pos))]
        model = LogisticRegression(C=REG, max_iter=500).fit(np.vstack([neg, pos]), t, sample_weight=_balanced(t))
        s = model.decision_function(bags.reshape(-1, d)).reshape(len(bags), m)
        best = np.argsort(-s, 1)[:, :TOP_K]
        pos = np.take_along_axis(bags, best[..., None], 1).reshape(-1, d)

    def score(new: np.ndarray) -> np.ndarray:
        s = model.decision_function(scaler.transform(new.reshape(-1, d).astype(np.float32))).reshape(len(new), m)
        return np.sort(s, 1)[:, -TOP_K:].mean(1)

    return score


def pooled(cells: np.ndarray) -> np.ndarray:
    c = cells.astype(np.float32)
    return np.concatenate([c.mean(1), c.max(1)], 1)


def fit_pooled(cells: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    scaler = StandardScaler().fit(pooled(cells))
    model = LogisticRegression(C=REG, class_weight="balanced", max_iter=2000).fit(scaler.transform(pooled(cells)), y)
    return lambda new: model.decision_function(scaler.transform(pooled(new)))


FITS = {"pooled": fit_pooled, "mil": fit_mil}
#: Probabilities per (part, data, labelled mask, character): the variants share their fits.
_MEMO: dict[tuple[str, str, bytes, int], np.ndarray] = {}


def _digest(X: np.ndarray) -> str:
    """A content key of the data (the synthetic protocol stacks a new array for each pair and variant)."""
    return hashlib.blake2b(np.ascontiguousarray(X[:, ::257]).tobytes(), digest_size=16).hexdigest() + str(X.shape)


@dataclass
class SpatialHead(acc.Pipeline):
    """An :class:`accuracy.Pipeline` whose features are the flattened cells (N, 144 x 432)."""

    parts: tuple[str, ...] = ("pooled", "mil")
    smooth: str = "hmm"

    def fit_predict(self, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str],
                    mask: np.ndarray, segments: Optional[np.ndarray] = None
                    ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        from core import Smoothing
        from core.smoothing import smooth_probs

        cells = X.reshape(len(X), CELLS, -1)
        data = _digest(X)
        Yl = Y[mask]
        cols = [j for j in range(Y.shape[1]) if 2 <= Yl[:, j].sum() <= len(Yl) - 2]
        probs = np.zeros(Y.shape, np.float32)
        present = np.zeros(Y.shape, bool)
        for j in cols:
            ps = []
            for part in self.parts:
                key = (part, data, mask.tobytes(), j)
                if key not in _MEMO:
                    _MEMO[key] = 1.0 / (1.0 + np.exp(-FITS[part](cells[mask], Yl[:, j])(cells)))
                ps.append(_MEMO[key])
            probs[:, j] = np.mean(ps, 0)
        if not cols:
            return probs, present, cols
        seg = np.zeros(len(X), int) if segments is None else np.asarray(segments)
        thr = np.full(len(cols), 0.5, np.float32)
        for s_id in np.unique(seg):
            rows = seg == s_id
            p = probs[np.ix_(rows, cols)]
            present[np.ix_(rows, cols)] = (smooth_probs(p, thr, 1.0, Smoothing()) if self.smooth == "hmm"
                                           else p >= 0.5)
        return probs, present, cols


def fit_time(X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str], labels: int = 300) -> float:
    """Seconds to train ``pooled+mil`` on ``labels`` random seconds of the film and score every second."""
    _MEMO.clear()
    mask = acc.choose_random(len(times), labels, np.random.default_rng(0))
    t = time.perf_counter()
    SpatialHead(parts=PARTS["pooled+mil"], smooth="none").fit_predict(X, Y, times, names, mask)
    return time.perf_counter() - t


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/acc-cache"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=[f"{p} {s}" for p in PARTS for s in SMOOTHING],
                    help='"PARTS SMOOTHING" pairs, e.g. "pooled+mil hmm" (random labels)')
    ap.add_argument("--suggested", nargs="*", default=["pooled+mil none"],
                    help="variants also measured with suggested labels (core.suggest, retraining per batch)")
    ap.add_argument("--out", type=Path, default=acc.ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    folder = args.cache / "cells"
    times, names, Y = acc.load_truth()
    film = cell_maps(acc.VIDEO, folder)
    X = film[np.rint(times).astype(int)].reshape(len(times), -1).astype(np.float32)
    synth: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for video, truth in acc.synthetic_clips(args.cache / "synth-hard"):
        from core.labels import read_labels_csv

        lab = read_labels_csv(truth)
        c = cell_maps(video, folder)[np.rint(lab.times).astype(int)]
        synth[int(video.stem.rsplit("-", 1)[1])] = (c.reshape(len(c), -1).astype(np.float32), lab.values, lab.times)
    per_hour_mb = film[0].nbytes * 3600 / 1e6
    seeds = range(args.seeds)
    results: dict[str, dict[str, float]] = {}
    details = []
    for variant in args.variants:
        parts, smooth = variant.split()
        pipe = SpatialHead(parts=PARTS[parts], smooth=smooth)
        strategies = ["random"] + (["suggested"] if variant in args.suggested else [])
        rows = acc.protocols(pipe, X, Y, times, names, synth, seeds, strategies)
        results[variant] = acc.headline(rows, names)
        details.append(f"### {variant}\n\n" + acc.protocol_details(rows, names, acc.SYNTH_NAMES))
        print(variant, {k: round(v, 3) for k, v in results[variant].items()}, f"{time.perf_counter() - t0:.0f} s",
              flush=True)
    fit_s = fit_time(X, Y, times, names)
    text = ("# The spatial multiple-instance head on every protocol (`benchmarks/mil_head.py`)\n\n"
            f"EfficientNet-Lite0 288x512 cells (9x16 x 432 values); seeds {args.seeds}; random labels, and "
            f"suggested ones for {', '.join(args.suggested) or 'none'}; cell cache {per_hour_mb:.0f} MB per hour of "
            f"video at 1 fps (float16); training `pooled+mil` on 300 random seconds of the film (five characters) "
            f"{fit_s:.1f} s; {time.perf_counter() - t0:.0f} s in all.\n\n"
            + acc.headline_table(results, "macro F1 on unlabelled moments; synthetic: lowest character") + "\n"
            + "\n".join(details))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mil_head.md").write_text(text)
    (args.out / "mil_head.json").write_text(json.dumps({"headline": results, "cache_mb_per_hour": per_hour_mb,
                                                         "seeds": args.seeds, "suggested": args.suggested,
                                                         "fit_300_s": fit_s},
                                                        indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
