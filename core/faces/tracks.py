"""Tracks: one person's faces across neighbouring sampled moments of one shot.

A face at one sampled moment and a face at the next moment of the same shot are one person when their boxes
are near each other (the centre moved at most :data:`~.config.TRACK_MAX_SHIFT` face heights a step, the size
changed at most :data:`~.config.TRACK_MAX_SCALE` times) and their embeddings are close
(:data:`~.config.TRACK_LINK_DISTANCE`; :data:`~.config.TRACK_LINK_DISTANCE_STILL` when the boxes overlap, as a
face that did not move but turned or blurred). Pairs are linked closest first, each face at most once each
way. A track may skip one sampled moment where the detector missed the face (``bridged``), never more.

Shots come from each sampled frame's colour signature (:func:`frame_signature`): a new shot starts where two
neighbouring moments' histograms differ by more than :data:`~.config.SHOT_CUT`. A track never crosses one.

Grouping then works on tracks, not faces (:func:`pool`): a track's embedding is the mean of its faces'
weighted by their quality (:func:`quality`: face height and sharpness), so one sharp frame decides who a
blurred track is, and the number of things to group is the number of tracks. Its ``spread`` (the mean squared
distance of its faces from that mean) keeps grouping as strict as between faces: the root mean square distance
between the faces of two tracks is sqrt(|mean_a - mean_b|^2 + spread_a + spread_b), and that is what
:func:`~.cluster.cluster_tracks` compares with the threshold (a mean alone is closer to everyone than any
face is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import cv2
import numpy as np

from . import config
from .detect import iou

if TYPE_CHECKING:
    from .store import FaceSet

#: Hue and saturation bins of a frame's colour histogram (12 x 4 = 48 numbers), then a 16x9 grey thumbnail.
HUE_BINS, SAT_BINS = 12, 4
SIGNATURE_SIZE = HUE_BINS * SAT_BINS
THUMB = (16, 9)
SIGNATURE_LENGTH = SIGNATURE_SIZE + THUMB[0] * THUMB[1]


def frame_signature(frame: np.ndarray) -> np.ndarray:
    """A sampled frame's signature (192 float32): the joint hue (12 bins) x saturation (4 bins) histogram of
    a 64x36 copy, summing to 1, then its 16x9 grey thumbnail scaled to mean 0 and deviation 1. Two frames of
    one shot have nearby signatures; a cut changes them (:func:`signature_change`)."""
    small = cv2.resize(frame, (64, 36), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)  # hue 0-179, saturation 0-255
    hue = np.minimum(hsv[:, :, 0].astype(np.int64) * HUE_BINS // 180, HUE_BINS - 1)
    sat = hsv[:, :, 1].astype(np.int64) * SAT_BINS // 256
    hist = np.bincount((hue * SAT_BINS + sat).reshape(-1), minlength=SIGNATURE_SIZE).astype(np.float32)
    grey = cv2.cvtColor(cv2.resize(small, THUMB, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    g = grey.astype(np.float32).reshape(-1)
    g = (g - g.mean()) / (g.std() + 1e-6)
    return np.concatenate([hist / float(small.shape[0] * small.shape[1]), g]).astype(np.float32)


def signature_change(a: np.ndarray, b: np.ndarray) -> float:
    """How much two sampled frames differ (0 same, about 1.25 nothing in common): half the L1 distance of
    their colour histograms, plus a quarter of one minus the correlation of their 16x9 grey thumbnails."""
    hist = float(np.abs(a[:SIGNATURE_SIZE] - b[:SIGNATURE_SIZE]).sum()) / 2.0
    ga, gb = a[SIGNATURE_SIZE:].astype(np.float64), b[SIGNATURE_SIZE:].astype(np.float64)
    corr = float(np.mean(ga * gb)) if len(ga) else 1.0
    return hist + 0.25 * (1.0 - corr)


def is_cut(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether a new shot starts between two neighbouring sampled moments of these signatures."""
    return signature_change(a, b) > config.SHOT_CUT


def shot_ids(signatures: Optional[np.ndarray], n: int) -> np.ndarray:
    """The shot of each of ``n`` sampled moments (0, 1, ...): a new shot where :func:`signature_change`
    exceeds :data:`~.config.SHOT_CUT`. Without signatures every moment is one shot."""
    if signatures is None or len(signatures) != n or n == 0:
        return np.zeros(n, np.int64)
    s = np.asarray(signatures, np.float64)
    cut = np.asarray([is_cut(s[k], s[k + 1]) for k in range(n - 1)], np.int64)
    return np.concatenate([[0], np.cumsum(cut)]).astype(np.int64)


def quality(faces: FaceSet, idx: np.ndarray | list[int] | None = None) -> np.ndarray:
    """How clear each face is: box height (capped at the 150-px chip) over 150, times chip sharpness."""
    i = np.arange(len(faces)) if idx is None else np.asarray(idx, np.int64)
    return face_quality(faces.boxes[i, 3] - faces.boxes[i, 1], faces.sharpness[i])


def face_quality(heights: np.ndarray, sharpness: np.ndarray) -> np.ndarray:
    """:func:`quality` from the faces' box heights (pixels) and chip sharpness."""
    h = np.asarray(heights, np.float64)
    return np.minimum(h, config.CHIP_SIZE) / config.CHIP_SIZE * np.asarray(sharpness, np.float64)


