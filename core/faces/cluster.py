"""Grouping faces into people: agglomerative clustering of the embeddings, one person at most once a frame.

Average linkage on Euclidean distances with a distance threshold (:data:`~.config.CLUSTER_THRESHOLD`, chosen
by measurement in docs/faces.md): two groups join while the mean distance between their faces stays under it.
Faces of the same sampled moment are different people, so their distance is set far above any threshold
before clustering, and a final pass (:func:`enforce_cannot_link`) guarantees it whatever the linkage did.
Blurred faces (chip sharpness under :data:`~.config.BLUR_SHARPNESS`) are close to everyone, so they are kept
as far from sharp faces: a blurred face may group with other blurred faces, never with a sharp one (every
pair between the two groups is far apart, so their average is too).
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from . import config
from .errors import FaceError

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
    if labels.size == 0:
        return labels.astype(np.int64)
    groups = np.unique(labels)
    key = sorted(groups, key=lambda g: (-int(np.sum(labels == g)), int(frames[labels == g].min()),
                                        int(np.flatnonzero(labels == g)[0])))
    mapping = {int(g): k for k, g in enumerate(key)}
    return np.asarray([mapping[int(g)] for g in labels], np.int64)


def is_sharp(sharpness: np.ndarray) -> np.ndarray:
    """Which faces are sharp enough to be grouped with, and matched to, other sharp faces."""
    return np.asarray(sharpness, np.float64) >= config.BLUR_SHARPNESS


def cluster_faces(embeddings: np.ndarray, frames: np.ndarray,
                  threshold: float = config.CLUSTER_THRESHOLD, sharp: np.ndarray | None = None) -> np.ndarray:
    """Group label of each face (0 = largest group). ``frames`` is each face's sampled moment; faces that
    share one never share a group. ``sharp`` (bool per face, optional): a sharp and a blurred face never
    share a group."""
    emb = np.asarray(embeddings, np.float64)
    frames = np.asarray(frames)
    n = emb.shape[0]
    if frames.shape != (n,):
        raise ValueError(f"frames must be ({n},), got {frames.shape}")
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    if n > config.MAX_FACES:
        raise FaceError(f"{n} faces are too many to group at once (at most {config.MAX_FACES}): "
                        "sample less often with a larger --every.")
    if n == 0:
        return np.zeros(0, np.int64)
    if n == 1:
        return np.zeros(1, np.int64)
    d = pairwise(emb)
    d[frames[:, None] == frames[None, :]] = APART
    if sharp is not None:
        sharp = np.asarray(sharp, bool)
        if sharp.shape != (n,):
            raise ValueError(f"sharp must be ({n},), got {sharp.shape}")
        d[sharp[:, None] != sharp[None, :]] = APART
    np.fill_diagonal(d, 0.0)
    model = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                    distance_threshold=threshold)
    labels = model.fit_predict(d)
    labels = enforce_cannot_link(labels, frames, emb)
    return relabel_by_size(labels, frames)
