"""Progress reporting: the core never prints, it calls a callback.

A callback receives ``(stage, done, total)``: a short stage name such as ``"features"``, how many units are
done and how many there are in all (``total`` may be 0 when unknown). To cancel a job, the callback raises
:class:`core.errors.Cancelled`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

ProgressCallback = Callable[[str, int, int], None]


def report(callback: Optional[ProgressCallback], stage: str, done: int, total: int) -> None:
    """Call ``callback`` if there is one; a ``None`` callback means nobody listens."""
    if callback is not None:
        callback(stage, done, total)
