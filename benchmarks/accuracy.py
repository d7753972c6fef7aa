"""Accuracy benchmark: how right are the screen times, for how many labels, on a film with real truth?

On *Big Buck Bunny* (``benchmarks/bbb_truth.csv``: who is on screen at every second 0..490, see
``benchmarks/TRUTH.md``) this simulates a user who labels a budget of seconds, chosen either

* ``random``: uniformly at random among the 491 seconds, or
* ``suggested``: a small random start (10 seconds), then batches picked by :func:`core.suggest.suggest`
  from the current model's probabilities, retraining after every batch, as the Label page does,

trains the product's classifier (:class:`core.ScreenTimeClassifier`, default settings) on the labelled
seconds, predicts **every** second 0..490 (labelled ones included, as the product does), applies the
product's thresholds and smoothing, and scores that against the truth: per character precision, recall, F1
and the screen-time error (predicted minus true seconds, and percent of the true screen time). Each
(budget, strategy) is repeated over several seeds; tables give mean and standard deviation over seeds.

A character with fewer than 2 labelled seconds on screen (or off screen) cannot be trained: the product asks
for more labels; here it is predicted absent everywhere (F1 0, error -100 %) and the run is counted.

    python benchmarks/accuracy.py                      # everything, ~10 min on 2 cores after features
    python benchmarks/accuracy.py --seeds 2 --budgets 50 200 --no-plots

Features come from :func:`core.extract_features`, cached under ``--cache`` (default /tmp/acc-cache), so
only the first run pays for VGG16 (about 2-3 min). Results: ``benchmarks/results/accuracy.json`` and
``.md``, plots in ``docs/img/``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

VIDEO = Path("/work/shared/data/big_buck_bunny_720p.mp4")
TRUTH = ROOT / "benchmarks" / "bbb_truth.csv"
BUDGETS = (25, 50, 100, 200, 300)
STRATEGIES = ("random", "suggested")
INITIAL_RANDOM = 10


def load_truth(path: Path = TRUTH) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """(times (T,), names, values (T, C) uint8) of the truth CSV."""
    from core.labels import read_labels_csv

    lab = read_labels_csv(path)
    return lab.times, lab.names, lab.values


#: The feature network of the protocols (``--backbone``): a registered family and its spec; None: the
#: product's (:data:`core.config.BACKBONE`, with ``--weights`` when that is VGG16).
NETWORK: Optional[tuple[str, Any]] = None


def load_features(spec: Any = None, video: Path = VIDEO, weights: Optional[str] = None,
                  family: str = "vgg16") -> Any:
    """The cached (or freshly extracted) :class:`core.FeatureSet` of the film (or of ``video``), from the
    product's own feature pipeline: ``family``'s features of ``spec`` (VGG16's take ``weights``) when a spec is
    given, else those of the protocols' network (:data:`NETWORK`)."""
    from core import config, extract_features
    from core.features import backbone_factory

    if spec is None:
        family, spec = NETWORK if NETWORK is not None else parse_network(config.BACKBONE)
    return extract_features(video, 1.0, spec, weights if family == "vgg16" else None,
                            backbone_factory=backbone_factory(family))


def parse_network(text: str) -> tuple[str, Any]:
    """``FAMILY``, ``FAMILY:HxW`` (``efflite0:288x512``) or ``FAMILY:HxW:pooled`` -> (family, its default spec at
    that input size; ``pooled``: EfficientNet-Lite0's pooled features instead of its cells)."""
    from dataclasses import replace

    from core import effnet
    from core.features import backbone_factory, default_spec

    family, _, rest = text.partition(":")
    size, _, kind = rest.partition(":")
    spec = default_spec(backbone_factory(family))
    if size:
        h, w = (int(v) for v in size.split("x"))
        spec = replace(spec, input_size=(h, w))
    if kind == "pooled" and family == effnet.FAMILY:
        spec = replace(spec, layers=effnet.LAYERS, pooling="avgmax")
    return family, spec


def trainable_columns(Yl: np.ndarray) -> list[int]:
    """The characters the labelled moments ``Yl`` can train: at least 2 moments with them and 2 without (the
    others are predicted absent, as the product asks for more labels)."""
    return [j for j in range(Yl.shape[1]) if 2 <= Yl[:, j].sum() <= len(Yl) - 2]


# ---- one experiment = one way of turning labelled seconds into a presence timeline ------------------------
@dataclass
class Pipeline:
    """How features, classifier, thresholds and smoothing are set; the defaults are the product's.

    ``fit_predict`` trains on the moments of ``mask`` and predicts every moment; ``segments`` (one id per moment)
    says which moments belong to one video, so smoothing never runs across two clips.
    """

    classifier: dict[str, Any] = field(default_factory=dict)
    smoothing: Optional[Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = None  # (probs, thr, X)
    settings: Any = None  # a core.Smoothing; None: the product's default
    #: > 0: each moment's row is its frame's ``mirror_dim`` values, then its mirror image's (:func:`with_mirrors`)
    #: and any further copies' (``mil_head.py``'s zoomed frames), ``mirror_dim`` values each,
    #: and the labelled moments' mirror images are learned from as the product does (``copies`` of
    #: ``ScreenTimeClassifier.fit``, :mod:`core.mirrored`); the frames alone are scored.
    mirror_dim: int = 0

    def training_rows(self, X: np.ndarray, Y: np.ndarray, times: np.ndarray, mask: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        """The features, labels and times the classifier is fitted on (the labelled moments), and the copies of
        them with the index of each one's moment (none, or their mirror images)."""
        d = self.mirror_dim or X.shape[1]
        Xl = X[mask]
        k = X.shape[1] // d - 1  # copies of each moment beside it (its mirror image, and others a probe adds)
        copies = (np.vstack([Xl[:, d * (i + 1):d * (i + 2)] for i in range(k)]), np.tile(np.arange(len(Xl)), k)
                  ) if self.mirror_dim else ()
        return Xl[:, :d], Y[mask], times[mask], copies

    def scored(self, X: np.ndarray) -> np.ndarray:
        """The features each moment is scored on (its frame's alone)."""
        return X[:, :self.mirror_dim] if self.mirror_dim else X

    def fit_predict(self, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str],
                    mask: np.ndarray, segments: Optional[np.ndarray] = None
                    ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Train on ``mask`` and return (probabilities (N, C), presence (N, C) bool, trained columns)."""
        from core import ScreenTimeClassifier, Smoothing
        from core.smoothing import smooth_probs

        cols = trainable_columns(Y[mask])
        probs = np.zeros(Y.shape, np.float32)
        present = np.zeros(Y.shape, bool)
        if not cols:
            return probs, present, cols
        Xt, Yt, tt, copies = self.training_rows(X, Y, times, mask)
        clf = ScreenTimeClassifier(**self.classifier).fit(Xt, Yt[:, cols], tt, [names[j] for j in cols], *copies)
        X = self.scored(X)
        p = clf.predict_proba(X)
        probs[:, cols] = p
        seg = np.zeros(len(X), int) if segments is None else np.asarray(segments)
        for s_id in np.unique(seg):
            rows = seg == s_id
            if self.smoothing is not None:
                present[np.ix_(rows, cols)] = self.smoothing(p[rows], clf.thresholds_, X[rows])
            else:  # the product's default: thresholds, then core.smoothing.smooth_probs
                present[np.ix_(rows, cols)] = smooth_probs(p[rows], clf.thresholds_, 1.0,
                                                           self.settings if self.settings is not None else Smoothing())
        return probs, present, cols


def choose_random(n: int, budget: int, rng: np.random.Generator, pool: Optional[np.ndarray] = None) -> np.ndarray:
    """``budget`` moments at random among the ``pool`` (default: all ``n``)."""
    mask = np.zeros(n, bool)
    candidates = np.arange(n) if pool is None else np.flatnonzero(pool)
    mask[rng.choice(candidates, size=min(budget, len(candidates)), replace=False)] = True
    return mask


def batch_size(n_labelled: int) -> int:
    """Suggestions asked per round: 5 while labels are few (the model changes fast), then 10."""
    return 5 if n_labelled < 50 else 10


def choose_suggested(pipe: Pipeline, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str],
                     budgets: Sequence[int], rng: np.random.Generator, min_gap_s: float = 5.0,
                     suggester: Optional[Callable[..., list[int]]] = None, pool: Optional[np.ndarray] = None,
                     segments: Optional[np.ndarray] = None) -> dict[int, np.ndarray]:
    """Labelled masks at each budget for a user who follows the suggestions (nested: 25 within 50 ...); picks
    come from the ``pool`` only (default: every moment), as a user labels only the video in front of them."""
    from core.suggest import suggest as product_suggest

    suggest = suggester or product_suggest
    n = len(times)
    pool = np.ones(n, bool) if pool is None else np.asarray(pool, bool)
    where = np.flatnonzero(pool)
    mask = choose_random(n, INITIAL_RANDOM, rng, pool)
    out: dict[int, np.ndarray] = {}
    for b in sorted(budgets):
        while mask.sum() < min(b, pool.sum()):
            k = min(batch_size(int(mask.sum())), b - int(mask.sum()))
            probs, _, cols = pipe.fit_predict(X, Y, times, names, mask, segments)
            if cols:
                picks = where[suggest(probs[np.ix_(where, cols)], mask[where], times[where], k, min_gap_s)]
            else:  # nothing trainable yet: keep labelling at random
                picks = rng.choice(np.flatnonzero(pool & ~mask), size=k, replace=False)
            mask[picks] = True
        out[b] = mask.copy()
    return out


def score(Y: np.ndarray, present: np.ndarray, names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per character precision, recall, F1, true/predicted seconds and error (s, % of true)."""
    from core.validation import scores

    out = {}
    for j, n in enumerate(names):
        s = scores(n, Y[:, j] == 1, present[:, j])
        true_s, pred_s = float(Y[:, j].sum()), float(present[:, j].sum())
        out[n] = {"precision": s.precision, "recall": s.recall, "f1": s.f1, "true_s": true_s, "pred_s": pred_s,
                  "error_s": pred_s - true_s,
                  "error_pct": 100.0 * (pred_s - true_s) / true_s if true_s else float("nan")}
    return out


def run(pipe: Pipeline, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str],
        budgets: Sequence[int] = BUDGETS, seeds: Sequence[int] = range(5),
        strategies: Sequence[str] = STRATEGIES, min_gap_s: float = 5.0,
        suggester: Optional[Callable[..., list[int]]] = None) -> list[dict[str, Any]]:
    """One row per (strategy, budget, seed) with the per-character scores."""
    rows = []
    for strategy in strategies:
        for seed in seeds:
            rng = np.random.default_rng(1000 + seed)
            if strategy == "random":
                masks = {b: choose_random(len(times), b, np.random.default_rng([seed, b])) for b in budgets}
            else:
                masks = choose_suggested(pipe, X, Y, times, names, budgets, rng, min_gap_s, suggester)
            for b in budgets:
                _, present, cols = pipe.fit_predict(X, Y, times, names, masks[b])
                m = masks[b]
                rows.append({"strategy": strategy, "budget": b, "seed": seed,
                             "trained": [names[j] for j in cols], "labelled": np.flatnonzero(m).tolist(),
                             "scores": score(Y, present, names),
                             "scores_unlabelled": score(Y[~m], present[~m], names)})
    return rows


def summary(rows: list[dict[str, Any]], names: Sequence[str], key: str = "scores") -> dict[str, Any]:
    """Mean and standard deviation over seeds of each metric, per strategy, budget and character
    (``key="scores_unlabelled"``: on the seconds that were not labelled; F1 only is meaningful there)."""
    out: dict[str, Any] = {}
    for strategy in sorted({r["strategy"] for r in rows}):
        for b in sorted({r["budget"] for r in rows}):
            sel = [r for r in rows if r["strategy"] == strategy and r["budget"] == b]
            if not sel:
                continue
            d: dict[str, Any] = {}
            for n in list(names) + ["macro"]:
                d[n] = {}
                for m in ("precision", "recall", "f1", "error_s", "error_pct"):
                    if n == "macro":
                        v = np.array([np.mean([r[key][c][m] if m not in ("error_s", "error_pct")
                                               else abs(r[key][c][m]) for c in names]) for r in sel])
                    else:
                        v = np.array([r[key][n][m] for r in sel])
                    d[n][m] = (float(np.nanmean(v)), float(np.nanstd(v))) if np.isfinite(v).any() else (
                        float("nan"), float("nan"))
                if n != "macro":
                    e = np.array([abs(r[key][n]["error_pct"]) for r in sel])
                    d[n]["abs_error_pct"] = (float(np.nanmean(e)), float(np.nanmax(e))) if np.isfinite(e).any() \
                        else (float("nan"), float("nan"))
            out.setdefault(strategy, {})[b] = d
    return out


def markdown(summ: dict[str, Any], names: Sequence[str]) -> str:
    """Tables: F1 and screen-time error per character, mean ± std over seeds."""
    lines = []
    for strategy, by_b in summ.items():
        lines += [f"#### {strategy}: F1 (precision / recall), mean ± std over seeds", "",
                  "| labels | " + " | ".join(names) + " | macro F1 |", "|---" * (len(names) + 2) + "|"]
        for b, d in by_b.items():
            cells = [f"{d[n]['f1'][0]:.3f} ± {d[n]['f1'][1]:.3f} ({d[n]['precision'][0]:.2f} / "
                     f"{d[n]['recall'][0]:.2f})" for n in names]
            macro = d["macro"]["f1"]
            lines.append(f"| {b} | " + " | ".join(cells) + f" | {macro[0]:.3f} ± {macro[1]:.3f} |")
        lines += ["", f"#### {strategy}: screen-time error, seconds (percent of true), mean ± std over seeds", "",
                  "| labels | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for b, d in by_b.items():
            cells = [f"{d[n]['error_s'][0]:+.1f} ± {d[n]['error_s'][1]:.1f} s ({d[n]['error_pct'][0]:+.1f} ± "
                     f"{d[n]['error_pct'][1]:.1f} %; \\|·\\| {d[n]['abs_error_pct'][0]:.1f}, worst "
                     f"{d[n]['abs_error_pct'][1]:.1f} %)" for n in names]
            lines.append(f"| {b} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def markdown_unlabelled(summ: dict[str, Any], names: Sequence[str]) -> str:
    """F1 on the seconds that were not labelled only (what the model had to generalise to)."""
    lines = ["#### F1 on the unlabelled seconds only, mean ± std over seeds", "",
             "| strategy | labels | " + " | ".join(names) + " | macro F1 |", "|---" * (len(names) + 3) + "|"]
    for strategy, by_b in summ.items():
        for b, d in by_b.items():
            lines.append(f"| {strategy} | {b} | " + " | ".join(f"{d[n]['f1'][0]:.3f} ± {d[n]['f1'][1]:.3f}"
                                                             for n in names)
                         + f" | {d['macro']['f1'][0]:.3f} ± {d['macro']['f1'][1]:.3f} |")
    return "\n".join(lines + [""])


def _metric_panels(plt: Any, summ: dict[str, Any], panels: Sequence[str], metric: str, ylabel: str,
                   ylim: tuple[float, float], mark: Callable[[Any, str], None], out: Path) -> None:
    """One panel per name: ``metric`` (mean ± std) against labelled seconds for each strategy."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels), 3.2), sharey=True)
    for ax, n in zip(axes, panels):
        for strategy, by_b in summ.items():
            bs = sorted(by_b)
            m = np.array([by_b[b][n][metric][0] for b in bs])
            s = np.array([by_b[b][n][metric][1] for b in bs])
            ax.errorbar(bs, m, yerr=s, marker="o", capsize=3, label=strategy)
        mark(ax, n)
        ax.set_title(n)
        ax.set_xlabel("labelled seconds")
        ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(loc="lower right")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot(summ: dict[str, Any], names: Sequence[str], path: Path) -> None:
    """F1 against labels, one panel per character plus macro, both strategies, and the screen-time error per
    character next to it in error_vs_labels.png (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def f1_target(ax: Any, n: str) -> None:
        ax.axhline(0.90 if n == "Bunny" else 0.85, color="grey", ls=":", lw=1)

    def within_5pct(ax: Any, n: str) -> None:
        ax.axhspan(-5, 5, color="green", alpha=0.08)
        ax.axhline(0, color="grey", lw=1)

    _metric_panels(plt, summ, list(names) + ["macro"], "f1", "F1 on all 491 s (mean ± std)", (0, 1), f1_target,
                   path)
    _metric_panels(plt, summ, list(names), "error_pct", "screen-time error, % of true (mean ± std)", (-40, 40),
                   within_5pct, path.with_name("error_vs_labels.png"))


# ---- protocols that look like a user's footage (issue 11) ----------------------------------------------------
#: Label budgets of the sparse protocol: what a user gives before trusting the minutes.
SPARSE_BUDGETS = (10, 25, 50, 100)
#: The cross-part split, in seconds: part A is 0..250 (the bunny's morning, the rodents' teasing at the tree and
#: the meadow, the butterfly), part B is 251..490 (the traps and the revenge: other places and light, Frank's
#: gliding and the kite, Bird again). Second 251 is an empty cut between the two (``TRUTH.md``). Both parts have
#: every character on screen (Bird 5 s in A, 9 s in B; Rinky 71 s in A but only 26 s in B).
SPLIT_S = 251.0
CROSS_BUDGETS = (25, 50, 100)
#: Synthetic pairs (train clip seed, test clip seed) and their label budgets (``tests/synth_hard.py``).
SYNTH_PAIRS = ((0, 100), (1, 101), (2, 102))
SYNTH_BUDGETS = (20, 40, 80)
SYNTH_DURATION_S = 120.0


def protocol_rows(pipe: Pipeline, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str],
                  pool: np.ndarray, evaluate: np.ndarray, budgets: Sequence[int], seeds: Sequence[int],
                  strategies: Sequence[str], protocol: str, segments: Optional[np.ndarray] = None
                  ) -> list[dict[str, Any]]:
    """Labels chosen only among ``pool``; scores on the ``evaluate`` moments that were not labelled."""
    rows = []
    for strategy in strategies:
        for seed in seeds:
            if strategy == "random":
                masks = {b: choose_random(len(times), b, np.random.default_rng([seed, b]), pool) for b in budgets}
            else:
                masks = choose_suggested(pipe, X, Y, times, names, budgets, np.random.default_rng(1000 + seed),
                                         pool=pool, segments=segments)
            for b in budgets:
                m = masks[b]
                _, present, cols = pipe.fit_predict(X, Y, times, names, m, segments)
                ev = evaluate & ~m
                rows.append({"protocol": protocol, "strategy": strategy, "budget": b, "seed": seed,
                             "trained": [names[j] for j in cols], "labelled": np.flatnonzero(m).tolist(),
                             "scores": score(Y[ev], present[ev], names)})
    return rows


def film_protocols(pipe: Pipeline, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str],
                   seeds: Sequence[int], strategies: Sequence[str] = STRATEGIES) -> list[dict[str, Any]]:
    """Sparse labels over the whole film (scored on the unlabelled seconds) and cross-part both ways."""
    everything = np.ones(len(times), bool)
    rows = protocol_rows(pipe, X, Y, times, names, everything, everything, SPARSE_BUDGETS, seeds, strategies,
                         "sparse")
    a = times < SPLIT_S
    parts = (~a).astype(int)  # the two parts are two videos: smoothing never runs from one into the other
    for protocol, pool in (("cross A->B", a), ("cross B->A", ~a)):
        rows += protocol_rows(pipe, X, Y, times, names, pool, ~pool, CROSS_BUDGETS, seeds, strategies, protocol,
                              parts)
    return rows


def synthetic_clips(folder: Path) -> list[tuple[Path, Path]]:
    """The clips of :data:`SYNTH_PAIRS` and their truth CSVs, written into ``folder`` once (``tests/synth_hard``)."""
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    import synth_hard

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for seed in sorted({s for pair in SYNTH_PAIRS for s in pair}):
        video, truth = folder / f"synth-hard-{seed}.mp4", folder / f"synth-hard-{seed}.csv"
        if not (video.exists() and truth.exists()):
            clip = synth_hard.make_clip(seed, SYNTH_DURATION_S)
            synth_hard.write_truth(clip, truth)
            synth_hard.write_clip(clip, video)
        out.append((video, truth))
    return out


def synthetic_data(folder: Path, spec: Any = None, weights: Optional[str] = "hed",
                   features: Optional[Callable[[Path], np.ndarray]] = None
                   ) -> tuple[dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]], tuple[str, ...], str]:
    """Per clip seed (features (T, D), truth (T, C), times (T,)), the names and the backbone key. ``features``
    replaces the product's features of a clip (for comparisons computed from cached maps)."""
    from core.labels import read_labels_csv

    data, key, names = {}, "", ()
    for video, truth in synthetic_clips(folder):
        seed = int(video.stem.rsplit("-", 1)[1])
        lab = read_labels_csv(truth)
        if features is None:
            fs = load_features(spec, video, weights)
            F, key = fs.features, fs.backbone
        else:
            F = features(video)
        idx = np.rint(lab.times).astype(int)
        data[seed] = (F[idx], lab.values, lab.times)
        names = lab.names
    return data, names, key


def synthetic_protocol(pipe: Pipeline, data: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]],
                       names: Sequence[str], seeds: Sequence[int], strategies: Sequence[str] = STRATEGIES,
                       budgets: Sequence[int] = SYNTH_BUDGETS) -> list[dict[str, Any]]:
    """Train on one clip (labels chosen in it), score every second of another."""
    rows = []
    for train_seed, test_seed in SYNTH_PAIRS:
        (Xa, Ya, ta), (Xb, Yb, tb) = data[train_seed], data[test_seed]
        X, Y = np.vstack([Xa, Xb]), np.vstack([Ya, Yb])
        times = np.r_[ta, tb + ta[-1] + 1000.0]  # never in one validation block
        segments = np.r_[np.zeros(len(ta), int), np.ones(len(tb), int)]
        pool = segments == 0
        for r in protocol_rows(pipe, X, Y, times, names, pool, ~pool, budgets, seeds, strategies,
                               "synthetic", segments):
            r["pair"] = [train_seed, test_seed]
            rows.append(r)
    return rows


