"""Embedding aligned chips in other processes, while the main one decodes and detects.

dlib's ResNet holds Python's GIL, so a thread cannot run it beside detection; a process can. A
:class:`ChipEmbedder` starts its processes once (each loads the model once), takes aligned chips as they come
(:meth:`~ChipEmbedder.submit`, which returns at once) and hands back every embedding at the end
(:meth:`~ChipEmbedder.results`). With ``processes=0`` it embeds in the calling process, one batch at a time.

Leaving the ``with`` block always stops the processes: after an error, a cancelled run or Ctrl-C (the workers
ignore SIGINT, so the main process decides; the batch a worker is busy with finishes, the rest are dropped);
a worker whose main process was killed ends within a second. At most :data:`MAX_PENDING` batches per process
wait, so memory stays bounded on a film.

The processes are started with ``spawn`` (safe beside the threads of a dashboard): like every program that uses
:mod:`multiprocessing`, a script that runs face discovery keeps its work under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Hashable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Optional

import numpy as np

from .embed import embed_chips
from .errors import FaceError

#: Batches waiting per process before :meth:`ChipEmbedder.submit` waits for the oldest (a batch is one sampled
#: frame's chips, ~67 KB a face).
MAX_PENDING = 8


def _init_worker(parent: int) -> None:
    """A worker: Ctrl-C is the main process's business; it ends when the main process is gone (even killed);
    the model is loaded before the first chip."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()
    from . import models

    models.face_encoder()


def _end_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


class ChipEmbedder:
    """Embeds batches of aligned chips in ``processes`` worker processes (0: in this process)."""

    def __init__(self, processes: int = 1) -> None:
        if processes < 0:
            raise ValueError(f"processes must be 0 or more, got {processes}")
        self.processes = processes
        self._pool: Optional[ProcessPoolExecutor] = None
        self._pending: deque[tuple[Hashable, Future[np.ndarray]]] = deque()
        self._done: dict[Hashable, np.ndarray] = {}

    def __enter__(self) -> ChipEmbedder:
        if self.processes > 0:
            self._pool = ProcessPoolExecutor(self.processes, multiprocessing.get_context("spawn"),
                                             initializer=_init_worker, initargs=(os.getpid(),))
        return self

    def __exit__(self, kind: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (waiting batches are dropped); safe to call twice."""
        pool, self._pool = self._pool, None
        for _, f in self._pending:
            f.cancel()
        self._pending.clear()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (empty before the first batch, and after :meth:`close`)."""
        procs = getattr(self._pool, "_processes", None) or {}
        return sorted(procs)

    def submit(self, key: Hashable, chips: np.ndarray) -> None:
        """Embed ``chips`` (n, S, S, 3) RGB uint8; the result is ``results()[key]``, (n, 128) float32."""
        if self._pool is None:
            if self.processes > 0:
                raise RuntimeError("use ChipEmbedder in a with block")
            self._done[key] = embed_chips(chips)
            return
        while len(self._pending) >= MAX_PENDING * self.processes:
            self._collect_oldest()
        try:
            self._pending.append((key, self._pool.submit(embed_chips, np.ascontiguousarray(chips))))
        except BrokenProcessPool as e:
            raise _stopped() from e

    def _collect_oldest(self) -> None:
        key, f = self._pending.popleft()
        try:
            self._done[key] = f.result()
        except BrokenProcessPool as e:
            raise _stopped() from e

    def results(self) -> dict[Hashable, np.ndarray]:
        """Every batch's embeddings, by key (waits for the batches still running)."""
        while self._pending:
            self._collect_oldest()
        return self._done


def _stopped() -> FaceError:
    return FaceError("The face embedding process stopped unexpectedly (perhaps out of memory): run again, "
                     "or close other programs first.")
