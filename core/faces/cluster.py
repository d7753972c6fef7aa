"""Grouping faces (or tracks of faces) into people: agglomerative clustering of the embeddings, one person at
most once a frame.

Average linkage on Euclidean distances with a distance threshold (:data:`~.config.CLUSTER_THRESHOLD`, chosen
by measurement in docs/faces.md): two groups join while the mean distance between their faces stays under it.
Faces of the same sampled moment are different people, so their distance is set far above any threshold
before clustering, and a final pass (:func:`enforce_cannot_link`) guarantees it whatever the linkage did.
Blurred faces (chip sharpness under :data:`~.config.BLUR_SHARPNESS`) are close to everyone, so a track with no
sharp face joins no other track: it is a person of its own (counted when it was followed over two moments or
more, "unsure" when seen once), and the user may merge it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from . import config
from .errors import FaceError

if TYPE_CHECKING:
    from .store import FaceSet
    from .tracks import Tracks

#: Distance given to two faces of one frame: far above any real distance (embeddings are < 2 apart).
APART = 1e4


def pairwise(embeddings: np.ndarray) -> np.ndarray:
    """Euclidean distances between all rows, (F, F) float64."""
    x = np.asarray(embeddings, np.float64)
    sq = np.sum(x * x, axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    np.maximum(d2, 0.0, out=d2)
    d = np.sqrt(d2)
    np.fill_diagonal(d, 0.0)
    return d


def enforce_cannot_link(labels: np.ndarray, frames: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """Split any group holding two faces of one frame: the face nearest the group's centre stays, the others
    each start a group of their own. Returns new labels (the input is not changed)."""
    labels = np.asarray(labels).copy()
    nxt = int(labels.max()) + 1 if labels.size else 0
    for g in np.unique(labels):
        idx = np.flatnonzero(labels == g)
        if len(np.unique(frames[idx])) == len(idx):
            continue
        centre = embeddings[idx].mean(axis=0)
        dist = np.linalg.norm(embeddings[idx] - centre, axis=1)
        seen: set[int] = set()
        for i in idx[np.argsort(dist, kind="stable")]:
            if int(frames[i]) in seen:
                labels[i] = nxt
                nxt += 1
            else:
                seen.add(int(frames[i]))
    return labels


def relabel_by_size(labels: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Labels 0, 1, 2, ... by group size, largest first; ties by first appearance (stable, deterministic)."""
    labels, frames = np.asarray(labels), np.asarray(frames)
    if labels.size == 0:
        return labels.astype(np.int64)
    groups, inv, counts = np.unique(labels, return_inverse=True, return_counts=True)
    first_frame = np.full(len(groups), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first_frame, inv, frames.astype(np.int64))
    first_index = np.full(len(groups), labels.size, np.int64)
    np.minimum.at(first_index, inv, np.arange(labels.size))
    order = np.lexsort((first_index, first_frame, -counts))
    rank = np.empty(len(groups), np.int64)
    rank[order] = np.arange(len(groups))
    return rank[inv]


def is_sharp(sharpness: np.ndarray) -> np.ndarray:
    """Which faces are sharp enough to be grouped with, and matched to, other sharp faces."""
    return np.asarray(sharpness, np.float64) >= config.BLUR_SHARPNESS


def cluster_faces(embeddings: np.ndarray, frames: np.ndarray,
                  threshold: float = config.CLUSTER_THRESHOLD, sharp: np.ndarray | None = None) -> np.ndarray:
    """Group label of each face (0 = largest group). ``frames`` is each face's sampled moment; faces that
    share one never share a group. ``sharp`` (bool per face, optional): a blurred face joins no other."""
    emb = np.asarray(embeddings, np.float64)
    frames = np.asarray(frames)
    n = emb.shape[0]
    if frames.shape != (n,):
        raise ValueError(f"frames must be ({n},), got {frames.shape}")
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    if n > config.MAX_FACES:
        raise FaceError(f"{n} faces are too many to group (at most {config.MAX_FACES}): "
                        "sample less often with a larger --every.")
    if n == 0:
        return np.zeros(0, np.int64)
    if sharp is not None:
        sharp = np.asarray(sharp, bool)
        if sharp.shape != (n,):
            raise ValueError(f"sharp must be ({n},), got {sharp.shape}")
    else:
        sharp = np.ones(n, bool)
    labels = cluster_tracks(emb, [frames[i:i + 1] for i in range(n)], sharp, None, threshold)
    return relabel_by_size(labels, frames)


def _overlap(samples: list[np.ndarray] | tuple[np.ndarray, ...]) -> np.ndarray:
    """(T, T) bool: which tracks share a sampled moment (never one person)."""
    t = len(samples)
    if t == 0:
        return np.zeros((0, 0), bool)
    rows = np.concatenate([np.full(len(s), i) for i, s in enumerate(samples)])
    moments, cols = np.unique(np.concatenate([np.asarray(s, np.int64) for s in samples]), return_inverse=True)
    m = np.zeros((t, len(moments)), np.float32)
    m[rows, cols] = 1.0
    return np.asarray((m @ m.T) > 0)