def headline(rows: list[dict[str, Any]], names: Sequence[str]) -> dict[str, float]:
    """The figures that choose defaults: macro F1 (unlabelled seconds) per protocol and budget, the worst
    character's mean |screen-time error| cross-part at 100 labels, and the synthetic suite's lowest F1."""
    out: dict[str, float] = {}

    def sel(protocol: str, strategy: str, budget: int) -> list[dict[str, Any]]:
        return [r for r in rows if r["protocol"].startswith(protocol) and r["strategy"] == strategy
                and r["budget"] == budget]

    def macro(rs: list[dict[str, Any]]) -> float:
        return float(np.mean([np.mean([r["scores"][n]["f1"] for n in names]) for r in rs]))

    for protocol, budgets in (("sparse", SPARSE_BUDGETS), ("cross", CROSS_BUDGETS)):
        for strategy in STRATEGIES:
            for b in budgets:
                rs = sel(protocol, strategy, b)
                if rs:
                    out[f"{protocol} {strategy} {b}"] = macro(rs)
    for strategy in STRATEGIES:
        rs = sel("cross", strategy, 100)
        if rs:
            out[f"cross {strategy} 100 worst |err| %"] = max(
                float(np.nanmean([abs(r["scores"][n]["error_pct"]) for r in rs])) for n in names)
    syn_names = sorted({n for r in rows if r["protocol"] == "synthetic" for n in r["scores"]})
    for strategy in STRATEGIES:
        for b in SYNTH_BUDGETS:
            rs = sel("synthetic", strategy, b)
            if rs:
                out[f"synthetic {strategy} {b} min F1"] = min(
                    float(np.mean([r["scores"][n]["f1"] for r in rs])) for n in syn_names)
                if b == 40:
                    out[f"synthetic {strategy} 40 worst |err| %"] = max(
                        float(np.nanmean([abs(r["scores"][n]["error_pct"]) for r in rs])) for n in syn_names)
    return out


