"""A held-out synthetic suite harder than ``synth.py``: small drawn characters on cluttered, changing scenes.

Made to look like the footage a user brings, not like the film the defaults were first chosen on:

* **small characters** of distinct shape and colour, 30-80 px tall in a 640x360 frame (a new size for every
  appearance), moving slowly: ``Tomato`` (a red-orange disc with a green leaf), ``Plum`` (a purple upright
  ellipse with two eyes) and ``Mint`` (a teal five-pointed star);
* **cluttered scenes** that change every ``scene_s`` (12 s): a colour gradient, 30-45 random rectangles,
  discs, blobs and lines of any hue (some close to a character's colour, never of its shape), and noise;
* **lighting changes**: every scene has its own gain (0.55-1.35) and colour tint, plus a slow +-10 % flicker;
* **partial occlusion**: a third of the appearances have a foreground bar (a "tree trunk") over 25-50 % of
  the character;
* several seeds; a clip of another seed has other scenes, schedules and sizes, so a model is trained on one
  clip and scored on another (``benchmarks/accuracy.py``, "synthetic").

Everything is a pure function of the seed: :func:`make_clip` draws the plan, :meth:`Clip.render` draws the
frame at any time with the mask of each character's visible pixels, :func:`write_clip` encodes it with PyAV.

>>> clip = make_clip(seed=0, duration_s=30)
>>> clip.truth().shape, clip.names
((30, 3), ('Tomato', 'Plum', 'Mint'))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from core.media import write_video

NAMES = ("Tomato", "Plum", "Mint")
#: Each character's colour, RGB.
COLOURS = {"Tomato": (235, 70, 35), "Plum": (125, 55, 165), "Mint": (40, 195, 170)}
SIZE = (640, 360)            # width, height
MIN_PX, MAX_PX = 30, 80      # character height in pixels
SCENE_S = 12.0
MEAN_ON_S, MEAN_OFF_S = 7.0, 9.0
OCCLUDED_SHARE = 1 / 3
#: Each character's width as a share of its height (the occluder covers a share of this width).
WIDTHS = {"Tomato": 0.8, "Plum": 0.5, "Mint": 0.95}


@dataclass(frozen=True)
class Appearance:
    """One character on screen during [start, end): height ``size`` px, centre moving from ``xy`` at
    ``velocity`` px/s, and (for occluded ones) a vertical bar covering ``cover`` of its width from ``side``."""

    name: str
    start: float
    end: float
    size: int
    xy: tuple[float, float]
    velocity: tuple[float, float]
    cover: float = 0.0
    side: int = 1  # +1: the bar covers the right part, -1 the left part

    def centre(self, t: float) -> tuple[int, int]:
        x = self.xy[0] + self.velocity[0] * (t - self.start)
        y = self.xy[1] + self.velocity[1] * (t - self.start)
        return int(round(x)), int(round(y))


@dataclass(frozen=True)
class Clip:
    """The plan of one synthetic clip: its seed, length, frame rate and appearances."""

    seed: int
    duration_s: float
    fps: int
    scene_s: float
    appearances: tuple[Appearance, ...]
    names: tuple[str, ...] = NAMES
    size: tuple[int, int] = SIZE

    def present(self, t: float) -> tuple[bool, ...]:
        """Who is on screen at ``t`` seconds (the truth: any visible part counts, occluded ones too)."""
        return tuple(any(a.name == n and a.start <= t < a.end for a in self.appearances) for n in self.names)

    def truth(self, every: float = 1.0) -> np.ndarray:
        """(moments, characters) 0/1 truth at t = 0, every, 2 * every, ... < duration."""
        n = int(np.ceil(self.duration_s / every - 1e-9))
        return np.array([self.present(k * every) for k in range(n)], np.uint8).reshape(n, len(self.names))

    def render(self, t: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The RGB frame at ``t`` and, per character, the boolean mask of its visible pixels."""
        w, h = self.size
        scene = int(t // self.scene_s)
        img = _background(self.seed, scene, w, h).astype(np.float32)
        masks = {n: np.zeros((h, w), bool) for n in self.names}
        for a in self.appearances:
            if not a.start <= t < a.end:
                continue
            layer = np.zeros((h, w), np.uint8)
            x, y = a.centre(t)
            _draw(a.name, layer, x, y, a.size, 255)
            shape = layer > 0
            img[shape] = COLOURS[a.name]
            for m in masks.values():  # a character drawn later hides what it covers
                m &= ~shape
            _details(a.name, img, x, y, a.size)
            if a.cover > 0:  # the bar is drawn over the character (and some background)
                width = WIDTHS[a.name] * a.size
                half = int(round(width / 2))
                bw = int(round(a.cover * width))
                x0 = x + half - bw if a.side > 0 else x - half
                bar = np.zeros((h, w), bool)
                bar[:, max(0, x0):max(0, x0 + bw)] = True
                img[bar] = _trunk_colour(self.seed, scene)
                shape &= ~bar
                for m in masks.values():
                    m &= ~bar
            masks[a.name] |= shape
        gain, tint = _lighting(self.seed, scene)
        flicker = 1.0 + 0.1 * np.sin(2 * np.pi * t / 5.0 + scene)
        img = img * (gain * flicker) * tint
        noise = np.random.default_rng([self.seed, int(round(t * 1000))]).normal(0, 4, img.shape)
        return np.clip(img + noise, 0, 255).astype(np.uint8), masks


def _draw(name: str, img: np.ndarray, x: int, y: int, s: int, colour: int | tuple[int, ...]) -> None:
    """The character's silhouette, ``s`` px tall, centred at (x, y)."""
    if name == "Tomato":
        r = int(s * 0.4)
        cv2.circle(img, (x, y + s // 10), r, colour, -1)
    elif name == "Plum":
        cv2.ellipse(img, (x, y), (max(2, s // 4), s // 2), 0, 0, 360, colour, -1)
    else:  # Mint: a five-pointed star
        ang = np.pi / 2 + np.arange(10) * np.pi / 5
        rad = np.where(np.arange(10) % 2 == 0, s / 2, s / 5)
        pts = np.stack([x + rad * np.cos(ang), y - rad * np.sin(ang)], axis=1).round().astype(np.int32)
        cv2.fillPoly(img, [pts], colour)


def _details(name: str, img: np.ndarray, x: int, y: int, s: int) -> None:
    """What makes the shape a character: Tomato's leaf, Plum's eyes."""
    if name == "Tomato":
        r = int(s * 0.4)
        leaf = np.array([(x, y + s // 10 - r), (x - s // 6, y + s // 10 - r - s // 5),
                         (x + s // 6, y + s // 10 - r - s // 6)], np.int32)
        cv2.fillPoly(img, [leaf], (40, 150, 40))
    elif name == "Plum":
        for dx in (-s // 9, s // 9):
            cv2.circle(img, (x + dx, y - s // 6), max(2, s // 12), (250, 250, 250), -1)
            cv2.circle(img, (x + dx, y - s // 6), max(1, s // 24), (10, 10, 10), -1)


@lru_cache(maxsize=8)
def _background(seed: int, scene: int, w: int, h: int) -> np.ndarray:
    """The cluttered background of one scene (RGB uint8), the same for every frame of that scene."""
    rng = np.random.default_rng([seed, scene, 7])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c0, c1 = rng.integers(30, 225, 3), rng.integers(30, 225, 3)
    a = rng.uniform(0, 2 * np.pi)
    ramp = ((xx * np.cos(a) + yy * np.sin(a)) / np.hypot(w, h) + 0.5).clip(0, 1)[..., None]
    img = (c0 * (1 - ramp) + c1 * ramp).astype(np.uint8)
    for _ in range(int(rng.integers(30, 46))):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.integers(0, 4)
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        if kind == 0:
            cv2.rectangle(img, (cx, cy), (cx + int(rng.integers(10, 120)), cy + int(rng.integers(10, 90))), colour, -1)
        elif kind == 1:  # discs larger than Tomato ever is, so never its shape
            cv2.circle(img, (cx, cy), int(rng.integers(45, 90)), colour, -1)
        elif kind == 2:  # an irregular blob
            n = int(rng.integers(5, 9))
            ang = np.sort(rng.uniform(0, 2 * np.pi, n))
            rad = rng.uniform(10, 60, n)
            pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], axis=1).astype(np.int32)
            cv2.fillPoly(img, [pts], colour)
        else:
            cv2.line(img, (cx, cy), (int(rng.integers(0, w)), int(rng.integers(0, h))), colour,
                     int(rng.integers(2, 9)))
    texture = rng.normal(0, 10, (h // 8, w // 8, 3))
    texture = cv2.resize(texture, (w, h), interpolation=cv2.INTER_LINEAR)
    out: np.ndarray = np.clip(img + texture, 0, 255).astype(np.uint8)
    return out


def _lighting(seed: int, scene: int) -> tuple[float, np.ndarray]:
    rng = np.random.default_rng([seed, scene, 11])
    return float(rng.uniform(0.55, 1.35)), rng.uniform(0.85, 1.15, 3)


def _trunk_colour(seed: int, scene: int) -> tuple[int, int, int]:
    rng = np.random.default_rng([seed, scene, 13])
    return int(rng.integers(60, 120)), int(rng.integers(40, 90)), int(rng.integers(20, 60))


def make_clip(seed: int, duration_s: float = 120.0, fps: int = 2, scene_s: float = SCENE_S,
              names: Sequence[str] = NAMES) -> Clip:
    """The plan of a clip: per character, alternating off and on runs (geometric, mean 9 s off and 7 s on,
    at least 1 s), each appearance with its own size, place, slow motion and, for a third, an occluder."""
    rng = np.random.default_rng([seed, 3])
    w, h = SIZE
    apps: list[Appearance] = []
    for name in names:
        t = 0.0
        on = bool(rng.random() < 0.4)
        while t < duration_s:
            length = float(max(1, rng.geometric(1 / (MEAN_ON_S if on else MEAN_OFF_S))))
            if on:
                s = int(rng.integers(MIN_PX, MAX_PX + 1))
                end = min(t + length, duration_s)
                margin = s
                x0, y0 = rng.uniform(margin, w - margin), rng.uniform(margin, h - margin)
                # slow enough to stay in the frame for the whole appearance
                vx = float(np.clip(rng.normal(0, 8), (margin - x0) / length, (w - margin - x0) / length))
                vy = float(np.clip(rng.normal(0, 4), (margin - y0) / length, (h - margin - y0) / length))
                occluded = rng.random() < OCCLUDED_SHARE
                cover = float(rng.uniform(0.25, 0.5)) if occluded else 0.0
                side = 1 if rng.random() < 0.5 else -1
                apps.append(Appearance(name, t, end, s, (float(x0), float(y0)), (vx, vy), cover, side))
            t += length
            on = not on
    return Clip(seed, float(duration_s), int(fps), float(scene_s), tuple(apps), tuple(names))


def write_clip(clip: Clip, path: Path) -> Path:
    """Encode the clip (H.264 where PyAV has it) at ``clip.fps``; returns ``path``."""
    n = int(round(clip.duration_s * clip.fps))
    frames = (clip.render(i / clip.fps)[0] for i in range(n))
    return write_video(path, frames, clip.fps, crf=18)


def write_truth(clip: Clip, path: Path) -> Path:
    """The per-second truth in the 0/1 CSV form of ``core.labels`` (``time_s,Tomato,Plum,Mint``)."""
    rows = ["time_s," + ",".join(clip.names)]
    rows += [f"{k}," + ",".join(str(int(v)) for v in row) for k, row in enumerate(clip.truth())]
    path.write_text("\n".join(rows) + "\n")
    return path


def visible_heights(clip: Clip, t: float) -> dict[str, Optional[int]]:
    """Height in pixels of each character's visible pixels at ``t`` (None when absent)."""
    _, masks = clip.render(t)
    out: dict[str, Optional[int]] = {}
    for n, m in masks.items():
        rows = np.flatnonzero(m.any(axis=1))
        out[n] = int(rows[-1] - rows[0] + 1) if len(rows) else None
    return out
