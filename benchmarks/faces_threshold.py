"""Choosing the face grouping threshold by measurement on the Hamilton clip (tests/data).

Each face found in the clip is given its true identity from the shot it is in (the clip has four shots,
cut at 0.67 s, 2.74 s and 7.04 s, looked at frame by frame) and, in the static audience shot, from where
it sits in the frame. Then, for a range of thresholds, the faces are grouped and compared with the truth
pair by pair (precision: pairs grouped together that are one person; recall: pairs of one person grouped
together), with the pipeline's rule that blurred and sharp faces never share a group. Also prints the
distances between faces of one person and of different people.

    SCREENTIME_CACHE=/tmp/st-cache python benchmarks/faces_threshold.py --every 0.25 --detector cnn
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from core.faces.cluster import cluster_faces, is_sharp, pairwise
from core.faces.detect import DetectorSettings
from core.faces.store import compute_faces

CLIP = Path(__file__).resolve().parents[1] / "tests" / "data" / "short_hamilton_clip.mp4"


def identities(times: np.ndarray, boxes: np.ndarray) -> list[str]:
    """The true person of each face, from its shot and (audience shot) its place in the frame."""
    out: list[str] = []
    audience: list[tuple[str, float, float]] = []
    for t, (left, tp, r, b) in zip(times, boxes):
        cx, cy = (left + r) / 2, (tp + b) / 2
        if t < 0.667:
            out.append("Lin" if cx > 320 else "Alex")
        elif t < 2.736:
            out.append("Alex")
        elif t < 7.04:
            out.append("Lin")
        else:
            for k, (name, x, y) in enumerate(audience):
                if abs(cx - x) < 40 and abs(cy - y) < 40:
                    audience[k] = (name, cx, cy)
                    out.append(name)
                    break
            else:
                name = f"audience{len(audience) + 1}"
                audience.append((name, cx, cy))
                out.append(name)
    return out


def pair_scores(labels: np.ndarray, truth: list[str]) -> tuple[float, float, int]:
    n = len(truth)
    tp = fp = fn = 0
    for i in range(n):
        for j in range(i + 1, n):
            same_t, same_p = truth[i] == truth[j], labels[i] == labels[j]
            tp += same_t and same_p
            fp += same_p and not same_t
            fn += same_t and not same_p
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    return prec, rec, len(set(labels.tolist()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", type=Path, default=CLIP)
    ap.add_argument("--every", type=float, default=0.25)
    ap.add_argument("--detector", default="cnn", choices=("hog+cnn", "hog", "cnn"))
    a = ap.parse_args()
    faces = compute_faces(a.video, a.every, DetectorSettings(a.detector))
    truth = identities(faces.face_times, faces.boxes)
    print(f"{len(faces)} faces in {len(faces.times)} frames, {len(set(truth))} true people: "
          + ", ".join(f"{p} {truth.count(p)}" for p in sorted(set(truth))))
    d = pairwise(faces.embeddings)
    iu = np.triu_indices(len(faces), 1)
    same = np.array([truth[i] == truth[j] for i, j in zip(*iu)])
    other_frame = faces.face_sample[iu[0]] != faces.face_sample[iu[1]]
    sharp = np.minimum(faces.sharpness[iu[0]], faces.sharpness[iu[1]])
    for label, mask in (("all faces", np.ones_like(same)), ("both faces sharp (Laplacian var >= 20)", sharp >= 20)):
        s, o = d[iu][same & mask], d[iu][~same & mask & other_frame]
        if len(s) and len(o):
            print(f"{label}: same person {len(s)} pairs, distance median {np.median(s):.2f}, max {s.max():.2f}; "
                  f"different people {len(o)} pairs, min {o.min():.2f}, median {np.median(o):.2f}")
    print(f"\n| threshold | pair precision | pair recall | groups (true: {len(set(truth))}) |")
    print("| --- | --- | --- | --- |")
    for th in (0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65):
        labels = cluster_faces(faces.embeddings, faces.face_sample, th, is_sharp(faces.sharpness))
        p, r, g = pair_scores(labels, truth)
        print(f"| {th:.2f} | {p:.3f} | {r:.3f} | {g} |")


if __name__ == "__main__":
    main()