HEADLINE_COLUMNS = ("sparse random 10", "sparse random 25", "sparse random 50", "sparse random 100",
                    "sparse suggested 25", "sparse suggested 50", "sparse suggested 100",
                    "cross random 25", "cross random 50", "cross random 100", "cross suggested 100",
                    "cross random 100 worst |err| %", "synthetic random 40 min F1", "synthetic suggested 40 min F1",
                    "synthetic random 40 worst |err| %")


def headline_table(results: dict[str, dict[str, float]], title: str) -> str:
    """One row per variant, the columns of :data:`HEADLINE_COLUMNS` (those measured)."""
    cols = [c for c in HEADLINE_COLUMNS if any(c in r for r in results.values())]
    lines = [f"#### {title}", "", "| variant | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, r in results.items():
        lines.append(f"| {name} | " + " | ".join(
            ("" if c not in r else f"{r[c]:.1f}" if "err" in c else f"{r[c]:.3f}") for c in cols) + " |")
    return "\n".join(lines + [""])


def protocol_details(rows: list[dict[str, Any]], names: Sequence[str], syn_names: Sequence[str]) -> str:
    """Per protocol, strategy and budget: F1 per character and macro (mean ± std over runs), and the
    screen-time error per character (mean over runs of the signed %, and of its absolute value)."""
    lines = []
    for protocol in ("sparse", "cross A->B", "cross B->A", "synthetic"):
        sub = [r for r in rows if r["protocol"] == protocol]
        if not sub:
            continue
        ns = syn_names if protocol == "synthetic" else names
        lines += [f"#### {protocol}: F1 on unlabelled moments; screen-time error % (signed mean, mean |·|)", "",
                  "| strategy | labels | " + " | ".join(ns) + " | macro F1 | " + " | ".join(f"{n} err %" for n in ns)
                  + " |", "|---" * (2 * len(ns) + 3) + "|"]
        for strategy in STRATEGIES:
            for b in sorted({r["budget"] for r in sub}):
                rs = [r for r in sub if r["strategy"] == strategy and r["budget"] == b]
                if not rs:
                    continue
                f1 = {n: np.array([r["scores"][n]["f1"] for r in rs]) for n in ns}
                mac = np.array([np.mean([r["scores"][n]["f1"] for n in ns]) for r in rs])
                err = {n: np.array([r["scores"][n]["error_pct"] for r in rs]) for n in ns}
                cells = [f"{f1[n].mean():.3f} ± {f1[n].std():.3f}" for n in ns]
                lines.append(f"| {strategy} | {b} | " + " | ".join(cells) + f" | {mac.mean():.3f} ± {mac.std():.3f} | "
                             + " | ".join(f"{np.nanmean(err[n]):+.1f} ({np.nanmean(np.abs(err[n])):.1f})" for n in ns)
                             + " |")
        lines.append("")
    return "\n".join(lines)


# ---- ablations: the figures behind each default (``--ablations``) -----------------------------------------
ALL_LAYERS = ("block4_conv3", "block5_conv3", "block5_pool")
#: Column slices of the avgmax features of ALL_LAYERS (each layer: 512 averages, then 512 maxima).
SLICES = {"block5_conv3 avg+max (old default)": np.r_[1024:2048],
          "block4_conv3+block5_conv3 avg+max": np.r_[0:2048],
          "block4_conv3+block5_conv3 avg": np.r_[0:512, 1024:1536],
          "block4_conv3+block5_conv3 max": np.r_[512:1024, 1536:2048],
          "block4_conv3 avg+max": np.r_[0:1024],
          "block5_pool avg+max": np.r_[2048:3072],
          "all three avg+max": np.r_[0:3072]}
#: The variants also tried at 224x400 (16:9 frames kept at their aspect, 1.8x the compute).
WIDE = ("block5_conv3 avg+max (old default)", "block4_conv3+block5_conv3 avg+max", "all three avg+max")


def _neighbours(X: np.ndarray, mode: str) -> np.ndarray:
    prev, nxt = np.vstack([X[:1], X[:-1]]), np.vstack([X[1:], X[-1:]])
    return (prev + X + nxt) / 3 if mode == "average" else np.hstack([X, (prev + nxt) / 2])


def _oof_threshold(p: np.ndarray, y: np.ndarray, how: str) -> float:
    if how == "f1":  # the F1-best threshold of the out-of-fold probabilities (ties: closest to 0.5)
        from core.validation import scores

        best = (-1.0, 0.5)
        for t in np.unique(np.r_[p, 0.5]):
            f = scores("", y == 1, p >= t).f1
            if f > best[0] + 1e-12 or (abs(f - best[0]) < 1e-12 and abs(t - 0.5) < abs(best[1] - 0.5)):
                best = (f, float(t))
        return best[1]
    k, ps = int(y.sum()), np.sort(p)[::-1]  # "count": as many predicted present as labelled present
    return float((ps[k - 1] + ps[k]) / 2) if 0 < k < len(ps) else 0.5


def _grid(X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str], budgets: Sequence[int],
          seeds: Sequence[int], variants: dict[str, Any], kind: str = "linear") -> dict[str, dict[int, Any]]:
    """Random labels; one fit per (budget, seed); each variant post-processes it: macro F1, mean |error %|."""
    from core import ScreenTimeClassifier, Smoothing
    from core.smoothing import smooth_probs

    res: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for b in budgets:
        for seed in seeds:
            mask = choose_random(len(times), b, np.random.default_rng([seed, b]))
            Yl = Y[mask]
            cols = [j for j in range(Y.shape[1]) if 2 <= Yl[:, j].sum() <= len(Yl) - 2]
            clf = ScreenTimeClassifier(kind=kind).fit(X[mask], Yl[:, cols], times[mask], [names[j] for j in cols])
            P = clf.predict_proba(X)
            for name, (thr_how, sm) in variants.items():
                thr = clf.thresholds_ if thr_how == "0.5" else np.array(
                    [_oof_threshold(clf.oof_proba_[:, i], Yl[:, c], thr_how) for i, c in enumerate(cols)])
                present = np.zeros(Y.shape, bool)
                present[:, cols] = smooth_probs(P, thr, 1.0, sm if sm is not None else Smoothing())
                res.setdefault(name, {}).setdefault(b, []).append(score(Y, present, names))
    return res


