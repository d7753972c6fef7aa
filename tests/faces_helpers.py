"""Shared data for the face tests: the Hamilton clip and its reference photos (tests/data, see NOTICE.md)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"
CLIP = DATA / "short_hamilton_clip.mp4"
LIN = DATA / "lin-manuel-miranda.png"
ALEX = DATA / "alex-lacamoire.png"
REFS = {"Lin-Manuel Miranda": LIN, "Alex Lacamoire": ALEX}