@dataclass(frozen=True)
class Tracks:
    """The track of every face of a FaceSet (``track[i]``, 0..n-1 in order of first face) and the sampled
    moments a track bridges (``bridged``: (track, moment) pairs where the detector missed its face)."""

    track: np.ndarray
    bridged: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.track.ndim != 1:
            raise ValueError(f"track must be 1-D, got {self.track.shape}")
        n = self.n
        if self.track.size and (self.track.min() < 0 or len(np.unique(self.track)) != n):
            raise ValueError("track ids must be 0..n-1")
        if any(not 0 <= t < n for t, _ in self.bridged):
            raise ValueError("a bridged moment must belong to a track")

    @property
    def n(self) -> int:
        return int(self.track.max()) + 1 if self.track.size else 0

    def faces_of(self, t: int) -> np.ndarray:
        return np.flatnonzero(self.track == t)


def near(a: np.ndarray | tuple[int, int, int, int], b: np.ndarray | tuple[int, int, int, int], steps: int,
         max_shift: float = config.TRACK_MAX_SHIFT) -> bool:
    """Whether box ``b`` may be the face of box ``a`` ``steps`` sampled moments later: the centre moved at most
    ``max_shift`` face heights a step and the height changed at most :data:`~.config.TRACK_MAX_SCALE` times."""
    ha, hb = float(a[3] - a[1]), float(b[3] - b[1])
    if max(ha, hb) > config.TRACK_MAX_SCALE * min(ha, hb):
        return False
    shift = np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2)
    return bool(shift <= max_shift * max(ha, hb) * steps)


def _linkable(faces: FaceSet, a: int, b: int, steps: int) -> Optional[float]:
    """The cost of linking face ``a`` to the later face ``b`` ``steps`` sampled moments on, or None."""
    ba, bb = faces.boxes[a].astype(np.float64), faces.boxes[b].astype(np.float64)
    if not near(ba, bb, steps):
        return None
    d = float(np.linalg.norm(faces.embeddings[a].astype(np.float64) - faces.embeddings[b]))
    both_sharp = min(faces.sharpness[a], faces.sharpness[b]) >= config.BLUR_SHARPNESS
    still = both_sharp and iou(ba, bb) >= config.NMS_IOU
    limit = config.TRACK_LINK_DISTANCE_STILL if still else config.TRACK_LINK_DISTANCE
    if d >= limit:
        return None
    return d + 0.1 * (steps - 1)  # a direct neighbour first


def link_tracks(faces: FaceSet) -> Tracks:
    """Link the faces of ``faces`` into tracks (see the module's docstring)."""
    n_faces, n = len(faces), len(faces.times)
    track = np.full(n_faces, -1, np.int64)
    if n_faces == 0:
        return Tracks(track)
    shots = shot_ids(faces.signatures, n)
    by_sample: dict[int, list[int]] = {}
    for i, s in enumerate(faces.face_sample.tolist()):
        by_sample.setdefault(int(s), []).append(i)
    last: dict[int, int] = {}  # open track -> its latest face
    bridged: list[tuple[int, int]] = []
    nxt = 0
    for k in sorted(by_sample):
        cur = by_sample[k]
        pairs = []
        for t, a in list(last.items()):
            s = int(faces.face_sample[a])
            steps = k - s
            if steps > config.TRACK_MAX_STEPS or shots[s] != shots[k]:
                del last[t]  # it ended
                continue
            for b in cur:
                cost = _linkable(faces, a, b, steps)
                if cost is not None:
                    pairs.append((cost, t, b))
        linked_t: set[int] = set()
        for _, t, b in sorted(pairs):
            if t in linked_t or track[b] >= 0:
                continue
            track[b] = t
            linked_t.add(t)
            bridged.extend((t, m) for m in range(int(faces.face_sample[last[t]]) + 1, k))
            last[t] = b
        for b in cur:
            if track[b] < 0:
                track[b] = nxt
                last[nxt] = b
                nxt += 1
    return Tracks(track, tuple(bridged))


@dataclass(frozen=True)
class PooledTracks:
    """Per track: the quality-weighted mean embedding (T, 128), the weighted mean squared distance of its
    faces from that mean (``spread``), whether any of its faces is sharp, and the sampled moments of its faces
    (a track is at most once per moment)."""

    embeddings: np.ndarray
    spread: np.ndarray
    sharp: np.ndarray
    samples: tuple[np.ndarray, ...]


def pool(faces: FaceSet, tracks: Tracks) -> PooledTracks:
    """Each track's embedding: its faces' embeddings weighted by :func:`quality` (a floor keeps a track of
    blurred faces a plain mean). A face that was not embedded (it carries the embedding of the face it
    followed, :mod:`.select`) weighs next to nothing, so the mean and spread are those of the embedded faces."""
    from .cluster import is_sharp

    t_n = tracks.n
    w = np.maximum(quality(faces), 1e-3) * np.where(faces.embedded_mask, 1.0, 1e-6)
    emb = faces.embeddings.astype(np.float64)
    sums = np.zeros((t_n, emb.shape[1]), np.float64)
    np.add.at(sums, tracks.track, emb * w[:, None])
    weight = np.bincount(tracks.track, weights=w, minlength=t_n)
    mean = sums / weight[:, None]
    dev = np.sum((emb - mean[tracks.track]) ** 2, axis=1)
    spread = np.bincount(tracks.track, weights=w * dev, minlength=t_n) / weight
    sharp = np.bincount(tracks.track, weights=is_sharp(faces.sharpness).astype(np.float64), minlength=t_n) > 0
    order = np.argsort(tracks.track, kind="stable")
    bounds = np.searchsorted(tracks.track[order], np.arange(t_n + 1))
    samples = tuple(faces.face_sample[order[bounds[t]:bounds[t + 1]]] for t in range(t_n))
    return PooledTracks(mean, spread, sharp, samples)