def _table(title: str, res: dict[str, dict[int, list[dict[str, Any]]]], names: Sequence[str]) -> str:
    budgets = sorted({b for v in res.values() for b in v})
    lines = [f"#### {title}", "", "| variant | " + " | ".join(f"macro F1 @{b}" for b in budgets)
             + " | " + " | ".join(f"mean abs err % @{b}" for b in budgets) + " |",
             "|---" * (1 + 2 * len(budgets)) + "|"]
    for name, by_b in res.items():
        f1 = [np.array([np.mean([r[n]["f1"] for n in names]) for r in by_b[b]]) for b in budgets]
        er = [np.mean([np.mean([abs(r[n]["error_pct"]) for n in names]) for r in by_b[b]]) for b in budgets]
        lines.append(f"| {name} | " + " | ".join(f"{v.mean():.3f} ± {v.std():.3f}" for v in f1) + " | "
                     + " | ".join(f"{e:.1f}" for e in er) + " |")
    return "\n".join(lines + [""])


def _least_certain_character(probs: np.ndarray, labelled: np.ndarray, times: np.ndarray, k: int,
                             min_gap_s: float = 5.0) -> list[int]:
    """The product's suggest, ranked by the least certain character instead of the sum over characters:
    one column p = u / 2, whose uncertainty 1 - |2p - 1| is u, the largest of the characters'."""
    from core.suggest import suggest, uncertainty

    u = np.max([uncertainty(np.asarray(probs, float)[:, [j]]) for j in range(probs.shape[1])], axis=0)
    return suggest((u / 2.0)[:, None], labelled, times, k, min_gap_s)