def _split_overlaps(labels: np.ndarray, emb: np.ndarray, samples: list[np.ndarray] | tuple[np.ndarray, ...]
                    ) -> np.ndarray:
    """Split any group whose tracks share a moment: tracks nearest the group's centre stay."""
    labels = labels.copy()
    nxt = int(labels.max()) + 1 if labels.size else 0
    for g in np.unique(labels):
        idx = np.flatnonzero(labels == g)
        if len(idx) < 2:
            continue
        centre = emb[idx].mean(axis=0)
        taken: set[int] = set()
        for i in idx[np.argsort(np.linalg.norm(emb[idx] - centre, axis=1), kind="stable")]:
            mine = {int(x) for x in samples[i]}
            if taken & mine:
                labels[i] = nxt
                nxt += 1
            else:
                taken |= mine
    return labels


def _average_linkage(emb: np.ndarray, spread: np.ndarray, samples: list[np.ndarray] | tuple[np.ndarray, ...],
                     sharp: np.ndarray, threshold: float) -> np.ndarray:
    n = len(emb)
    if n < 2:
        return np.zeros(n, np.int64)
    d = np.sqrt(pairwise(emb) ** 2 + spread[:, None] + spread[None, :])
    d[_overlap(samples)] = APART
    d[~sharp[:, None] | ~sharp[None, :]] = APART  # a blurred track is close to anyone: it joins nobody
    np.fill_diagonal(d, 0.0)
    model = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                    distance_threshold=threshold)
    labels = np.asarray(model.fit_predict(d), np.int64)
    return _split_overlaps(labels, emb, samples)


def cluster_tracks(embeddings: np.ndarray, samples: list[np.ndarray] | tuple[np.ndarray, ...], sharp: np.ndarray,
                   weights: np.ndarray | None = None, threshold: float = config.CLUSTER_THRESHOLD,
                   block: int = config.CLUSTER_BLOCK, spread: np.ndarray | None = None) -> np.ndarray:
    """Group label of each track (arbitrary ids; :func:`relabel_by_size` orders them). ``embeddings`` (T, 128)
    are the tracks' pooled embeddings and ``spread`` their faces' mean squared distance from them (the distance
    of two tracks is the root mean square distance of their faces, :mod:`.tracks`; 0 for single faces),
    ``samples[t]`` their moments (tracks sharing one never share a group),
    ``sharp[t]`` whether a track has a sharp face (a track without one joins no other), ``weights``
    how much each track counts in a block's mean (its number of faces).

    Up to ``block`` tracks: one average-linkage pass. More: average linkage within blocks of ``block``
    consecutive tracks, then the blocks' groups (their weighted mean embeddings and spreads, their moments) are
    grouped again the same way, until one pass holds them all; memory is bounded by ``block`` squared and time grows
    linearly with the number of blocks (docs/benchmarks-faces.md).
    """
    emb = np.asarray(embeddings, np.float64)
    t = emb.shape[0]
    sharp = np.asarray(sharp, bool)
    if sharp.shape != (t,) or len(samples) != t:
        raise ValueError(f"samples and sharp need one entry per track ({t})")
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    if block < 2:
        raise ValueError(f"block must be at least 2, got {block}")
    w = np.ones(t) if weights is None else np.asarray(weights, np.float64)
    v = np.zeros(t) if spread is None else np.asarray(spread, np.float64)
    if t <= block:
        return _average_linkage(emb, v, samples, sharp, threshold)
    labels = np.zeros(t, np.int64)
    reps_e: list[np.ndarray] = []
    reps_s: list[np.ndarray] = []
    reps_v: list[float] = []
    reps_sh: list[bool] = []
    reps_w: list[float] = []
    for start in range(0, t, block):
        sl = slice(start, min(start + block, t))
        local = _average_linkage(emb[sl], v[sl], samples[sl], sharp[sl], threshold)
        for g in np.unique(local):
            members = np.flatnonzero(local == g) + start
            labels[members] = len(reps_e)
            centre = np.average(emb[members], axis=0, weights=w[members])
            reps_e.append(centre)
            reps_v.append(float(np.average(v[members] + np.sum((emb[members] - centre) ** 2, axis=1),
                                           weights=w[members])))
            reps_s.append(np.unique(np.concatenate([samples[i] for i in members])))
            reps_sh.append(bool(sharp[members[0]]))
            reps_w.append(float(w[members].sum()))
    if len(reps_e) == t:  # nothing joined inside any block: one more level cannot shrink either
        return labels
    top = cluster_tracks(np.asarray(reps_e), reps_s, np.asarray(reps_sh), np.asarray(reps_w), threshold, block,
                         np.asarray(reps_v))
    return top[labels]


def group_faces(faces: FaceSet, threshold: float = config.CLUSTER_THRESHOLD, tracks: Optional[Tracks] = None
                ) -> np.ndarray:
    """The group of every face of ``faces`` (0 = most faces): faces are linked into tracks
    (:func:`~.tracks.link_tracks`), tracks are grouped by their pooled embeddings (:func:`cluster_tracks`),
    and every face gets its track's group."""
    from .tracks import link_tracks, pool

    if len(faces) > config.MAX_FACES:
        raise FaceError(f"{len(faces)} faces are too many to group (at most {config.MAX_FACES}): "
                        "sample less often with a larger --every.")
    if len(faces) == 0:
        return np.zeros(0, np.int64)
    tracks = tracks if tracks is not None else link_tracks(faces)
    pooled = pool(faces, tracks)
    per_track = cluster_tracks(pooled.embeddings, pooled.samples, pooled.sharp,
                               np.bincount(tracks.track, minlength=tracks.n), threshold, spread=pooled.spread)
    return relabel_by_size(per_track[tracks.track], faces.face_sample)
