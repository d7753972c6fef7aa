"""Peak memory of adding a large video to a project (``Project.import_video``), from the core side.

The dashboard hands ``import_video`` a file object; this script hands it one that produces a real, small AVI
followed by padding up to ``--gib`` GiB (FFmpeg ignores what follows an AVI's index), without ever holding
the file in memory, and reports the process's peak resident memory before and after. It measures what
``import_video`` itself costs (streaming in 4 MB chunks, hashing, probing); what Streamlit costs before it
(its ``UploadedFile`` keeps the whole upload in memory) is the dashboard's part: see docs/reliability.md.

    python benchmarks/upload_memory.py --gib 2 --work /tmp/upload-bench
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class PaddedVideo(io.RawIOBase):
    """A readable stream: ``head`` (a real video's bytes) then zeros, ``size`` bytes in all."""

    def __init__(self, head: bytes, size: int) -> None:
        self.head, self.size, self.pos = head, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buf), self.size - self.pos)
        if n <= 0:
            return 0
        out = memoryview(buf)[:n]
        start = self.pos
        if start < len(self.head):
            k = min(n, len(self.head) - start)
            out[:k] = self.head[start:start + k]
            out[k:] = b"\0" * (n - k)
        else:
            out[:] = b"\0" * n
        self.pos += n
        return n


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=float, default=2.0, help="size of the upload in GiB (default 2)")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--from-disk", action="store_true",
                    help="add it the dashboard's other way: written to disk first, then Project.import_file(path)")
    args = ap.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import os

    work = args.work or Path(tempfile.mkdtemp(prefix="upload-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["SCREENTIME_DATA"] = str(work / "data")
    os.environ["SCREENTIME_CACHE"] = str(work / "cache")
    from synth import make_video

    from core.project import Project

    head = make_video(work / "head.avi", {"Red": [(0, 2)]}, 4.0, fourcc="MJPG").read_bytes()
    p = Project.create(f"Upload {time.time():.0f}")
    size = int(args.gib * 1024**3)
    source = io.BufferedReader(PaddedVideo(head, size), buffer_size=4 * 1024**2)
    if args.from_disk:
        film = work / "film on disk.avi"
        with open(film, "wb") as out:
            shutil.copyfileobj(source, out, 4 * 1024**2)
    idle = peak_mib()
    start = time.perf_counter()
    v = p.import_file(film) if args.from_disk else p.import_video(source, "big.avi", size=size)
    seconds = time.perf_counter() - start
    after = peak_mib()
    print(json.dumps({"way": "from disk" if args.from_disk else "upload stream",
                      "upload_bytes": size, "stored_bytes": (p.video_path(v)).stat().st_size,
                      "peak_rss_before_mib": round(idle, 1), "peak_rss_after_mib": round(after, 1),
                      "added_mib": round(after - idle, 1), "seconds": round(seconds, 1)}, indent=1))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