def suggestion_ablation(X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str],
                        seeds: Sequence[int]) -> str:
    """Random labels against suggestion variants (linear classifier, default smoothing)."""
    budgets = (25, 50, 100, 150, 200, 300)
    pipe = Pipeline({"kind": "linear"})
    variants: dict[str, tuple[str, float, Any]] = {
        "random": ("random", 5.0, None), "suggested: sum over characters, 5 s gap (default)": ("suggested", 5.0, None),
        "suggested: sum, no gap": ("suggested", 0.0, None), "suggested: sum, 10 s gap": ("suggested", 10.0, None),
        "suggested: least certain character, 5 s gap": ("suggested", 5.0, _least_certain_character)}
    res: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for name, (strategy, gap, fn) in variants.items():
        for r in run(pipe, X, Y, times, names, budgets, seeds, (strategy,), gap, fn):
            res.setdefault(name, {}).setdefault(r["budget"], []).append(r["scores"])
    return _table("Choosing the labels (block4+5 features, linear classifier, default smoothing)", res, names)


def ablations(seeds: int = 5, weights: Optional[str] = "hed") -> str:
    """The comparison tables of docs/accuracy.md (random labels, linear classifier unless said)."""
    from core import FeatureSpec, Smoothing

    times, names, Y = load_truth()
    idx = np.rint(times).astype(int)
    feats = {size: load_features(FeatureSpec(ALL_LAYERS, "avgmax", size), weights=weights).features[idx]
             for size in ((224, 224), (224, 400))}
    sd = range(seeds)
    out = []
    hmm = {"": ("0.5", Smoothing(0, 0, 5.0))}
    res: dict[str, Any] = {}
    for size, F in feats.items():
        for name, cols in SLICES.items():
            if size == (224, 400) and name not in WIDE:
                continue
            r = _grid(F[:, cols], Y, times, names, (50, 100, 200), sd, hmm)
            res[f"{size[0]}x{size[1]} {name}"] = r[""]
    X = feats[(224, 224)][:, SLICES["block4_conv3+block5_conv3 avg+max"]]
    for mode in ("average", "concatenate"):
        res[f"224x224 block4+5, neighbours t-1,t,t+1 {mode}d"] = _grid(_neighbours(X, mode), Y, times, names,
                                                                      (50, 100, 200), sd, hmm)[""]
    out.append(_table("Features (linear classifier, default smoothing)", res, names))
    sm = {"none": ("0.5", Smoothing(0, 0, 0)), "bridge 2 s + min 2 s (old default)": ("0.5", Smoothing(2, 2, 0)),
          "bridge 3 s + min 3 s": ("0.5", Smoothing(3, 3, 0)), "two-state model, 2.5 s": ("0.5", Smoothing(0, 0, 2.5)),
          "two-state model, 5 s (default)": ("0.5", Smoothing(0, 0, 5.0)),
          "two-state model, 10 s": ("0.5", Smoothing(0, 0, 10.0)),
          "two-state model, 20 s": ("0.5", Smoothing(0, 0, 20.0)),
          "two-state model 5 s + bridge 2 s + min 2 s": ("0.5", Smoothing(2, 2, 5.0)),
          "threshold: F1-best on out-of-fold probabilities": ("f1", Smoothing(0, 0, 5.0)),
          "threshold: out-of-fold count matches labels": ("count", Smoothing(0, 0, 5.0))}
    out.append(_table("Smoothing and thresholds (block4+5 features, linear classifier)",
                      _grid(X, Y, times, names, BUDGETS, sd, sm), names))
    kinds = {k: _grid(X, Y, times, names, (100, 200), range(min(seeds, 3)), hmm, kind=k)[""]
             for k in ("linear", "dense", "auto")}
    out.append(_table("Classifier kind (3 seeds; default smoothing)", kinds, names))
    out.append(suggestion_ablation(X, Y, times, names, sd))
    return "\n".join(out)


def protocols(pipe: Pipeline, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str],
              synth: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]], seeds: Sequence[int],
              strategies: Sequence[str] = STRATEGIES) -> list[dict[str, Any]]:
    """Every protocol of issue 11 for one pipeline: sparse and cross-part on the film, the synthetic suite."""
    return (film_protocols(pipe, X, Y, times, names, seeds, strategies)
            + synthetic_protocol(pipe, synth, SYNTH_NAMES, seeds, strategies))


#: The synthetic suite's characters (``tests/synth_hard.NAMES``).
SYNTH_NAMES = ("Tomato", "Plum", "Mint")


