"""Live-action test footage made from the Hamilton clip (tests/data), with its hand-marked faces.

The clip's frames are changed the way other footage differs from it: ``small`` (scaled to 0.4 and centred on a
grey 640x360 frame, so a 107-px close-up becomes 43 px), ``dark`` (exposure down to a third, gamma 1.4),
``mirrored`` (flipped left to right) and ``rotated`` (10 degrees about the centre). :func:`transform_box` moves a
hand-marked box the same way, so the faces marked on the clip's frames (``tests/data/faces_truth.csv``) are the
truth of every variant. :func:`write_variant` writes a variant as a video with ``core.media.write_video`` (no
``ffmpeg`` program needed); :func:`assemble_film` repeats re-cut shots of all variants into a long video for the
speed benchmark.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "data" / "short_hamilton_clip.mp4"
TRUTH = ROOT / "tests" / "data" / "faces_truth.csv"
VARIANTS = ("original", "small", "dark", "mirrored", "rotated")
SMALL = 0.4
ANGLE = 10.0


def _rotation(shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape[:2]
    return cv2.getRotationMatrix2D((w / 2, h / 2), ANGLE, 1.0)


def transform_frame(frame: np.ndarray, variant: str) -> np.ndarray:
    """An RGB frame as the variant shows it (same size)."""
    h, w = frame.shape[:2]
    if variant == "original":
        return frame
    if variant == "small":
        out = np.full_like(frame, 96)
        sw, sh = round(w * SMALL), round(h * SMALL)
        x0, y0 = (w - sw) // 2, (h - sh) // 2
        out[y0:y0 + sh, x0:x0 + sw] = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA)
        return out
    if variant == "dark":
        x = (frame.astype(np.float32) / 255.0) ** 1.4 / 3.0
        return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if variant == "mirrored":
        return np.ascontiguousarray(frame[:, ::-1])
    if variant == "rotated":
        return cv2.warpAffine(frame, _rotation(frame.shape), (w, h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    raise ValueError(f"unknown variant {variant!r}: one of {VARIANTS}")


def transform_box(box: tuple[int, int, int, int], variant: str, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """A face box (left, top, right, bottom) of the clip's frame where the variant shows that face."""
    h, w = shape[:2]
    left, top, right, bottom = box
    if variant in ("original", "dark"):
        return box
    if variant == "small":
        x0, y0 = (w - round(w * SMALL)) // 2, (h - round(h * SMALL)) // 2
        return (x0 + round(left * SMALL), y0 + round(top * SMALL), x0 + round(right * SMALL),
                y0 + round(bottom * SMALL))
    if variant == "mirrored":
        return (w - right, top, w - left, bottom)
    if variant == "rotated":  # the rotated box's centre, with the box's own size (a face turns with the frame)
        m = _rotation(shape)
        cx, cy = m @ np.array([(left + right) / 2, (top + bottom) / 2, 1.0])
        bw, bh = right - left, bottom - top
        return (round(cx - bw / 2), round(cy - bh / 2), round(cx + bw / 2), round(cy + bh / 2))
    raise ValueError(f"unknown variant {variant!r}: one of {VARIANTS}")


@dataclass(frozen=True)
class MarkedFace:
    """One hand-marked face of the clip: at ``time_s``, its box, who, pose (frontal, turned, profile), light
    (normal, dark) and whether it is to be found (``ignore``: too little of it shows to say; a detector that
    finds it is neither right nor wrong)."""

    time_s: float
    box: tuple[int, int, int, int]
    who: str
    pose: str
    light: str
    ignore: bool

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def read_truth(path: Path = TRUTH) -> list[MarkedFace]:
    with open(path, newline="") as f:
        return [MarkedFace(float(r["time_s"]), (int(r["left"]), int(r["top"]), int(r["right"]), int(r["bottom"])),
                           r["who"], r["pose"], r["light"], r["ignore"] == "1") for r in csv.DictReader(f)]


def clip_frames(times: list[float], video: Path = CLIP) -> dict[float, np.ndarray]:
    """The clip's frames on screen at ``times`` (RGB), read with the project's own sampler."""
    from core.video import SampleReader, probe_video

    info = probe_video(video)
    step = 0.5
    want = {round(t / step) for t in times}
    return {s.time_s: s.frame for s in SampleReader(info.path, step, info) if s.index in want}


def _clip_moments(video: Path, every: float) -> Iterator[np.ndarray]:
    from core.video import SampleReader, probe_video

    info = probe_video(video)
    for s in SampleReader(info.path, every, info):
        yield s.frame


def write_variant(dst: Path, variant: str, video: Path = CLIP, fps: int = 10, seconds: Optional[float] = None
                  ) -> Path:
    """The clip (or its first ``seconds``) as ``variant``, re-encoded at ``fps`` frames a second."""
    from core.media import write_video

    frames = _clip_moments(video, 1 / fps)
    n = None if seconds is None else round(seconds * fps)
    out = (transform_frame(f, variant) for k, f in enumerate(frames) if n is None or k < n)
    return write_video(dst, out, Fraction(fps))


def assemble_film(dst: Path, minutes: float = 10.0, fps: int = 5, video: Path = CLIP,
                  size: tuple[int, int] = (1280, 720)) -> Path:
    """A long live-action video for the speed benchmark: the clip's 4 shots in all 5 variants, each shot
    re-cut from its own frames, played in a shuffled (seeded) order again and again until ``minutes``, scaled
    to ``size`` (720p: what a film's copy usually is)."""
    from core.media import write_video

    base = list(_clip_moments(video, 1 / fps))
    cuts = [0.0, 0.67, 2.74, 7.04, len(base) / fps]
    shots = [(v, a, b) for v in VARIANTS for a, b in zip(cuts, cuts[1:])]
    rng = np.random.default_rng(12)
    total = round(minutes * 60 * fps)

    def frames() -> Iterator[np.ndarray]:
        made = 0
        while True:
            for k in rng.permutation(len(shots)):
                v, a, b = shots[k]
                for f in base[round(a * fps):round(b * fps)]:
                    if made >= total:
                        return
                    yield cv2.resize(transform_frame(f, v), size, interpolation=cv2.INTER_LINEAR)
                    made += 1

    return write_video(dst, frames(), Fraction(fps))
