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
import ctypes
import ctypes.util
import functools
import json
import math
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Optional

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


def finite_or_none(o: Any) -> Any:
    """``o`` with every non-finite float (NaN, +-Infinity) replaced by None, NumPy scalars and arrays as plain
    Python values, paths as strings: what strict JSON can hold.

    >>> finite_or_none({"a": float("nan"), "b": [1.5, float("inf")], "c": np.float32(2)})
    {'a': None, 'b': [1.5, None], 'c': 2.0}
    """
    if isinstance(o, dict):
        return {str(k): finite_or_none(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [finite_or_none(v) for v in o]
    if isinstance(o, np.ndarray):
        return finite_or_none(o.tolist())
    if isinstance(o, (bool, np.bool_)):
        return bool(o)
    if isinstance(o, (int, np.integer)):
        return int(o)
    if isinstance(o, (float, np.floating)):
        return float(o) if math.isfinite(float(o)) else None
    if o is None or isinstance(o, str):
        return o
    return str(o)  # Path, Fraction...


def json_text(obj: Any, indent: Optional[int] = 1) -> str:
    """Strict JSON (RFC 8259) of ``obj``: never a bare ``NaN`` or ``Infinity``, which most readers refuse.

    Every JSON file Screen Time writes goes through here (results, models, caches). Non-finite numbers
    become ``null``; what they meant must have been refused before, where the user can be told.

    >>> json_text({"x": float("inf")}, indent=None)
    '{"x": null}'
    """
    return json.dumps(finite_or_none(obj), indent=indent, allow_nan=False)  # ASCII: also file names not in UTF-8


def save_npz(path: PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Write NumPy arrays as an ``.npz`` atomically (no pickles: object arrays are refused on load)."""
    with atomic_file(path, suffix=".npz") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub wants positional arrays too
    return Path(path)


def atomic_dir(final: Path, fill: Callable[[Path], None]) -> bool:
    """Create the folder ``final`` by filling a temporary sibling folder with ``fill(tmp)`` and renaming it.

    Returns False (and discards the work) when another process created ``final`` first. The temporary folder
    carries this process's id, so the leftovers of a run that was killed while it filled one are removed here
    by the next run (:func:`remove_dead_temps`).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{final.name}."
    remove_dead_temps(final.parent, prefix)
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}.", suffix=".tmp", dir=final.parent))
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


_RENAME_EXCHANGE = 2  # linux/fs.h


@functools.lru_cache(maxsize=1)
def _renameat2() -> Any:
    """glibc's ``renameat2``, or None (another C library, another system)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).renameat2
    except (OSError, AttributeError):
        return None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where that is not available
    (the file system or the C library), and then nothing was changed."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    at_fdcwd = -100
    ok = renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), _RENAME_EXCHANGE) == 0
    return bool(ok)


def replace_dir(final: PathLike, fill: Callable[[Path], None]) -> Path:
    """Replace the folder ``final`` as a whole by one filled by ``fill(tmp)`` in a temporary sibling folder.

    A reader sees the old folder or the new one, never a mixture: where the file system can exchange two
    paths in one step (Linux), the two folders are swapped at once; elsewhere the old folder is renamed
    aside, then the new one into place (a kill between these two leaves both, hidden, beside the missing
    folder: see :func:`interrupted_replace`). An empty ``final`` (a folder made for this) is replaced
    directly. The old folder is removed afterwards.
    """
    target = Path(final)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temps(target.parent, f".{target.name}.new-")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-{os.getpid()}-", dir=target.parent))
    old: Optional[Path] = None
    try:
        fill(tmp)
        if target.is_dir() and any(target.iterdir()):
            if _exchange(tmp, target):
                old = tmp  # now holds the previous folder
            else:
                old = target.parent / f".{target.name}.old-{secrets.token_hex(6)}"
                os.rename(target, old)
                os.rename(tmp, target)
        else:
            os.replace(tmp, target)  # a missing or empty folder: one step
    finally:
        if tmp.exists() and tmp != old:
            shutil.rmtree(tmp, ignore_errors=True)
    if old is not None and target.is_dir():  # never the only copy
        shutil.rmtree(old, ignore_errors=True)
    return target


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_dead_temps(folder: Path, prefix: str) -> int:
    """Remove the temporary folders ``<prefix><pid>-...`` (or ``<prefix><pid>....``) in ``folder`` whose
    process is gone: what a run killed while it wrote leaves. Those of live processes are kept. Returns how
    many were removed."""
    removed = 0
    if not folder.is_dir():
        return 0
    for d in folder.glob(f"{prefix}*"):
        pid = d.name[len(prefix):].replace(".", "-").split("-", 1)[0]
        if d.is_dir() and pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)
            removed += not d.exists()
    return removed


def interrupted_replace(final: PathLike) -> Optional[Path]:
    """A complete-looking hidden sibling that :func:`replace_dir` left when it was killed between its two
    renames (``final`` missing), or None."""
    target = Path(final)
    if not target.parent.is_dir():
        return None
    found = sorted(target.parent.glob(f".{target.name}.old-*"))
    return found[-1] if found else None
