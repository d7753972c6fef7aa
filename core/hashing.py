"""Content hashes: a video is known by what it contains, not by its name or path."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

_CHUNK = 4 * 1024 * 1024


@lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: os.PathLike[str] | str) -> str:
    """SHA-256 of a file's bytes, hex. Remembered per (path, size, modification time) within a process.

    >>> file_sha256("clip.mp4")[:12]  # doctest: +SKIP
    '3f2a9c0d11be'
    """
    p = Path(path).resolve()
    st = p.stat()
    return _sha256(str(p), st.st_size, st.st_mtime_ns)