# ---- candidates (issue 11, section 2): each measured on every protocol together (``--candidates``) ----------
@dataclass
class Candidate(Pipeline):
    """A :class:`Pipeline` with the candidate steps of issue 11 that act on features or on the fit.

    ``per_video``: each video's features are standardised with that video's own mean and spread (a cheap
    domain adaptation: another episode's light and colours shift every feature). ``self_train`` (0: off):
    after the first fit, the unlabelled moments whose smoothed probability is at least this sure for every
    character join the labels with the answer the model gave, and the model is fitted again. ``shot_centre``
    (0: off): the features also enter less their shot's mean (:meth:`centred_on_shots` with this ``z``), so that
    what changes within a shot (a character coming or going) stands out from the scene.
    """

    per_video: bool = False
    self_train: float = 0.0
    shot_centre: float = 0.0

    @staticmethod
    def centred_on_shots(X: np.ndarray, seg: np.ndarray, z: float) -> np.ndarray:
        """Each moment's features less the mean of its shot; shots are cut where the cosine distance between
        neighbouring moments exceeds the median by ``z`` interquartile ranges (per video)."""
        out = np.empty_like(X)
        for s_id in np.unique(seg):
            rows = np.flatnonzero(seg == s_id)
            unit = X[rows] / np.linalg.norm(X[rows], axis=1, keepdims=True).clip(1e-6)
            d = 1 - (unit[1:] * unit[:-1]).sum(axis=1)
            q1, q2, q3 = np.percentile(d, [25, 50, 75])
            shot = np.r_[0, np.cumsum(d > q2 + z * (q3 - q1))]
            for k in np.unique(shot):
                r = rows[shot == k]
                out[r] = X[r] - X[r].mean(axis=0)
        return out

    def fit_predict(self, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str],
                    mask: np.ndarray, segments: Optional[np.ndarray] = None
                    ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        if self.mirror_dim and (self.per_video or self.shot_centre):
            raise ValueError("per-video standardisation and shot-centred features do not split mirror images off")
        seg = np.zeros(len(X), int) if segments is None else np.asarray(segments)
        X = np.asarray(X, np.float32)
        if self.per_video:
            X = X.copy()
            for s_id in np.unique(seg):
                rows = seg == s_id
                X[rows] = (X[rows] - X[rows].mean(axis=0)) / X[rows].std(axis=0).clip(1e-3)
        if self.shot_centre:
            X = np.hstack([X, self.centred_on_shots(X, seg, self.shot_centre)])
        probs, present, cols = super().fit_predict(X, Y, times, names, mask, segments)
        if not self.self_train or not cols:
            return probs, present, cols
        from core.smoothing import hmm_posterior, switch_probability

        post = np.zeros((len(X), len(cols)))
        for s_id in np.unique(seg):
            rows = seg == s_id
            post[rows] = hmm_posterior(probs[np.ix_(rows, cols)], switch_probability(1.0, 5.0))
        sure = ~mask & np.all((post >= self.self_train) | (post <= 1 - self.self_train), axis=1)
        Yp = np.array(Y, copy=True)
        Yp[np.ix_(sure, cols)] = post[sure] >= 0.5
        Yp[np.ix_(sure, [j for j in range(Y.shape[1]) if j not in cols])] = 0
        return super().fit_predict(X, Yp, times, names, mask | sure, segments) if sure.any() else (
            probs, present, cols)


def colour_features(fs: Any, idx: np.ndarray) -> np.ndarray:
    """:func:`core.colour.colour_statistics` of the cached thumbnails (320 px wide) scaled to 224x224: a cheap
    stand-in for the statistics of the network's input, which would need a new feature cache key."""
    import cv2

    from core.colour import colour_statistics

    frames = []
    for i in idx:
        img = cv2.imread(str(fs.thumb_path(int(i))))
        frames.append(cv2.resize(img[..., ::-1], (224, 224), interpolation=cv2.INTER_AREA))
    return colour_statistics(np.stack(frames))


#: Feature sets of other networks for the candidates, by name: what ``--backbone`` would say (the product's
#: own feature pipeline and cache compute them).
#: The candidates' networks: EfficientNet-Lite0's pooled features (the candidates were measured on them).
OTHER_NETWORKS = {"effl0": "efflite0:224x224:pooled", "effl0-288x512": "efflite0:288x512:pooled"}

Data = tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]]


def network_data(network: str, cache: Path, times: np.ndarray) -> Data:
    """The film's and the synthetic clips' features made by ``network`` (``FAMILY[:HxW]``)."""
    family, spec = parse_network(network)

    def feats(video: Path) -> np.ndarray:
        return load_features(spec, video, family=family).features

    synth, _, _ = synthetic_data(cache / "synth-hard", features=feats)
    return feats(VIDEO)[np.rint(times).astype(int)], synth


def candidate_features(cache: Path, weights: str, times: np.ndarray, networks: Sequence[str] = (),
                       with_vgg16: bool = True) -> dict[str, Data]:
    """The film's and the synthetic clips' features per candidate feature set: ``hed`` (VGG16's),
    ``hed+colour`` (with the colour statistics, four copies so that 54 values weigh against 2048), and each of
    ``networks`` (names of :data:`OTHER_NETWORKS`); only those without ``with_vgg16``."""
    from core import FeatureSpec

    out: dict[str, Data] = {name: network_data(OTHER_NETWORKS[name], cache, times) for name in networks}
    if not with_vgg16:
        return out
    idx = np.rint(times).astype(int)
    fs = load_features(FeatureSpec(), weights=weights)
    synth, _, _ = synthetic_data(cache / "synth-hard", spec=FeatureSpec(), weights=weights)
    out["hed"] = (fs.features[idx], synth)
    col_film = colour_features(fs, idx)
    col = {}
    for video, _ in synthetic_clips(cache / "synth-hard"):
        seed = int(video.stem.rsplit("-", 1)[1])
        col[seed] = colour_features(load_features(FeatureSpec(), video, weights),
                                    np.rint(synth[seed][2]).astype(int))
    out["hed+colour"] = (np.hstack([fs.features[idx]] + [col_film] * 4),
                         {k: (np.hstack([v[0]] + [col[k]] * 4), v[1], v[2]) for k, v in synth.items()})
    return out


