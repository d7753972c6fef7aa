"""The sampled moments of a video, decoded and resized ahead of the network in a child process.

Decoding runs in a process of its own, not in a thread of the caller.
Importing TensorFlow holds Python's global lock for seconds: a decoding thread got 2 of Big Buck Bunny's
597 moments done in those 4 s, while a process uses the idle core. During inference the two then share no
lock either. The child decodes up to ``depth`` moments ahead and sends them through a pipe. Where no
process can be started, the same work runs in a thread.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, Optional

import cv2
import numpy as np

from . import config
from .errors import VideoError
from .pictures import Scaler, Thumbnails
from .video import SampleReader, VideoInfo

#: (time_s, frame resized for the network) for one moment; the frame is None when it is the same frame as
#: the moment before (a variable-frame-rate file held it), so its features are reused.
Moment = tuple[float, Optional[np.ndarray]]

_END = "end"
_TIME = struct.Struct("<d")
_LEN = struct.Struct("<I")


def _produce(info: VideoInfo, every: float, size: tuple[int, int], thumbs: Optional[Path], out: Any,
             stop: threading.Event) -> None:
    """Put a :data:`Moment` on ``out`` for every moment, then ``("end", end_s)``; or the exception raised."""
    try:
        reader = SampleReader(info.path, every, info)
        to_input = Scaler(size)
        thumbnails = Thumbnails()
        last = None
        for index, time_s, _, frame in reader.decoded():
            if stop.is_set():
                return
            if thumbs is not None:
                thumbnails.write(frame, thumbs / f"{index:06d}.jpg")
            out.put((time_s, to_input(frame) if frame is not last else None))
            last = frame
        out.put((_END, reader.end_s))
    except BaseException as exc:  # handed to the consumer, which raises it
        out.put(exc)


def _drain(q: queue.Queue[Any], worker: threading.Thread) -> None:
    """Empty the queue until the worker ends (it may wait for room to put one more item)."""
    while worker.is_alive():
        try:
            q.get_nowait()
        except queue.Empty:
            worker.join(0.05)


# --- the child process --------------------------------------------------------------------------------------

_CHILD = "import json, sys; from core.prefetch import _child; _child(json.loads(sys.argv[1]), int(sys.argv[2]))"


def _child(job: dict[str, Any], fd: int) -> None:
    """Decode in a thread up to ``depth`` moments ahead, and write each to the pipe ``fd``:
    ``F`` time frame-bytes | ``S`` time (same frame as before) | ``E`` end_s | ``X`` length JSON-error."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which then ends this process
    cv2.setNumThreads(1)  # the network has the other cores
    info = VideoInfo(path=Path(job["path"]), fps=Fraction(job["fps"]), frame_count=job["frame_count"],
                     width=job["width"], height=job["height"], size_bytes=job["size_bytes"])
    thumbs = Path(job["thumbs"]) if job["thumbs"] else None
    q: queue.Queue[Any] = queue.Queue(maxsize=job["depth"])
    stop = threading.Event()
    worker = threading.Thread(target=_produce, daemon=True,
                              args=(info, job["every"], tuple(job["size"]), thumbs, q, stop))
    worker.start()
    with os.fdopen(fd, "wb") as pipe:
        try:
            while True:
                item = q.get()
                if isinstance(item, BaseException):
                    err = {"video_error": isinstance(item, VideoError),
                           "message": str(item) if isinstance(item, VideoError) else f"{type(item).__name__}: {item}"}
                    data = json.dumps(err).encode()
                    pipe.write(b"X" + _LEN.pack(len(data)) + data)
                    return
                t, img = item
                if t == _END:
                    pipe.write(b"E" + _TIME.pack(img))
                    return
                pipe.write((b"F" if img is not None else b"S") + _TIME.pack(t))
                if img is not None:
                    pixels = memoryview(np.ascontiguousarray(img)).cast("B")  # type: ignore[arg-type]  # a buffer
                    pipe.write(pixels)
        except BrokenPipeError:  # the parent stopped reading: stop decoding
            stop.set()
            _drain(q, worker)


# --- the parent ------------------------------------------------------------------------------------------

def _read_exact(pipe: IO[bytes], n: int) -> bytes:
    data = pipe.read(n)
    if data is None or len(data) != n:
        raise EOFError
    return data


