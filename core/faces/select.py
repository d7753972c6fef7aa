"""Which faces to embed: the few a track needs, not every face (dlib's ResNet is most of the time of a run).

Faces are followed while the video is read, from cheap evidence only: a face *follows* the face of the
previous sampled moment (or the one before: a missed moment) in the same shot when their boxes overlap by at
least :data:`~.config.EMBED_FOLLOW_IOU`, no other face of either moment comes near either box
(:data:`~.config.EMBED_CROWD_IOU`: two faces close together are never taken on trust) and their chips look
alike (:func:`chip_cue`, a 16x16 grey thumbnail of the aligned chip, correlation at least
:data:`~.config.EMBED_CUE_MIN`). Such a chain of faces is embedded at its first face, at its first sharp face
(a track's identity comes from its sharp faces), again when a face is clearly better
(:data:`~.config.EMBED_BETTER` times the quality of the best embedded one, up to
:data:`~.config.EMBED_PER_TRACK` embeddings) and every :data:`~.config.EMBED_RECHECK` sampled moments at the
latest, so a long chain is checked with embeddings too. Every other face is embedded.

A face that is not embedded takes the embedding of the last embedded face of its chain (its *anchor*), so the
tracks (:func:`~.tracks.link_tracks`, which still decides who links with whom) and the grouping see the same
person there; :func:`~.tracks.pool` gives such faces next to no weight, and screen time counts every face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import config
from .detect import iou
from .tracks import face_quality, is_cut

CUE_SIZE = 16


def chip_cue(chips: np.ndarray) -> np.ndarray:
    """A cheap appearance cue of aligned chips (n, S, S, 3): the middle of the chip (the face, without the
    padding) as a 16x16 grey thumbnail scaled to mean 0 and deviation 1, (n, 256) float32."""
    out = np.zeros((len(chips), CUE_SIZE * CUE_SIZE), np.float32)
    for k, chip in enumerate(chips):
        s = chip.shape[0]
        m = s // 6
        grey = cv2.cvtColor(np.ascontiguousarray(chip[m:s - m, m:s - m]), cv2.COLOR_RGB2GRAY)
        g = cv2.resize(grey, (CUE_SIZE, CUE_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32).reshape(-1)
        out[k] = (g - g.mean()) / (g.std() + 1e-6)
    return out


def cue_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two :func:`chip_cue` rows (1 the same picture, about 0 unrelated)."""
    return float(np.mean(a * b))


@dataclass
class _Chain:
    last: int          # its latest face
    sample: int        # that face's sampled moment
    box: tuple[int, int, int, int]
    cue: np.ndarray
    sharp: bool        # whether one of its embedded faces is sharp
    anchor: int        # its latest embedded face
    embedded: int      # how many of its faces were embedded
    best: float        # the best quality among them
    since: int         # the sampled moment of its latest embedding


class EmbedPlan:
    """Decides, moment by moment, which faces to embed (:meth:`add`), and which embedded face each of the
    others follows (:attr:`anchors`). Faces are numbered in the order they are added."""

    def __init__(self) -> None:
        self._chains: list[_Chain] = []
        self._prev_sig: np.ndarray | None = None
        self._prev_sample = -1
        self.anchors: list[int] = []

    def add(self, sample: int, signature: np.ndarray | None, boxes: list[tuple[int, int, int, int]],
            sharpness: np.ndarray, cues: np.ndarray) -> np.ndarray:
        """The faces of sampled moment ``sample`` (increasing; boxes in pixels, their chip sharpness and
        :func:`chip_cue`): which of them to embed (bool per face)."""
        cut = (self._prev_sig is None or signature is None or is_cut(self._prev_sig, signature)
               or sample - self._prev_sample > config.TRACK_MAX_STEPS)
        self._prev_sig, self._prev_sample = signature, sample
        if cut:
            self._chains = []
        self._chains = [c for c in self._chains if sample - c.sample <= config.TRACK_MAX_STEPS]
        n = len(boxes)
        sharp = np.asarray(sharpness, np.float64) >= config.BLUR_SHARPNESS
        q = face_quality(np.asarray([b[3] - b[1] for b in boxes], np.float64), sharpness)
        overlap = np.zeros((len(self._chains), n))  # chain's last face x face
        for i, c in enumerate(self._chains):
            overlap[i] = [iou(c.box, b) for b in boxes]
        own = np.zeros((n, n))
        for i in range(n):
            own[i] = [iou(boxes[i], b) if i != j else 0.0 for j, b in enumerate(boxes)]
        first = len(self.anchors)
        embed = np.ones(n, bool)
        chains: list[_Chain] = []
        taken: set[int] = set()
        for j in range(n):
            face = first + j
            c_idx = self._follows(j, overlap, own, cues[j])
            chain = self._chains[c_idx] if c_idx is not None and c_idx not in taken else None
            if chain is not None:
                taken.add(int(c_idx))  # type: ignore[arg-type]
                better = chain.embedded < config.EMBED_PER_TRACK and q[j] > config.EMBED_BETTER * chain.best
                first_sharp = bool(sharp[j]) and not chain.sharp
                embed[j] = better or first_sharp or sample - chain.since >= config.EMBED_RECHECK
            if embed[j]:
                self.anchors.append(face)
                if chain is None:
                    chain = _Chain(face, sample, boxes[j], cues[j], bool(sharp[j]), face, 1, float(q[j]), sample)
                else:
                    chain.anchor, chain.embedded, chain.since = face, chain.embedded + 1, sample
                    chain.best, chain.sharp = max(chain.best, float(q[j])), chain.sharp or bool(sharp[j])
            else:
                assert chain is not None
                self.anchors.append(chain.anchor)
            chain.last, chain.sample, chain.box, chain.cue = face, sample, boxes[j], cues[j]
            chains.append(chain)
        kept = [c for i, c in enumerate(self._chains) if i not in taken]
        self._chains = kept + chains
        return embed

    def _follows(self, j: int, overlap: np.ndarray, own: np.ndarray, cue: np.ndarray) -> int | None:
        """The chain face ``j`` follows on cheap evidence alone, or None (then it is embedded)."""
        if overlap.shape[0] == 0:
            return None
        i = int(np.argmax(overlap[:, j]))
        if overlap[i, j] < config.EMBED_FOLLOW_IOU:
            return None
        crowd = config.EMBED_CROWD_IOU
        others_near_face = np.delete(overlap[:, j], i)
        others_near_chain = np.delete(overlap[i], j)
        if (others_near_face > crowd).any() or (others_near_chain > crowd).any() or (own[j] > crowd).any():
            return None
        c = self._chains[i]
        if cue_similarity(c.cue, cue) < config.EMBED_CUE_MIN:
            return None
        return i