def candidates() -> dict[str, tuple[str, Candidate]]:
    """Name -> (feature set, pipeline): every candidate of issue 11, section 2, that runs on cached features."""
    from core import Smoothing

    lin = {"kind": "linear"}
    return {
        "linear (the default)": ("hed", Candidate(lin)),
        "auto: dense or linear by CV (old default)": ("hed", Candidate({"kind": "auto"})),
        "dense": ("hed", Candidate({"kind": "dense"})),
        "linear C=0.01": ("hed", Candidate({**lin, "C": 0.01})),
        "linear C=1": ("hed", Candidate({**lin, "C": 1.0})),
        "linear, thresholds by CV": ("hed", Candidate({**lin, "threshold": "cv"})),
        "linear, HMM 5 s (old default)": ("hed", Candidate(lin, settings=Smoothing(0, 0, 5.0))),
        "linear, no HMM": ("hed", Candidate(lin, settings=Smoothing(0, 0, 0))),
        "linear, self-training at 0.9": ("hed", Candidate(lin, self_train=0.9)),
        "linear, per-video standardisation": ("hed", Candidate(lin, per_video=True)),
        "linear + colour statistics": ("hed+colour", Candidate(lin)),
        "EfficientNet-Lite0, linear": ("effl0", Candidate(lin)),
        "EfficientNet-Lite0, linear, HMM 5 s": ("effl0", Candidate(lin, settings=Smoothing(0, 0, 5.0))),
        "EfficientNet-Lite0, linear, no HMM": ("effl0", Candidate(lin, settings=Smoothing(0, 0, 0))),
        "EfficientNet-Lite0, auto": ("effl0", Candidate({"kind": "auto"})),
        "EfficientNet-Lite0 + colour, linear": ("effl0+colour", Candidate(lin)),
        "EfficientNet-Lite0 288x512, linear": ("effl0-288x512", Candidate(lin)),
        "EfficientNet-Lite0 288x512, linear, no HMM": ("effl0-288x512", Candidate(lin, settings=Smoothing(0, 0, 0))),
        "EfficientNet-Lite0 288x512, linear, HMM 5 s": ("effl0-288x512",
                                                        Candidate(lin, settings=Smoothing(0, 0, 5.0))),
        "EfficientNet-Lite0 288x512, linear C=0.01": ("effl0-288x512", Candidate({**lin, "C": 0.01})),
        "EfficientNet-Lite0 288x512, linear C=1": ("effl0-288x512", Candidate({**lin, "C": 1.0})),
        "EfficientNet-Lite0 288x512, thresholds by CV": ("effl0-288x512", Candidate({**lin, "threshold": "cv"})),
        "EfficientNet-Lite0 288x512, per-video standardisation": ("effl0-288x512", Candidate(lin, per_video=True)),
        "EfficientNet-Lite0 288x512, self-training at 0.9": ("effl0-288x512", Candidate(lin, self_train=0.9)),
        "EfficientNet-Lite0 224x224 + 288x512, linear": ("effl0+effl0-288x512", Candidate(lin)),
        "EfficientNet-Lite0 288x512, shot-centred z=2": ("effl0-288x512", Candidate(lin, shot_centre=2.0)),
        "EfficientNet-Lite0 288x512, shot-centred z=4": ("effl0-288x512", Candidate(lin, shot_centre=4.0)),
    }


def run_candidates(cache: Path, weights: str, seeds: Sequence[int], strategies: Sequence[str],
                   only: Optional[Sequence[str]] = None) -> dict[str, dict[str, float]]:
    """The headline of every candidate (random labels unless ``strategies`` says more)."""
    times, names, Y = load_truth()
    from core.colour import DIM

    wanted = [feat for name, (feat, _) in candidates().items() if not only or name in only]
    data = candidate_features(cache, weights, times, [n for n in OTHER_NETWORKS if any(
        f == n or f.startswith(n + "+") or f.endswith("+" + n) for f in wanted)],
        any(f.startswith("hed") or f.endswith("+colour") for f in wanted))
    if "effl0" in data and "effl0-288x512" in data:
        (a, sa), (b, sb) = data["effl0"], data["effl0-288x512"]
        data["effl0+effl0-288x512"] = (np.hstack([a, b]), {k: (np.hstack([v[0], sb[k][0]]), v[1], v[2])
                                                            for k, v in sa.items()})
    if "effl0" in data and "hed+colour" in data:
        (ef, es), (cf, cs) = data["effl0"], data["hed+colour"]
        data["effl0+colour"] = (np.hstack([ef, cf[:, -4 * DIM:]]),
                                {k: (np.hstack([v[0], cs[k][0][:, -4 * DIM:]]), v[1], v[2]) for k, v in es.items()})
    out: dict[str, dict[str, float]] = {}
    for name, (feat, pipe) in candidates().items():
        if only and name not in only:
            continue
        X, synth = data[feat]
        rows = protocols(pipe, X, Y, times, names, synth, seeds, strategies)
        out[name] = headline(rows, names)
    return out


def cross_part_diagnosis(cache: Path, weights: str) -> str:
    """Logistic regression (C = 0.1, balanced, no smoothing) trained on *every* second of one part and scored on
    the other, against 100 random seconds of part A scored on the rest of A: whether more labels or other
    features would carry across parts (``--diagnose``)."""
    from sklearn.linear_model import LogisticRegression

    from core.validation import scores

    times, names, Y = load_truth()
    data = candidate_features(cache, weights, times, ["effl0", "effl0-288x512"])
    a = times < SPLIT_S
    ia, ib = np.flatnonzero(a), np.flatnonzero(~a)
    some_a = np.random.default_rng(0).choice(ia, 100, replace=False)
    cases = (("all of A", ia, "all of B", ib), ("all of B", ib, "all of A", ia),
             ("100 random s of A", some_a, "the rest of A", np.setdiff1d(ia, some_a)))
    films = {"HED-VGG16 block4+5 (the product's before)": data["hed"][0],
             "HED block4_conv3 only": data["hed"][0][:, :1024], "HED block5_conv3 only": data["hed"][0][:, 1024:],
             "colour statistics only": data["hed+colour"][0][:, -54:]}
    films["EfficientNet-Lite0 224x224"] = data["effl0"][0]
    films["EfficientNet-Lite0 288x512 (the product's)"] = data["effl0-288x512"][0]
    lines = ["| features | train on | score on | macro F1 | " + " | ".join(names) + " |",
             "|---" * (4 + len(names)) + "|"]
    for fname, F in films.items():
        for train_name, tr, test_name, te in cases:
            mu, sd = F[tr].mean(axis=0), F[tr].std(axis=0) + 1e-6
            Z = (F - mu) / sd
            f1 = [scores(n, Y[te, j] == 1, LogisticRegression(C=0.1, class_weight="balanced", max_iter=3000)
                         .fit(Z[tr], Y[tr, j]).predict(Z[te]) == 1).f1 for j, n in enumerate(names)]
            lines.append(f"| {fname} | {train_name} | {test_name} | {np.mean(f1):.3f} | "
                         + " | ".join(f"{v:.3f}" for v in f1) + " |")
    return "\n".join(lines + [""])


def with_copies(X: np.ndarray, synth: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]], times: np.ndarray,
                cache: Path, features_of: Callable[[Path], np.ndarray]
                ) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """The film's moments ``X`` and the synthetic clips' with the features of a copy of each frame beside them
    (``features_of(video)``: one row per sampled moment of the video), for :attr:`Pipeline.mirror_dim`."""
    copy_synth, _, _ = synthetic_data(cache / "synth-hard", features=features_of)
    film = np.hstack([X, features_of(VIDEO)[np.rint(times).astype(int)]])
    return film, {seed: (np.hstack([F, copy_synth[seed][0]]), y, t) for seed, (F, y, t) in synth.items()}


def with_mirrors(X: np.ndarray, synth: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]], times: np.ndarray,
                 cache: Path) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """:func:`with_copies` of the frames' mirror images, by the product's :func:`core.mirrored.mirrored_features`,
    kept in a cache of their own (``cache / "mirrored"``)."""
    from core.cache import FeatureCache
    from core.mirrored import mirrored_features

    store = FeatureCache(cache / "mirrored")

    def mirrored(video: Path) -> np.ndarray:
        fs = load_features(video=video)
        return mirrored_features(fs, fs.times, store)

    return with_copies(X, synth, times, cache, mirrored)