class FramePrefetcher:
    """Iterate over ``(time_s, frame)`` for the moments of a video, decoded up to ``depth`` moments ahead.

    Decoding starts at construction. Frames are RGB uint8 scaled to ``size`` (height, width) by
    :class:`~core.pictures.Scaler`; with ``thumbs``, a JPEG thumbnail of each moment is written there. After
    the iteration, ``end_s`` is the measured end of the video. Use it as a context manager: leaving early
    stops the decoder. Errors of the video are raised as :class:`~core.errors.VideoError`, as
    :class:`SampleReader` raises them.

    >>> with FramePrefetcher(probe_video("clip.mp4"), 1.0, (224, 224)) as frames:   # doctest: +SKIP
    ...     times = [t for t, _ in frames]
    """

    def __init__(self, info: VideoInfo, every: float, size: tuple[int, int], thumbs: Optional[Path] = None,
                 depth: int = config.DECODE_QUEUE) -> None:
        self.end_s: Optional[float] = None
        self._size = (int(size[0]), int(size[1]))
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._pipe: Optional[IO[bytes]] = None
        self._stop = threading.Event()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._thread: Optional[threading.Thread] = None
        job = {"path": os.path.abspath(info.path), "fps": str(info.fps), "frame_count": info.frame_count,
               "width": info.width, "height": info.height, "size_bytes": info.size_bytes,
               "every": float(every), "size": list(self._size), "thumbs": os.path.abspath(thumbs) if thumbs else None,
               "depth": int(depth)}
        try:
            self._start_process(job)
        except (OSError, ValueError):  # no processes (a sandbox) or no fd passing (Windows): use a thread
            self._thread = threading.Thread(target=_produce, daemon=True, name="screentime-decode",
                                            args=(info, float(every), self._size, thumbs, self._queue, self._stop))
            self._thread.start()

    def _start_process(self, job: dict[str, Any]) -> None:
        read_fd, write_fd = os.pipe()
        root = str(Path(__file__).resolve().parent.parent)  # so the child finds this package wherever it lives
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close(), with the pipe)
        try:
            self._proc = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(job), str(write_fd)],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
                                          pass_fds=(write_fd,), env=env)
        except BaseException:
            os.close(read_fd)
            self._stderr.close()
            raise
        finally:
            os.close(write_fd)
        self._pipe = os.fdopen(read_fd, "rb")

    def _from_process(self) -> Any:
        assert self._pipe is not None and self._proc is not None
        h, w = self._size
        try:
            kind = _read_exact(self._pipe, 1)
            if kind == b"X":
                err = json.loads(_read_exact(self._pipe, _LEN.unpack(_read_exact(self._pipe, _LEN.size))[0]))
                return VideoError(err["message"]) if err["video_error"] else RuntimeError(err["message"])
            value = _TIME.unpack(_read_exact(self._pipe, _TIME.size))[0]
            if kind == b"E":
                return (_END, value)
            if kind == b"S":
                return (value, None)
            frame = np.frombuffer(_read_exact(self._pipe, h * w * 3), dtype=np.uint8).reshape(h, w, 3)
            return (value, frame)
        except EOFError:
            code = self._proc.wait()
            self._stderr.seek(0)
            last = (self._stderr.read().decode(errors="replace").strip().splitlines() or [""])[-1]
            return RuntimeError(f"The decoding process ended without finishing the video (exit code {code}"
                                f"{': ' + last if last else ''}); try again, or re-encode the video to MP4.")

    def __iter__(self) -> Iterator[Moment]:
        while True:
            item = self._from_process() if self._thread is None else self._queue.get()
            if isinstance(item, BaseException):
                raise item
            if item[0] == _END:
                self.end_s = float(item[1])
                return
            yield item

    def close(self) -> None:
        """Stop the decoder if it is still running."""
        if self._thread is not None:
            self._stop.set()
            _drain(self._queue, self._thread)
            return
        assert self._proc is not None and self._pipe is not None
        if self._proc.poll() is None:
            self._proc.terminate()
        self._proc.wait()
        self._pipe.close()
        self._stderr.close()

    def __enter__(self) -> FramePrefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
