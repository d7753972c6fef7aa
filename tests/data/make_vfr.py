"""Make ``vfr.mp4``: a variable-frame-rate clip whose frames show their own timestamps.

Frames come at 10 fps for the first 8 s, then at 2 fps until 14 s, then at 5 fps until 20 s (33% fewer
frames than a 10 fps file of the same length would hold). Each frame's grey level is ``10 * t`` where t is
its timestamp in seconds (so 0..200), which the tests read back to check that each sampled moment got the
frame that is on screen then. A red square is drawn from 6 s to 16 s.
Lossless H.264 (x264 at qp 0, 4:4:4) with millisecond timestamps, written with PyAV (``core.media``), so no
``ffmpeg`` program is needed; the clip is committed, so tests do not need to run this.

    python tests/data/make_vfr.py [--out /tmp/vfr.mp4]
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import numpy as np

from core.media import write_video

HERE = Path(__file__).parent


def frame_times() -> list[float]:
    times = [i / 10 for i in range(80)] + [8 + i / 2 for i in range(12)] + [14 + i / 5 for i in range(30)]
    return [round(t, 3) for t in times]


def frame(t: float) -> np.ndarray:
    """The RGB frame at ``t``: grey ``10 * t``, with the red square from 6 s to 16 s."""
    img = np.full((96, 96, 3), round(10 * t), np.uint8)
    if 6 <= t < 16:
        img[30:66, 30:66] = (255, 0, 0)
    return img


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "vfr.mp4", help="where to write it (default %(default)s)")
    args = ap.parse_args()
    times = frame_times()
    # fps=10: the last frame lasts 1/10 s, as in the committed clip (made at 10 fps, then thinned).
    write_video(args.out, (frame(t) for t in times), fps=10, times=times, time_base=Fraction(1, 1000),
                lossless=True)


if __name__ == "__main__":
    main()
