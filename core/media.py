"""Writing videos with PyAV, so that nothing needs the ``ffmpeg`` program: :func:`cut_clip` re-encodes a part
of a video, :func:`write_video` encodes frames at given timestamps (variable frame rates included).

PyAV's wheel carries FFmpeg's libraries; a fresh machine has no ``ffmpeg`` command. Output is MP4 with H.264
from libx264 when PyAV's FFmpeg has it (PyAV 18.1's wheels do), else libopenh264, else MPEG-4 part 2
(``mpeg4``), which OpenCV reads but browsers do not play: :data:`VIDEO_CODEC` says which. Time is exact: a
frame keeps its own timestamp in the source's time base, shifted by the start of the cut. A video is written
to a temporary file next to its destination and renamed, so a failed run leaves no half-written file.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Optional

import av
import numpy as np

from .atomic import atomic_path
from .errors import VideoError
from .video import SampleReader, check_file, unreadable

#: x264's constant-rate factor when none is given: 23 is x264's own default (0 is lossless, 51 the worst).
DEFAULT_CRF = 23
#: x264's speed/size trade-off: "veryfast" encodes a 720p minute in seconds, to a larger file than "slow".
DEFAULT_PRESET = "veryfast"

_Timed = Iterator[tuple[int, Optional[av.VideoFrame]]]  # (pts, frame) pairs, then (end, None)


def _can_encode(name: str) -> bool:
    try:
        return av.Codec(name, "w").is_encoder
    except ValueError:  # av.codec.codec.UnknownCodecError: this FFmpeg build lacks it
        return False


#: The encoder :func:`cut_clip` and :func:`write_video` use unless told otherwise: H.264 if PyAV's FFmpeg has an
#: encoder for it, else MPEG-4 part 2, which every FFmpeg has.
VIDEO_CODEC = next((name for name in ("libx264", "libopenh264") if _can_encode(name)), "mpeg4")


def _options(codec: str, crf: int, preset: str, lossless: bool) -> dict[str, str]:
    """Encoder options for a quality given as an x264 CRF; other encoders get the nearest they offer."""
    if codec == "libx264":
        return {"preset": preset, **({"qp": "0"} if lossless else {"crf": str(crf)})}
    if lossless:
        raise VideoError("Lossless video needs libx264, which this PyAV lacks: reinstall PyAV from its wheel.")
    if codec == "mpeg4":  # a fixed quantiser (2..31); CRF 23 is about q 5
        return {"flags": "+qscale", "global_quality": str(118 * min(31, max(2, round(crf / 5))))}
    return {}


def _encode(dst: Path, timed: _Timed, time_base: Fraction, rate: Fraction, size: Optional[tuple[int, int]],
            crf: int, preset: str, lossless: bool, codec: Optional[str]) -> Path:
    """Encode ``(pts, frame)`` pairs (pts in ``time_base``, increasing) into an MP4 at ``dst``, at ``size`` or the
    first frame's. Each frame lasts until the next one and the last until the ``end`` of the closing
    ``(end, None)``, so the duration is right. Odd sides are made even for 4:2:0, which H.264 needs."""
    codec = codec or VIDEO_CODEC
    pix_fmt = "yuv444p" if lossless else "yuv420p"
    options = {"movflags": "+faststart"}
    if time_base.numerator == 1:  # keep the ticks: MP4 would double a timescale below 10000 until it is not
        options["video_track_timescale"] = str(time_base.denominator)
    try:
        with atomic_path(dst, suffix=".mp4") as tmp, av.open(str(tmp), "w", format="mp4", options=options) as out:
            stream = out.add_stream(codec, rate=rate, options=_options(codec, crf, preset, lossless))
            assert isinstance(stream, av.VideoStream)
            stream.pix_fmt, stream.thread_type = pix_fmt, "AUTO"  # x264 compresses frame threads better than slices
            stream.time_base = stream.codec_context.time_base = time_base
            durations: dict[int, int] = {}  # encoders reorder frames: a packet finds its frame's duration here

            def send(frame: Optional[av.VideoFrame]) -> None:
                for packet in stream.encode(frame):
                    if packet.pts is not None:
                        packet.duration = durations.pop(packet.pts, packet.duration or 0)
                    out.mux(packet)

            last: Optional[tuple[int, av.VideoFrame]] = None
            for pts, frame in timed:
                if last is not None:
                    durations[last[0]] = pts - last[0]
                    send(last[1])
                if frame is None:
                    break
                if last is None:  # the size, and the colours tagged as in the source (BT.709 read as BT.601 is off)
                    w, h = size or (frame.width, frame.height)
                    stream.width, stream.height = (w, h) if lossless else (w - w % 2, h - h % 2)
                    for key in ("colorspace", "color_range", "color_primaries", "color_trc"):
                        setattr(stream.codec_context, key, getattr(frame, key))
                last = (pts, frame.reformat(stream.width, stream.height, pix_fmt, interpolation="BICUBIC"))
                last[1].pts, last[1].time_base = pts, time_base
            send(None)
    except (av.error.FFmpegError, OSError):
        raise VideoError(f"{dst} cannot be written: choose a folder that exists, is writable and has space.") from None
    return dst


def cut_clip(src: os.PathLike[str] | str, dst: os.PathLike[str] | str, start_s: float = 0.0,
             length_s: Optional[float] = None, size: Optional[tuple[int, int]] = None, crf: int = DEFAULT_CRF,
             preset: str = DEFAULT_PRESET, codec: Optional[str] = None) -> Path:
    """Re-encode ``src``'s video from ``start_s`` for ``length_s`` seconds (to the end when None) into an MP4 at
    ``dst``, scaled to ``size`` = (width, height) if given; no sound. Times count from the first frame, as
    :class:`~core.video.SampleReader` counts them: the frame on screen at t in the cut is the one on screen at
    ``start_s + t`` in ``src``. The cut ends with the last frame that starts before ``start_s + length_s``,
    held as long as in ``src``, so a 29.97 fps cut stays 29.97 fps. Returns ``dst``.

    >>> cut_clip("film.mp4", "part.mp4", start_s=110, length_s=60, size=(640, 360), crf=30)  # doctest: +SKIP
    """
    if start_s < 0 or (length_s is not None and not length_s > 0) or (size is not None and min(size) <= 0):
        raise ValueError(f"need start_s >= 0, length_s > 0 and a positive size, got {start_s}, {length_s}, {size}")
    p = check_file(src)
    try:
        container = av.open(str(p))
        stream = container.streams.video[0]
    except (av.error.FFmpegError, OSError, IndexError):  # IndexError: no video stream (sound only, or damaged)
        raise unreadable(p.name) from None
    tb = stream.time_base or Fraction(1, 1000)
    base = stream.start_time or 0
    rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    start = base + round(Fraction(start_s) / tb)
    stop = None if length_s is None else start + round(Fraction(length_s) / tb)
    eps = round(Fraction(SampleReader.EPS) / tb)  # timestamps rounded to the millisecond

    def decoded() -> Iterator[av.VideoFrame]:
        try:
            if start > base:
                container.seek(start, stream=stream, backward=True)
            yield from container.decode(stream)
        except av.error.FFmpegError:
            raise VideoError(f"{p.name} cannot be decoded to the end: it is damaged; use a complete copy.") from None

    def timed() -> _Timed:
        held: Optional[av.VideoFrame] = None  # the last frame at or before start: on screen at 0
        end = start
        for frame in decoded():
            pts = frame.pts if frame.pts is not None else end
            if stop is not None and pts >= stop - eps:
                break
            if pts <= start + eps:
                held = frame
            else:
                if held is not None:
                    yield 0, held
                    held = None
                yield pts - start, frame
            end = pts + (frame.duration or round(1 / (rate * tb)))
        if end <= start:
            raise VideoError(f"{p.name} has no frames after {start_s:.1f} s: choose a start inside the video.")
        if held is not None:
            yield 0, held
        yield end - start, None

    try:
        return _encode(Path(dst), timed(), tb, rate, size, crf, preset, False, codec)
    finally:
        container.close()


def write_video(dst: os.PathLike[str] | str, frames: Iterable[np.ndarray], fps: Fraction | int,
                times: Optional[Iterable[float | Fraction]] = None, time_base: Optional[Fraction] = None,
                lossless: bool = False, crf: int = DEFAULT_CRF, preset: str = DEFAULT_PRESET,
                codec: Optional[str] = None) -> Path:
    """Encode RGB uint8 frames (H, W, 3) into an MP4 at ``dst``: frame i at ``times[i]`` seconds (a variable
    frame rate) or, without ``times``, at i / ``fps``; the last frame lasts 1 / ``fps``. Timestamps count in
    ``time_base``: by default 1/1000 with ``times``, else 1/N with whole ticks per frame and N >= 10000 (1/12800
    at 25 fps, 1/30000 at 30000/1001), as FFmpeg's MP4 writer picks it. ``lossless`` is x264 at qp 0 in 4:4:4,
    for test clips whose pixel values carry meaning. Returns ``dst``.

    >>> write_video("grey.mp4", [np.full((96, 96, 3), g, np.uint8) for g in (0, 50, 100)], fps=10,
    ...             times=[0.0, 0.1, 0.5], lossless=True)  # doctest: +SKIP
    """
    rate = Fraction(fps)
    tb = time_base or Fraction(1, 1000)
    if time_base is None and times is None:  # whole ticks per frame, >= 10000 a second, as FFmpeg's MP4 writer
        tb = Fraction(1, rate.numerator)
        while tb.denominator < 10000:
            tb /= 2

    def timed() -> _Timed:
        at = iter(times) if times is not None else (i / rate for i in itertools.count())
        pts, shape = -1, None
        for arr in frames:
            t, shape = next(at, None), shape or arr.shape
            if t is None or arr.shape != shape or arr.ndim != 3 or shape[2] != 3 or arr.dtype != np.uint8:
                raise ValueError(f"frames must be uint8 RGB (H, W, 3) of one size, each with a time, got {arr.shape}")
            if round(Fraction(t) / tb) <= pts:
                raise ValueError(f"times must increase, got {float(t)} s after {float(pts * tb)} s")
            pts = round(Fraction(t) / tb)
            yield pts, av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
        if pts < 0:
            raise ValueError("write_video needs at least one frame")
        yield pts + round(1 / (rate * tb)), None

    return _encode(Path(dst), timed(), tb, rate, None, crf, preset, lossless, codec)
