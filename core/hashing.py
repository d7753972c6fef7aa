"""Content hashes: a video is known by what it contains, not by its name or path."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class FileIdentity:
    """What tells one version of a file from another without reading it: which file (device and inode), its
    size, and when its content (mtime) or its entry (ctime: a rename, a rewrite, a ``touch -r`` that puts back
    an old mtime) last changed. Two equal identities are, in practice, the same bytes."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int


def file_identity(path: os.PathLike[str] | str) -> FileIdentity:
    """The :class:`FileIdentity` of the file at ``path`` now."""
    st = os.stat(path)
    return FileIdentity(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@lru_cache(maxsize=64)
def _sha256(path: str, identity: FileIdentity) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: os.PathLike[str] | str) -> str:
    """SHA-256 of a file's bytes, hex. Remembered per path and :class:`FileIdentity` within a process.

    >>> file_sha256("clip.mp4")[:12]  # doctest: +SKIP
    '3f2a9c0d11be'
    """
    p = Path(path).resolve()
    return _sha256(str(p), file_identity(p))


def hashed_identity(path: os.PathLike[str] | str) -> tuple[str, FileIdentity]:
    """The SHA-256 of a file and its :class:`FileIdentity`, taken so that the hash is of that version: the
    identity is read before and after hashing, and a file that changed meanwhile is hashed again (up to
    three times). Compare the identity with :func:`file_identity` after reading the file another way (a
    decoder) to know that it read the bytes that were hashed."""
    p = Path(path).resolve()
    for _ in range(3):
        before = file_identity(p)
        sha = _sha256(str(p), before)
        if file_identity(p) == before:
            return sha, before
    return sha, before  # still changing: this identity no longer matches the file, so the caller refuses it
