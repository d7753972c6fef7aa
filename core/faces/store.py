"""The faces of one video, computed once and cached like the frame features.

:func:`compute_faces` samples the video, detects and embeds every face, and stores the result under
``<cache>/faces/<sha256[:20]>/every-<s>s/<detector key>-<model>/`` (``faces.npz``, ``meta.json`` and one
JPEG chip per face in ``chips/``). The entry is filled in a temporary folder and renamed into place, so a run
that is killed or cancelled leaves nothing that looks complete; a second run reads it back in milliseconds.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np

from .. import config as core_config
from ..atomic import atomic_dir
from ..cache import FeatureCache, every_tag, read_entry
from ..hashing import file_sha256
from ..progress import ProgressCallback, report
from ..video import SampleReader, probe_video
from . import config
from .detect import DetectorSettings, detect_faces
from .embed import EMBEDDING_DIM, align_faces
from .select import EmbedPlan, chip_cue
from .tracks import SIGNATURE_LENGTH, frame_signature
from .workers import ChipEmbedder

FORMAT = 3  # 2: each sampled frame's colour signature (shots, for tracks); 3: which faces were embedded
OLD_FORMATS = (2,)  # readable still: every face embedded


@dataclass(frozen=True)
class FaceSet:
    """Every face found in the sampled moments of one video.

    ``times`` (N,) are all sampled moments (k * every), with or without faces. Face ``i`` was seen at moment
    ``face_sample[i]``, in box ``boxes[i]`` = (left, top, right, bottom) full-frame pixels, with detector
    score ``scores[i]``, embedding ``embeddings[i]`` (128-d) and chip sharpness ``sharpness[i]``;
    ``signatures`` (N, 192), when known, are the sampled frames' signatures (:mod:`.tracks` finds the
    shots). ``embedded[i]`` says whether face ``i`` was embedded itself or carries the embedding of the face
    of its track it followed (:mod:`.select`; None: all embedded). Faces are ordered by moment, then largest
    first; a face's index is its id. ``key`` names this set (video, sampling, detector, model): the people book
    keeps its groups per key.
    """

    video: Path
    video_sha256: str
    fps: Fraction
    duration_s: float
    every: float
    detector: str
    model: str
    times: np.ndarray
    face_sample: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    embeddings: np.ndarray
    sharpness: np.ndarray
    signatures: Optional[np.ndarray] = field(default=None, compare=False)
    embedded: Optional[np.ndarray] = field(default=None, compare=False)
    chips_dir: Optional[Path] = field(default=None, compare=False)
    computed: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        f = self.face_sample.shape[0]
        if self.times.ndim != 1:
            raise ValueError(f"times must be 1-D, got {self.times.shape}")
        outside = f and (self.face_sample.min() < 0 or self.face_sample.max() >= len(self.times))
        if self.face_sample.ndim != 1 or outside:
            raise ValueError("face_sample must index into times")
        if self.boxes.shape != (f, 4) or self.scores.shape != (f,) or self.sharpness.shape != (f,):
            raise ValueError(f"boxes, scores and sharpness need {f} rows")
        if self.embeddings.shape != (f, EMBEDDING_DIM):
            raise ValueError(f"embeddings must be ({f}, {EMBEDDING_DIM}), got {self.embeddings.shape}")
        if f > 1 and np.any(np.diff(self.face_sample) < 0):
            raise ValueError("faces must be ordered by sampled moment")
        if self.signatures is not None and self.signatures.shape[0] != self.times.shape[0]:
            raise ValueError("signatures need one row per sampled moment")
        if self.embedded is not None and (self.embedded.shape != (f,) or self.embedded.dtype != np.bool_):
            raise ValueError(f"embedded must be ({f},) bool")

    def __len__(self) -> int:
        return int(self.face_sample.shape[0])

    @property
    def key(self) -> str:
        return f"{self.video_sha256[:20]}/{every_tag(self.every)}/{self.detector}-{self.model}"

    @property
    def embedded_mask(self) -> np.ndarray:
        """Which faces were embedded themselves (the others carry the embedding of the face of their track
        they followed, :mod:`.select`); all of them when not recorded."""
        return self.embedded if self.embedded is not None else np.ones(len(self), bool)

    @property
    def face_times(self) -> np.ndarray:
        return self.times[self.face_sample] if len(self) else np.zeros(0)

    def chip_path(self, face: int) -> Optional[Path]:
        """The cached 150x150 aligned JPEG of face ``face`` (None if the cache entry has gone)."""
        if self.chips_dir is None:
            return None
        p = self.chips_dir / f"{face:06d}.jpg"
        return p if p.is_file() else None


def entry_dir(root: Path, sha256: str, every: float, settings: DetectorSettings) -> Path:
    return root / "faces" / sha256[:20] / every_tag(every) / f"{settings.key}-{config.EMBEDDING_MODEL}"


def _load(d: Path, video: Path, sha256: str) -> Optional[FaceSet]:
    entry = read_entry(d, "faces.npz", sha256, FORMAT)
    for old in OLD_FORMATS:
        entry = entry or read_entry(d, "faces.npz", sha256, old)
    if entry is None:
        return None
    meta, a = entry
    try:
        return FaceSet(video=video, video_sha256=sha256, fps=Fraction(meta["fps"]),
                       duration_s=float(meta["duration_s"]),
                       every=float(meta["every"]), detector=meta["detector"], model=meta["model"], times=a["times"],
                       face_sample=a["face_sample"], boxes=a["boxes"], scores=a["scores"],
                       embeddings=a["embeddings"], sharpness=a["sharpness"], signatures=a["signatures"],
                       embedded=a["embedded"].astype(bool) if "embedded" in a else None, chips_dir=d / "chips")
    except (OSError, ValueError, KeyError):
        return None  # unreadable entry: compute again rather than fail


def load_faces(video: Path | str, sha256: str, every: float, settings: DetectorSettings = DetectorSettings(),
               cache: Optional[FeatureCache] = None) -> Optional[FaceSet]:
    """The cached faces of a video whose hash is known (a project's video), without reading the video; None
    when they have not been computed with these settings."""
    root = (cache or FeatureCache()).root
    return _load(entry_dir(root, sha256, every, settings), Path(video), sha256)


def compute_faces(video: Path | str, every: float = core_config.EVERY_S,
                  settings: DetectorSettings = DetectorSettings(), progress: Optional[ProgressCallback] = None,
                  cache: Optional[FeatureCache] = None, processes: Optional[int] = None) -> FaceSet:
    """Detect and embed the faces of every sampled moment of ``video``, or read them from the cache.

    Every face is detected, aligned and kept; the faces a track needs are embedded (:mod:`.select`), in
    ``processes`` other processes while this one reads and detects (:mod:`.workers`; default
    :data:`~.config.EMBED_PROCESSES`, 0 embeds here).

    Reports ``("faces", done, total)`` per sampled moment; a callback that raises
    :class:`~core.errors.Cancelled` stops the work and leaves no cache entry. Raises
    :class:`~core.errors.VideoError` for a file that is not a readable video.
    """
    info = probe_video(video)
    sha = file_sha256(info.path)
    root = (cache or FeatureCache()).root
    final = entry_dir(root, sha, every, settings)
    found = _load(final, info.path, sha)
    if found is not None:
        report(progress, "faces", 1, 1)
        return found

    processes = config.EMBED_PROCESSES if processes is None else processes
    reader = SampleReader(info.path, every, info)
    total = max(reader.expected_samples(), 1)
    start = time.perf_counter()
    out: dict[str, Any] = {}

    def fill(tmp: Path) -> None:
        chips = tmp / "chips"
        chips.mkdir()
        times: list[float] = []
        face_sample: list[int] = []
        boxes: list[tuple[int, int, int, int]] = []
        scores: list[float] = []
        sharp: list[float] = []
        sigs: list[np.ndarray] = []
        plan = EmbedPlan()
        to_embed: dict[int, np.ndarray] = {}  # first face of a sampled moment -> the faces embedded there
        with ChipEmbedder(processes) as embedder:
            for s in reader:
                times.append(s.time_s)
                sig = frame_signature(s.frame)
                sigs.append(sig)
                found_boxes = detect_faces(s.frame, settings)
                face_chips, face_sharp = align_faces(s.frame, found_boxes)
                first = len(face_sample)
                wanted = plan.add(s.index, sig, [b.as_tuple() for b in found_boxes], face_sharp,
                                  chip_cue(face_chips))
                if wanted.any():
                    embedder.submit(first, face_chips[wanted])
                    to_embed[first] = first + np.flatnonzero(wanted)
                for b, c, sh in zip(found_boxes, face_chips, face_sharp):
                    cv2.imwrite(str(chips / f"{len(face_sample):06d}.jpg"), cv2.cvtColor(c, cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, config.CHIP_QUALITY])
                    face_sample.append(s.index)
                    boxes.append(b.as_tuple())
                    scores.append(b.score)
                    sharp.append(float(sh))
                report(progress, "faces", len(times), max(total, len(times)))
            batches = embedder.results()
        anchors = np.asarray(plan.anchors, np.int64)
        embedded = anchors == np.arange(len(anchors))
        own = np.zeros((len(anchors), EMBEDDING_DIM), np.float32)
        for first, rows in to_embed.items():
            own[rows] = batches[first]
        embs = own[anchors]
        end = reader.end_s if reader.end_s is not None else info.duration_s
        arrays = {
            "times": np.asarray(times, np.float64),
            "face_sample": np.asarray(face_sample, np.int64),
            "boxes": np.asarray(boxes, np.int32).reshape(-1, 4),
            "scores": np.asarray(scores, np.float64),
            "embeddings": np.asarray(embs, np.float32).reshape(-1, EMBEDDING_DIM),
            "embedded": embedded,
            "sharpness": np.asarray(sharp, np.float64),
            "signatures": np.asarray(sigs, np.float32).reshape(-1, SIGNATURE_LENGTH),
        }
        np.savez(tmp / "faces.npz", **arrays)
        seconds = time.perf_counter() - start
        meta = {"format": FORMAT, "video_sha256": sha, "video": str(info.path), "fps": str(info.fps),
                "duration_s": end, "every": float(every), "detector": settings.key, "model": config.EMBEDDING_MODEL,
                "samples": len(times), "faces": len(face_sample), "seconds": round(seconds, 3)}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        out.update(arrays=arrays, meta=meta, seconds=seconds)

    if final.exists():  # an unreadable or outdated entry
        shutil.rmtree(final, ignore_errors=True)
    atomic_dir(final, fill)  # if another process won the race, its entry is as good as ours
    a, m = out["arrays"], out["meta"]
    return FaceSet(video=info.path, video_sha256=sha, fps=info.fps, duration_s=float(m["duration_s"]),
                   every=float(every), detector=settings.key, model=config.EMBEDDING_MODEL, times=a["times"],
                   face_sample=a["face_sample"], boxes=a["boxes"], scores=a["scores"], embeddings=a["embeddings"],
                   sharpness=a["sharpness"], signatures=a["signatures"], embedded=a["embedded"],
                   chips_dir=final / "chips",
                   computed=len(a["times"]), seconds=float(out["seconds"]))
