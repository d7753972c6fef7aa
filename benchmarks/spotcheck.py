"""Spot-check benchmark: do the intervals of :mod:`core.spotcheck` hold the true screen time on a real film?

On *Big Buck Bunny* (truth for every second, ``benchmarks/bbb_truth.csv``) a user labels ``--labels`` seconds
at random, the product's classifier and smoothing predict every second (``accuracy.Pipeline``, the product's
defaults), and then ``--checks`` spot checks of ``--n`` moments each are drawn among the unlabelled seconds
and answered from the truth. Per character it reports how often the 95 % interval holds the true screen time
(over all label seeds and checks), the mean width of the interval, and the mean absolute error of the
model's own seconds against that of the spot-check estimate.

    python benchmarks/spotcheck.py                       # 5 label seeds x 200 checks, 100 labels, 60 moments
    python benchmarks/spotcheck.py --labels 25 --n 30

Features come from the accuracy benchmark's cache (``--cache``, default ``$SCREENTIME_CACHE`` or
/tmp/acc-cache); only a first run pays for VGG16.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", type=int, default=100)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--checks", type=int, default=200)
    ap.add_argument("--cache", default=os.environ.get("SCREENTIME_CACHE", "/tmp/acc-cache"))
    a = ap.parse_args()
    os.environ["SCREENTIME_CACHE"] = a.cache

    from accuracy import Pipeline, choose_random, load_features, load_truth

    from core.spotcheck import draw_order, estimate
    from core.timeline import mmss

    times, names, truth = load_truth()
    fs = load_features()
    n = min(len(times), len(fs.times))
    X, Y, T = fs.features[:n], truth[:n].astype(np.uint8), times[:n]
    w = np.ones(n)
    rows: dict[str, dict[str, list[float]]] = {nm: {"hit": [], "width": [], "model_err": [], "check_err": []}
                                                for nm in names}
    for seed in range(a.seeds):
        mask = choose_random(n, a.labels, np.random.default_rng(seed))
        _, present, _ = Pipeline().fit_predict(X, Y, T, names, mask)
        for c in range(a.checks):
            idx = draw_order(n, mask, seed=1000 * seed + c)[:a.n]
            for j, nm in enumerate(names):
                true_s = float(Y[:, j].sum())
                e = estimate(nm, w, present[:, j], mask, Y[:, j].astype(bool), idx, Y[idx, j].astype(bool))
                assert e.seconds.value is not None and e.seconds.low is not None and e.seconds.high is not None
                r = rows[nm]
                r["hit"].append(e.seconds.low <= true_s <= e.seconds.high)
                r["width"].append(e.seconds.high - e.seconds.low)
                r["model_err"].append(abs(e.predicted_s - true_s))
                r["check_err"].append(abs(e.seconds.value - true_s))
    print(f"Big Buck Bunny, {n} s; {a.labels} random labels x {a.seeds} seeds; {a.checks} checks of {a.n} moments "
          "each; 95 % intervals")
    print("| character | true screen time | interval holds the truth | mean width | model's error | "
          "spot-check estimate's error |")
    print("|---|---|---|---|---|---|")
    for j, nm in enumerate(names):
        r = rows[nm]
        print(f"| {nm} | {mmss(float(Y[:, j].sum()))} | {100 * np.mean(r['hit']):.1f} % | "
              f"{np.mean(r['width']):.0f} s | {np.mean(r['model_err']):.1f} s | {np.mean(r['check_err']):.1f} s |")


if __name__ == "__main__":
    main()
