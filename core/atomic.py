"""Writing files and folders so that a reader never meets a half-written one.

Everything the project keeps (results, models, caches, the people book, uploads) is written to a temporary
name in the same folder and renamed into place in one step (``os.replace`` is atomic on one file system).
A run that is killed, or that fails halfway, leaves the previous version or nothing, never a mixture.

>>> from pathlib import Path; import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> write_text(d / "a.txt", "hello") == d / "a.txt", (d / "a.txt").read_text()
(True, 'hello')
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import numpy as np

PathLike = os.PathLike[str] | str


@contextlib.contextmanager
def atomic_path(path: PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that wants a file name (an encoder, say); renamed to
    ``path`` when the block ends without an error, removed when it raises. ``suffix`` keeps the extension for
    writers that look at it. The folder must exist: a missing one is the caller's decision, not ours."""
    target = Path(path)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}{suffix}"
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_file(path: PathLike, suffix: str = ".tmp") -> Iterator[IO[bytes]]:
    """A binary file opened at a temporary name beside ``path``; renamed to ``path`` when the block ends
    without an error, removed when it raises."""
    with atomic_path(path, suffix) as tmp:
        # os.open with 0o666 keeps the user's umask (mkstemp would make every result private, 0o600)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            yield f


def write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_file(path) as f:
        f.write(data)
    return Path(path)


def write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    return write_bytes(path, text.encode("utf-8"))


def save_npz(path: PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Write NumPy arrays as an ``.npz`` atomically (no pickles: object arrays are refused on load)."""
    with atomic_file(path, suffix=".npz") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub wants positional arrays too
    return Path(path)


def atomic_dir(final: Path, fill: Callable[[Path], None]) -> bool:
    """Create the folder ``final`` by filling a temporary sibling folder with ``fill(tmp)`` and renaming it.

    Returns False (and discards the work) when another process created ``final`` first.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        fill(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if final.exists():
                return False
            raise
        return True
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
