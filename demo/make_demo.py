"""Regenerate the bundled demo project from the film.

    python demo/make_demo.py [--film /work/shared/data/big_buck_bunny_720p.mp4] [--keep-clip]

Writes, next to this script:

* ``bbb_demo.mp4``   60 s of Big Buck Bunny (110 s to 170 s), 640x360, H.264 (x264 CRF 30, preset slow), no
                     sound, cut with PyAV (``core.media.cut_clip``: no ``ffmpeg`` program needed);
* ``labels.csv``     who is on screen, from ``benchmarks/bbb_truth.csv`` shifted by -110 s, every 3rd second only
                     (as a real user would label part of the seconds);
* ``features.npz`` + ``features.json``  the default network's features of every second (the app runs no
                     network for them);
* ``model/``         a classifier trained on those labels (characters with too few examples are left out).

The dashboard copies these into a fresh "Demo" project on its first start (see ``core/project.py``).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

FILM = Path("/work/shared/data/big_buck_bunny_720p.mp4")
START_S, LENGTH_S, LABEL_EVERY = 110, 60, 3
CHARACTERS = ("Bunny", "Frank", "Rinky", "Gimera", "Bird")


def make_clip(film: Path, out: Path) -> None:
    from core.media import cut_clip

    cut_clip(film, out, start_s=START_S, length_s=LENGTH_S, size=(640, 360), crf=30, preset="slow")


def write_labels(truth: Path, out: Path) -> None:
    with open(truth, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time_s", *CHARACTERS])
        for r in rows:
            t = int(float(r["time_s"])) - START_S
            if 0 <= t < LENGTH_S and t % LABEL_EVERY == 0:
                w.writerow([t, *[int(r[c]) for c in CHARACTERS]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--film", type=Path, default=FILM)
    ap.add_argument("--keep-clip", action="store_true",
                    help="keep the committed bbb_demo.mp4 and redo only the labels, features and model")
    args = ap.parse_args()
    import core
    from core.labels import trainable_labels

    clip = HERE / "bbb_demo.mp4"
    if not (args.keep_clip and clip.is_file()):
        make_clip(args.film, clip)
    write_labels(ROOT / "benchmarks" / "bbb_truth.csv", HERE / "labels.csv")
    with tempfile.TemporaryDirectory() as tmp:
        fs = core.extract_features(clip, 1.0, cache=core.FeatureCache(Path(tmp)), keep_thumbs=False,
                                   progress=lambda s, d, t: print(f"\r{s} {d}/{t}", end="", file=sys.stderr))
    print(file=sys.stderr)
    np.savez_compressed(HERE / "features.npz", times=fs.times, features=fs.features.astype(np.float32))
    (HERE / "features.json").write_text(json.dumps({
        "video": clip.name, "video_sha256": fs.video_sha256, "fps": str(fs.fps), "duration_s": fs.duration_s,
        "every": fs.every, "backbone": fs.backbone, "weights": fs.weights, "frames": len(fs)}, indent=1))
    labels = core.read_labels_csv(HERE / "labels.csv")
    usable, skipped = trainable_labels(labels)
    if (HERE / "model").exists():
        shutil.rmtree(HERE / "model")
    res = core.train_model([(fs, usable)], HERE / "model")
    print(f"clip {clip.stat().st_size / 1e6:.1f} MB, {len(fs)} moments, backbone {fs.backbone}; "
          f"model {res.classifier.kind_} on {res.n_labelled} labels; left out: {skipped or 'none'}")


if __name__ == "__main__":
    main()
