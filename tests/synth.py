"""Small generated videos with known ground truth.

A "character" is a drawn shape with its own colour and form; it is on screen during the intervals of its
schedule. Backgrounds change every few seconds (smooth colour fields with noise) so that the classifier has
to find the character, not the scene.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

Schedule = Mapping[str, Sequence[tuple[float, float]]]

#: Drawing functions by character name: each draws its character at (x, y) with size r.
SHAPES = {
    "Red": lambda img, x, y, r: cv2.circle(img, (x, y), r, (40, 40, 230), -1),          # BGR red disc
    "Blue": lambda img, x, y, r: cv2.rectangle(img, (x - r, y - r), (x + r, y + r), (230, 60, 30), -1),
    "Green": lambda img, x, y, r: cv2.fillPoly(img, [np.array([(x, y - r), (x - r, y + r), (x + r, y + r)])],
                                               (40, 200, 40)),
}


def present_at(schedule: Schedule, name: str, t: float) -> bool:
    return any(a <= t < b for a, b in schedule.get(name, ()))


def truth_rows(schedule: Schedule, names: Sequence[str], duration: float, every: float = 1.0
               ) -> list[tuple[float, list[int]]]:
    """(t, [0/1 per name]) at t = 0, every, ... < duration."""
    n = int(np.ceil(duration / every - 1e-9))
    return [(k * every, [int(present_at(schedule, nm, k * every)) for nm in names]) for k in range(n)]


def write_truth_csv(path: Path, schedule: Schedule, names: Sequence[str], duration: float,
                    every: float = 1.0) -> Path:
    lines = ["time_s," + ",".join(names)]
    lines += [f"{t:g}," + ",".join(map(str, row)) for t, row in truth_rows(schedule, names, duration, every)]
    path.write_text("\n".join(lines) + "\n")
    return path


def make_video(path: Path, schedule: Schedule, duration: float, fps: float = 10.0,
               size: tuple[int, int] = (192, 108), scene_s: float = 4.0, seed: int = 0,
               fourcc: str = "mp4v") -> Path:
    """Write a video where each character of ``schedule`` is drawn during its intervals, moving slowly."""
    w, h = size
    rng = np.random.default_rng(seed)
    n_scenes = int(np.ceil(duration / scene_s)) + 1
    bases = rng.integers(40, 200, size=(n_scenes, 3))
    yy, xx = np.mgrid[0:h, 0:w]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    if not out.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    n_frames = int(round(duration * fps))
    for i in range(n_frames):
        t = i / fps
        s = int(t // scene_s)
        b = bases[s]
        img = np.empty((h, w, 3), np.uint8)
        for c in range(3):
            img[..., c] = np.clip(b[c] + 40 * np.sin((xx * (c + 1) + yy * (s % 3 + 1)) / 25.0 + s), 0, 255)
        img = cv2.add(img, rng.integers(0, 12, size=img.shape, dtype=np.uint8))
        for j, (name, draw) in enumerate(SHAPES.items()):
            if present_at(schedule, name, t):
                x = int(w * (0.2 + 0.6 * ((t * 0.07 + j * 0.37) % 1.0)))
                y = int(h * (0.3 + 0.4 * ((j * 0.5 + s * 0.3) % 1.0)))
                draw(img, x, y, max(6, h // 7))
        out.write(img)
    out.release()
    return path
