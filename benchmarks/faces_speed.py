"""Speed of face discovery (``faces``) at 1 sample per second on a 720p video, per detector.

By default it makes a 1280x720 upscale of the Hamilton clip (tests/data) in a temporary folder with PyAV
(``core.media.cut_clip``, no ``ffmpeg`` program needed), then runs the whole pipeline (decode, detect, embed,
group) on it with an empty cache, once per detector (``hog+cnn``, the default: HOG, and the CNN on a 320-px copy
of the frames without a HOG face; ``hog``; ``cnn``), and prints sampled frames per second of wall time. Run it
alone: it uses the CPU fully.

    python benchmarks/faces_speed.py                      # Hamilton clip upscaled to 720p
    python benchmarks/faces_speed.py --video /work/shared/data/big_buck_bunny_720p.mp4 --seconds 60
    python benchmarks/faces_speed.py --detectors hog+cnn,hog     # skip the slow CNN
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

CLIP = Path(__file__).resolve().parents[1] / "tests" / "data" / "short_hamilton_clip.mp4"


def make_720p(src: Path, dst: Path, seconds: float | None) -> Path:
    """``src`` (its first ``seconds`` if given) scaled to 1280x720, H.264 at CRF 18, no sound."""
    from core.media import cut_clip

    return cut_clip(src, dst, length_s=seconds or None, size=(1280, 720), crf=18, preset="veryfast")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", type=Path, default=CLIP, help="source video, scaled to 1280x720 first")
    ap.add_argument("--seconds", type=float, default=None, help="only the first S seconds of it")
    ap.add_argument("--every", type=float, default=1.0)
    ap.add_argument("--detectors", default="hog+cnn,hog,cnn", help="comma-separated, default %(default)s")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="faces-speed-") as tmp:
        os.environ["SCREENTIME_CACHE"] = str(Path(tmp) / "cache")
        from core.faces import PeopleBook, find_people

        video = make_720p(a.video, Path(tmp) / "video720.mp4", a.seconds)
        part = f", first {a.seconds:g} s" if a.seconds else ""
        print(f"video: {a.video.name} as 1280x720{part}; every {a.every:g} s")
        print("| detector | sampled frames | faces | seconds | frames per second | ms per frame |")
        print("| --- | --- | --- | --- | --- | --- |")
        for det in a.detectors.split(","):
            start = time.perf_counter()
            r = find_people(video, a.every, det, None, PeopleBook())
            s = time.perf_counter() - start
            n = len(r.faces.times)
            print(f"| {r.faces.detector} | {n} | {len(r.faces)} | {s:.1f} | {n / s:.2f} | {1000 * s / n:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
