"""Defaults in one place, with their units and why they are what they are.

Figures that chose a default are in ``docs/accuracy.md`` and ``docs/benchmarks.md``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Seconds between two sampled moments (the tutorial's 1 frame per second).
EVERY_S: float = 1.0

#: Input size of the feature network, (height, width) in pixels. 224x224 is VGG16's own size.
INPUT_SIZE: tuple[int, int] = (224, 224)

#: Frames per forward pass of VGG16; 16 is as fast as 32 on 2 CPU cores and holds less memory.
BATCH_SIZE: int = 16

#: Frames decoded ahead of the network, so decoding overlaps inference without holding the video in memory.
DECODE_QUEUE: int = 64

#: Probability above which a character counts as present when no per-character threshold was learned.
THRESHOLD: float = 0.5

#: Smoothing: gaps shorter than this many seconds inside an appearance are bridged.
BRIDGE_GAPS_S: float = 2.0

#: Smoothing: appearances shorter than this many seconds (after bridging) are dropped.
MIN_APPEARANCE_S: float = 2.0

#: Cross-validation folds of contiguous time blocks.
CV_FOLDS: int = 5

#: Width in pixels of the thumbnails kept for each sampled moment (the Label page and evidence strips).
THUMB_WIDTH: int = 320

#: Bytes: the largest video we accept (uploads included).
MAX_VIDEO_BYTES: int = 8 * 1024**3


def cache_dir() -> Path:
    """Folder for cached features: ``$SCREENTIME_CACHE``, else ``~/.cache/screentime`` (XDG aware)."""
    env = os.environ.get("SCREENTIME_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "screentime"


def data_dir() -> Path:
    """Folder for projects (the dashboard): ``$SCREENTIME_DATA``, else ``~/ScreenTime``."""
    env = os.environ.get("SCREENTIME_DATA")
    return Path(env).expanduser() if env else Path.home() / "ScreenTime"
