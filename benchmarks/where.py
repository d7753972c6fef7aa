"""Where the model sees each character, on Big Buck Bunny (``docs/where.md``).

1. Trains a model (dense or linear) on 200 random seconds of the film's truth (``bbb_truth.csv``, seed 0),
   the film's VGG16 features coming from the cache (computed first if missing: minutes on 2 cores);
2. for each of the four characters, four unlabelled seconds where the truth has them, draws the map of
   that character on the frame and writes a 4x4 sheet (``--out``) to look at, printing each peak and box;
3. before that, times one map with the real network: cold (the network built in this process, features
   having come from the cache), warm (a new moment), and read back from the cache; and states the size of one
   cached moment.

    python benchmarks/where.py --kind dense --out docs/img/where-bbb.jpg
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from core.cache import FeatureCache
from core.classifier import ScreenTimeClassifier
from core.features import extract_features
from core.hashing import hashed_identity
from core.video import read_frame_at
from core.where import draw_where, where_maps

ROOT = Path(__file__).resolve().parents[1]
FILM = ROOT.parent / "shared" / "data" / "big_buck_bunny_720p.mp4"
TRUTH = ROOT / "benchmarks" / "bbb_truth.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=["dense", "linear"], default="dense")
    ap.add_argument("--out", type=Path, default=Path("where-bbb.jpg"))
    ap.add_argument("--video", type=Path, default=FILM)
    ap.add_argument("--labels", type=int, default=200)
    args = ap.parse_args()

    cache = FeatureCache()
    fs = extract_features(args.video, 1.0, cache=cache, keep_thumbs=False)
    rows = list(csv.reader(TRUTH.open()))
    names = rows[0][1:5]  # Bird is on screen too rarely to train on
    truth = np.array([[int(v) for v in r[1:5]] for r in rows[1:]])
    times = np.array([float(r[0]) for r in rows[1:]])
    n = min(len(times), len(fs))
    X, truth, times = fs.features[:n], truth[:n], times[:n]
    rng = np.random.default_rng(0)
    lab = np.sort(rng.choice(n, args.labels, replace=False))
    clf = ScreenTimeClassifier(kind=args.kind).fit(X[lab], truth[lab], times[lab], names)
    unlabelled = np.setdiff1d(np.arange(n), lab)
    picks = []
    for j, name in enumerate(names):
        have = unlabelled[truth[unlabelled, j] == 1]
        picks += [(name, float(times[i])) for i in rng.choice(have, 4, replace=False)]

    sha = hashed_identity(args.video)[0]
    tmp = Path(tempfile.mkdtemp(prefix="where-timing-"))
    try:
        fresh = FeatureCache(tmp)
        for label, t in (("cold", 101.0), ("warm", 201.0), ("cached", 201.0)):  # cold: the network is built
            t0 = time.perf_counter()
            where_maps(args.video, [t], clf, fs.backbone, fresh, sha256=sha)
            print(f"{label:<7} one map at {t:5.0f} s: {time.perf_counter() - t0:6.2f} s")
        size = next((tmp / "where").rglob("*.npz")).stat().st_size
        print(f"one cached moment: {size:,} bytes; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    t0 = time.perf_counter()
    maps = where_maps(args.video, [t for _, t in picks], clf, fs.backbone, cache, sha256=sha)
    print(f"{len(picks)} maps in {time.perf_counter() - t0:.1f} s (cells read from the cache where they were)")
    tiles = []
    for (name, t), wm in zip(picks, maps):
        x0, y0, x1, y1 = wm.box(name)
        print(f"  {name:<7} {t:5.0f} s  p {wm.prob(name):.2f}  peak cell {wm.peak(name)}  "
              f"box {x0:.2f}-{x1:.2f} x {y0:.2f}-{y1:.2f}")
        frame = cv2.resize(read_frame_at(args.video, t), (320, 180), interpolation=cv2.INTER_AREA)
        tiles.append(draw_where(frame, wm, [name])[..., ::-1])
    sheet = np.vstack([np.hstack(tiles[i:i + 4]) for i in range(0, len(tiles), 4)])
    cv2.imwrite(str(args.out), sheet)
    print(f"sheet: {args.out}")


if __name__ == "__main__":
    main()
