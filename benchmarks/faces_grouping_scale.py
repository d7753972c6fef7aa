"""How grouping grows with the number of faces: linking into tracks, then grouping the tracks.

A synthetic film: ``people`` people (128-d embeddings ~1.4 apart, each face 0.2-0.4 from its person's centre,
as dlib's are), shots of 2-8 sampled moments with 1-5 people each at fixed places, one face in ten missed by
the detector. For each number of faces, in a fresh process (so peak memory is that size's own): time of
:func:`core.faces.tracks.link_tracks`, of :func:`core.faces.cluster.group_faces` (tracks, pooling, grouping)
and the peak resident memory, and the pair precision/recall of the groups against the true people.

    python benchmarks/faces_grouping_scale.py                 # 2 000 ... 40 000 faces
    python benchmarks/faces_grouping_scale.py --faces 5000,20000 --people 60
    python benchmarks/faces_grouping_scale.py --subset        # only the faces core/faces/select.py embeds

With ``--subset`` the faces go through :class:`core.faces.select.EmbedPlan` as the pipeline's would (each person
has a look of their own for the chip cue, every face a little noise on it): the faces it does not embed carry
the embedding of the face they follow, and the groups are compared with the truth the same way.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def film(n_faces: int, people: int, seed: int = 1):  # type: ignore[no-untyped-def]
    from core.faces.store import FaceSet

    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 0.06, (people, 128))  # ~0.96 apart; faces ~0.4 from each other, as dlib's
    popularity = 1.0 / np.arange(1, people + 1)  # a few leads, many extras
    popularity /= popularity.sum()
    rows: list[tuple[int, tuple[int, int, int, int], np.ndarray, float, int]] = []
    shot_bin: list[int] = []
    while len(rows) < n_faces:
        k, length = len(shot_bin), int(rng.integers(2, 9))
        shot_bin += [int(rng.integers(0, 16))] * length
        cast = rng.choice(people, size=int(rng.integers(1, 6)), replace=False, p=popularity)
        for slot, who in enumerate(cast):
            x = 20 + 120 * slot
            for m in range(length):
                if rng.random() < 0.1:
                    continue  # the detector missed this one
                emb = centres[who] + rng.normal(0, 0.025, 128)
                rows.append((k + m, (x, 40, x + 100, 160), emb, float(rng.uniform(5, 200)), int(who)))
    rows = sorted(rows[:n_faces], key=lambda r: r[0])
    n = len(shot_bin)
    sig = np.zeros((n, 48 + 144), np.float32)
    sig[:, 48:] = 1.0
    sig[np.arange(n), shot_bin] = 1.0  # a shot's moments share a signature; a cut changes it (mostly)
    faces = FaceSet(video=Path("film.mp4"), video_sha256="0" * 64, fps=Fraction(25), duration_s=float(n),
                    every=1.0, detector="synthetic", model="synthetic", times=np.arange(n, dtype=np.float64),
                    face_sample=np.asarray([r[0] for r in rows]), boxes=np.asarray([r[1] for r in rows], np.int32),
                    scores=np.ones(len(rows)), embeddings=np.asarray([r[2] for r in rows], np.float32),
                    sharpness=np.asarray([r[3] for r in rows]), signatures=sig)
    return faces, np.asarray([r[4] for r in rows])


def embed_subset(faces, truth: np.ndarray, seed: int = 1):  # type: ignore[no-untyped-def]
    """``faces`` as if only the faces :class:`~core.faces.select.EmbedPlan` picks had been embedded."""
    from dataclasses import replace

    from core.faces.select import CUE_SIZE, EmbedPlan

    rng = np.random.default_rng(seed + 1)
    looks = rng.normal(0, 1, (int(truth.max()) + 1, CUE_SIZE * CUE_SIZE))
    cues = looks[truth] + rng.normal(0, 0.3, (len(truth), CUE_SIZE * CUE_SIZE))
    cues = ((cues - cues.mean(axis=1, keepdims=True)) / cues.std(axis=1, keepdims=True)).astype(np.float32)
    plan = EmbedPlan()
    bounds = np.searchsorted(faces.face_sample, np.arange(len(faces.times) + 1))
    for k in range(len(faces.times)):
        idx = np.arange(bounds[k], bounds[k + 1])
        plan.add(k, faces.signatures[k], [tuple(int(x) for x in faces.boxes[i]) for i in idx], faces.sharpness[idx],
                 cues[idx])
    anchors = np.asarray(plan.anchors, np.int64)
    return replace(faces, embeddings=faces.embeddings[anchors], embedded=anchors == np.arange(len(anchors)))


def one(n_faces: int, people: int, subset: bool = False) -> dict[str, float]:
    from core.faces.cluster import group_faces
    from core.faces.tracks import link_tracks

    faces, truth = film(n_faces, people)
    if subset:
        faces = embed_subset(faces, truth)
    start = time.perf_counter()
    tracks = link_tracks(faces)
    t_link = time.perf_counter() - start
    start = time.perf_counter()
    labels = group_faces(faces, tracks=tracks)
    t_group = time.perf_counter() - start
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(labels), 200_000), rng.integers(0, len(labels), 200_000)
    same_true, same_pred = truth[a] == truth[b], labels[a] == labels[b]
    return {"faces": n_faces, "embedded": int(faces.embedded_mask.sum()), "tracks": tracks.n,
            "groups": int(labels.max()) + 1, "link_s": round(t_link, 2),
            "group_s": round(t_group, 2), "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "pair_precision": round(float((same_true & same_pred).sum() / max(same_pred.sum(), 1)), 3),
            "pair_recall": round(float((same_true & same_pred).sum() / max(same_true.sum(), 1)), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faces", default="2000,5000,10000,20000,40000")
    ap.add_argument("--people", type=int, default=80)
    ap.add_argument("--subset", action="store_true", help="embed only the faces core/faces/select.py picks")
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one is not None:
        print(json.dumps(one(a.one, a.people, a.subset)))
        return
    print("| faces | faces embedded | tracks | groups (true people seen) | linking s | grouping s | peak memory MB "
          "| pair precision | pair recall |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in (int(x) for x in a.faces.split(",")):
        cmd = [sys.executable, __file__, "--one", str(n), "--people", str(a.people)] + ["--subset"] * a.subset
        out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"| {r['faces']} | {r['embedded']} | {r['tracks']} | {r['groups']} | {r['link_s']} | {r['group_s']} | "
              f"{r['peak_mb']} | "
              f"{r['pair_precision']} | {r['pair_recall']} |", flush=True)


if __name__ == "__main__":
    main()
