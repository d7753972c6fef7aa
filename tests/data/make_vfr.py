"""Make ``vfr.mp4``: a variable-frame-rate clip whose frames show their own timestamps.

Frames come at 10 fps for the first 8 s, then at 2 fps until 14 s, then at 5 fps until 20 s (33% fewer
frames than a 10 fps file of the same length would hold). Each frame's grey level is ``10 * t`` where t is
its timestamp in seconds (so 0..200), which the tests read back to check that each sampled moment got the
frame that is on screen then. A red square is drawn from 6 s to 16 s.
Needs Debian's ffmpeg (libx264); the clip is committed, so tests do not need ffmpeg.

    python tests/data/make_vfr.py
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).parent


def frame_times() -> list[float]:
    times = [i / 10 for i in range(80)] + [8 + i / 2 for i in range(12)] + [14 + i / 5 for i in range(30)]
    return [round(t, 3) for t in times]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(200):  # every frame of a 10 fps clip; ffmpeg's select keeps those of frame_times()
            t = n / 10
            img = np.full((96, 96, 3), n, np.uint8)
            if 6 <= t < 16:
                img[30:66, 30:66] = (0, 0, 255)
            cv2.imwrite(f"{tmp}/{n:04d}.png", img)
        keep = r"lt(n\,80)+gte(n\,80)*lt(n\,140)*not(mod(n\,5))+gte(n\,140)*not(mod(n\,2))"  # = frame_times()
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-framerate", "10", "-i", f"{tmp}/%04d.png",
                        "-vf", f"select={keep}", "-fps_mode", "vfr", "-c:v", "libx264", "-qp", "0",
                        "-pix_fmt", "yuv444p", "-video_track_timescale", "1000", str(HERE / "vfr.mp4")], check=True)


if __name__ == "__main__":
    main()