def product_settings(backbone_key: str, kind: Optional[str] = None) -> dict[str, Any]:
    """The product's classifier settings for features of ``backbone_key`` (:func:`core.jobs.classifier_settings`:
    the spatial head on cell features), without cross-validation for the spatial head: with the fixed 0.5
    threshold the folds change only the reported validation scores, never a prediction, and they cost 6x."""
    from core.jobs import classifier_settings

    settings = classifier_settings(backbone_key, kind)
    return {**settings, "n_folds": 1} if settings["kind"] == "spatial" else settings


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    ap.add_argument("--cache", default=os.environ.get("SCREENTIME_CACHE", "/tmp/acc-cache"))
    ap.add_argument("--weights", default="hed", help="auto, imagenet or hed (default hed: offline-reproducible)")
    ap.add_argument("--backbone", default=None, metavar="FAMILY[:HxW[:pooled]]",
                    help="the protocols' feature network, e.g. vgg16 or efflite0:224x224 (default: the product's, "
                         "core.config.BACKBONE; VGG16 takes --weights); results go to protocols-<family>-<HxW>.md/json")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--img", default=str(ROOT / "docs" / "img"))
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--pooled", action="store_true",
                    help="EfficientNet-Lite0's pooled features (2784 values; the defaults before the spatial head) "
                         "instead of its cells")
    ap.add_argument("--typical-run", type=float, default=None, metavar="S",
                    help="the two-state smoothing's prior (default: the product's, off; 2.5 was the default before)")
    ap.add_argument("--kind", default=None, choices=("linear", "dense", "auto"),
                    help="classifier kind on pooled features (default: the one the features call for, "
                         "core.jobs.classifier_settings)")
    ap.add_argument("--no-mirrors", action="store_true",
                    help="the spatial head without the labelled frames' mirror images (the default before)")
    ap.add_argument("--no-classic", action="store_true",
                    help="skip the all-491-seconds tables (the secondary view: accuracy.md)")
    ap.add_argument("--no-protocols", action="store_true",
                    help="skip the protocols of issue 11 (protocols.md: unlabelled seconds, cross-part, synthetic)")
    ap.add_argument("--ablations", action="store_true", help="also write the comparison tables (ablations.md)")
    ap.add_argument("--diagnose", action="store_true",
                    help="also write diagnosis.md: every second of one part labelled, scored on the other")
    ap.add_argument("--candidates", nargs="*", default=None, metavar="NAME",
                    help="also compare the candidates of issue 11 on every protocol (candidates.md; random labels, "
                         "and suggested ones too when --strategies says so); names: only those")
    a = ap.parse_args(argv)
    os.environ["SCREENTIME_CACHE"] = a.cache
    global NETWORK
    from core import config

    network = a.backbone or config.BACKBONE
    if a.pooled:
        network += (":" if ":" in network else f":{'x'.join(map(str, config.EFFNET_INPUT_SIZE))}:") + "pooled"
    NETWORK = parse_network(network)
    h, w = NETWORK[1].input_size
    cells = "-cells" if NETWORK[1].pooling == "cells" else ""  # the pooled results keep their names
    suffix = f"-{NETWORK[0]}{cells}-{h}x{w}" + ("-no-mirrors" if a.no_mirrors else "")
    start = time.perf_counter()
    times, names, Y = load_truth()
    fs = load_features(weights=a.weights)
    idx = np.rint(times).astype(int)
    X = fs.features[idx]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    from core import Smoothing
    from core.jobs import uses_mirrors

    settings = product_settings(fs.backbone, a.kind)
    mirrors = uses_mirrors(settings) and not a.no_mirrors
    pipe = Pipeline(settings, settings=None if a.typical_run is None else Smoothing(typical_run_s=a.typical_run),
                    mirror_dim=X.shape[1] if mirrors else 0)
    synth: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    if not a.no_protocols:
        synth, _, synth_key = synthetic_data(Path(a.cache) / "synth-hard", weights=a.weights)
    if mirrors:
        X, synth = with_mirrors(X, synth, times, Path(a.cache))
    if not a.no_protocols:
        rows = protocols(pipe, X, Y, times, names, synth, range(a.seeds), a.strategies)
        head = headline(rows, names)
        meta = {"video": str(VIDEO), "backbone": fs.backbone, "weights": fs.weights, "synthetic_backbone": synth_key,
                "classifier": pipe.classifier, "mirrored": mirrors,
                "seeds": a.seeds, "split_s": SPLIT_S, "synthetic_pairs": SYNTH_PAIRS,
                "evaluated_on": "unlabelled moments only: the other part (cross), the other clip (synthetic)"}
        (out / f"protocols{suffix}.json").write_text(json.dumps({"meta": meta, "headline": head, "runs": rows},
                                                                indent=1, default=str).replace("NaN", "null"))
        md = (headline_table({"product defaults": head}, "Headline (macro F1 on unlabelled moments)") + "\n"
              + protocol_details(rows, names, SYNTH_NAMES))
        (out / f"protocols{suffix}.md").write_text(f"Backbone: `{fs.backbone}` (weights `{fs.weights}`); classifier "
                                          f"{pipe.classifier}; mirror images of the labelled frames "
                                          f"{'learned from' if mirrors else 'not used'}; {a.seeds} seeds.\n\n{md}")
        print(md)
    if not a.no_classic:
        rows = run(pipe, X, Y, times, names, a.budgets, range(a.seeds), a.strategies)
        summ = summary(rows, names)
        meta = {"video": str(VIDEO), "truth": str(TRUTH.relative_to(ROOT)), "backbone": fs.backbone,
                "kind": pipe.classifier["kind"], "mirrored": mirrors, "seeds": a.seeds, "budgets": a.budgets,
                "evaluated_on": "all truth seconds 0..490, labelled ones included, after thresholds and smoothing"}
        classic = "accuracy" + ("-no-mirrors" if a.no_mirrors else "")
        (out / f"{classic}.json").write_text(json.dumps({"meta": meta, "summary": summ, "runs": rows}, indent=1,
                                                      default=str).replace("NaN", "null"))
        md = markdown(summ, names) + "\n" + markdown_unlabelled(summary(rows, names, "scores_unlabelled"), names)
        (out / f"{classic}.md").write_text(f"Backbone: `{fs.backbone}`; evaluated on {meta['evaluated_on']}.\n\n{md}")
        if not a.no_plots:
            plot(summ, names, Path(a.img) / "f1_vs_labels.png")
        print(md)
    if a.diagnose:
        md = cross_part_diagnosis(Path(a.cache), a.weights)
        (out / "diagnosis.md").write_text(md)
        print(md)
    if a.candidates is not None:
        t0 = time.perf_counter()
        res = run_candidates(Path(a.cache), a.weights, range(a.seeds), a.strategies, a.candidates)
        md = headline_table(res, f"Candidates (macro F1 on unlabelled moments; {a.seeds} seeds)")
        (out / "candidates.md").write_text(md + "\n")
        (out / "candidates.json").write_text(json.dumps(res, indent=1).replace("NaN", "null"))
        print(md)
        print(f"candidates in {time.perf_counter() - t0:.0f} s")
    if a.ablations:
        t0 = time.perf_counter()
        abl = ablations(a.seeds, a.weights)
        (out / "ablations.md").write_text(abl)
        print(abl)
        print(f"ablations in {time.perf_counter() - t0:.0f} s")
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
