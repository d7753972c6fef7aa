"""Reading videos: what a file is (:func:`probe_video`) and its sampled moments (:class:`SampleReader`).

Time is exact: the frame rate is a :class:`fractions.Fraction` (29.97 fps is 30000/1001) and every frame's
time comes from its own timestamp in the container, so variable-frame-rate files come out right. Sampling
decodes with PyAV (FFmpeg), which can leave out frames that no moment needs and no other frame refers to;
OpenCV reads a file's header. Frames that are not needed are never converted, and the
video is never held in memory.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional

import av
import cv2
import numpy as np

from . import config

# OpenCV may have been imported before core set its log level: silence it here too (builds without the
# logging module have nothing to silence).
with contextlib.suppress(AttributeError):
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
from .errors import VideoError
from .progress import ProgressCallback, report

#: A decoded video that ends before this share of the length its header announces is called truncated.
TRUNCATED_SHARE = 0.9
#: Frames per second above which a header is taken to be damaged: the fastest cameras people film with record
#: 960-1000 fps slow motion, and no player shows more; a damaged AVI header claiming 2^31 fps otherwise
#: squeezes the whole video into a millisecond and gives an empty timeline.
MAX_FPS = 1000
#: FFmpeg's demuxers of still pictures: a PNG renamed .mp4 opens as a one-frame "video" of no length.
_PICTURE_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "webp_pipe", "tiff_pipe", "gif_pipe",
                    "ppm_pipe", "pgm_pipe", "pgmyuv_pipe", "pam_pipe", "qoi_pipe", "svg_pipe", "dpx_pipe",
                    "exr_pipe", "j2k_pipe", "jpegls_pipe", "psd_pipe", "xpm_pipe", "pcx_pipe", "sgi_pipe",
                    "sunrast_pipe", "hdr_pipe", "photocd_pipe", "pictor_pipe", "qdraw_pipe", "xbm_pipe", "xwd_pipe")

_FFMPEG_HINT = "re-encode it to MP4 (H.264), for example with `ffmpeg -i INPUT -c:v libx264 OUTPUT.mp4`"


@dataclass(frozen=True)
class VideoInfo:
    """What a video file is, read from its header and first frame.

    ``duration_s`` is ``frame_count / fps`` as the header says; :class:`SampleReader` measures the real end.

    >>> info = probe_video("clip.mp4")  # doctest: +SKIP
    >>> info.fps, info.duration_s        # doctest: +SKIP
    (Fraction(30000, 1001), 10.01)
    """

    path: Path
    fps: Fraction
    frame_count: int
    width: int
    height: int
    size_bytes: int

    def __post_init__(self) -> None:
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"frame size must be positive, got {self.width}x{self.height}")

    @property
    def duration_s(self) -> float:
        return float(self.frame_count / self.fps) if self.frame_count > 0 else 0.0

    @property
    def frame_interval_s(self) -> float:
        return float(1 / self.fps)


@dataclass(frozen=True)
class Sample:
    """One sampled moment: the frame on screen at ``time_s``.

    ``time_s`` is the nominal moment (k * every); ``frame_time_s`` is the decoder's timestamp of the frame
    used; ``frame`` is RGB, uint8, shape (height, width, 3).
    """

    index: int
    time_s: float
    frame_time_s: float
    frame: np.ndarray

    def __post_init__(self) -> None:
        if self.frame.ndim != 3 or self.frame.shape[2] != 3 or self.frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 (H, W, 3), got {self.frame.dtype} {self.frame.shape}")


def _as_fraction(fps: float) -> Fraction:
    """The exact rate behind a decoder's float: 29.97 -> 30000/1001, 23.976 -> 24000/1001, 25.0 -> 25.

    Containers often round NTSC rates (30000/1001 stored as 29.97); the frame timestamps then follow
    30000/1001, so a rate within 0.01% of an N*1000/1001 rate is taken to be it.
    """
    ntsc = Fraction(round(fps * 1.001) * 1000, 1001)
    if ntsc > 0 and abs(float(ntsc) - fps) < 1e-4 * fps:
        return ntsc
    return Fraction(fps).limit_denominator(1001)


def unreadable(name: str) -> VideoError:
    """The one sentence for a file that no decoder can open."""
    return VideoError(f"{name} is not a video we can read: it is not a video, or it is incomplete (an "
                      f"interrupted download or copy) or damaged; use the complete file or {_FFMPEG_HINT}.")


def check_size(size: int, name: str) -> None:
    """Refuse a video larger than :data:`core.config.MAX_VIDEO_BYTES` (files on disk and uploads alike)."""
    if size > config.MAX_VIDEO_BYTES:
        gib = config.MAX_VIDEO_BYTES / 1024**3
        raise VideoError(f"{name} is larger than {gib:.0f} GiB: cut it into shorter parts and add them one by one.")


def shown(name: os.PathLike[str] | str) -> str:
    """A file name as it can be printed: bytes that are not UTF-8 (kept by Python as surrogates) are shown as
    ``\\xNN``, so a message about the file can always be printed and still tells which file it is.

    >>> shown("caf\\udce9.mp4")
    'caf\\\\xe9.mp4'
    """
    return os.fsencode(os.fspath(name)).decode("utf-8", "backslashreplace")


def _is_text(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@contextlib.contextmanager
def _capture(path: Path, name: str) -> Iterator[cv2.VideoCapture]:
    """OpenCV's reader of ``path``. OpenCV crashes (a segmentation fault) on a path that is not UTF-8: such a
    file is opened by us and handed over as ``/proc/self/fd/N`` (Linux), or refused with one sentence."""
    target, fd = str(path), None
    if not _is_text(target):
        if not os.path.isdir("/proc/self/fd"):
            raise VideoError(f"The name of {shown(path)} is not valid text (UTF-8), which the video decoder cannot "
                             "open here: rename the file (for example to video.mp4) and try again.")
        fd = os.open(path, os.O_RDONLY)
        target = f"/proc/self/fd/{fd}"
    cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG)
    try:
        if not cap.isOpened():
            raise unreadable(name)
        yield cap
    finally:
        cap.release()
        if fd is not None:
            os.close(fd)


def check_file(path: os.PathLike[str] | str, name: Optional[str] = None) -> Path:
    """The checks that need no decoder: the file exists, is a file, is not empty and not too large, and its
    path is text the decoders can be given. ``name`` is the file's name in messages (default: its own)."""
    p = Path(path)
    label = name if name is not None else shown(p.name)
    if not p.exists():
        raise VideoError(f"There is no file at {p}: check the path and try again.")
    if p.is_dir():
        raise VideoError(f"{p} is a folder, not a video file: choose a video file inside it.")
    if not p.is_file():
        raise VideoError(f"{p} is not a file (a device or a pipe): choose a video file.")
    size = p.stat().st_size
    if size == 0:
        raise VideoError(f"{label} is empty (0 bytes): choose the complete video file.")
    check_size(size, label)
    return p


def _still_picture(path: Path) -> bool:
    """Whether FFmpeg reads the file as a still picture (PNG, JPEG... whatever its extension says)."""
    try:
        with av.open(str(path)) as container:
            return container.format.name in _PICTURE_FORMATS or any(
                n in _PICTURE_FORMATS for n in container.format.name.split(","))
    except (av.error.FFmpegError, OSError, IndexError):
        return False


def probe_video(path: os.PathLike[str] | str, name: Optional[str] = None) -> VideoInfo:
    """Read a video's frame rate, frame count and size, and check that its first frame decodes.

    Raises :class:`VideoError` with a sentence saying what to do for a missing, empty, oversized, non-video,
    undecodable or frameless file, a still picture, or a header with an impossible frame rate. ``name`` is
    the file's name in those sentences (an upload's own name, not its temporary one).
    """
    p = check_file(path, name)
    label = name if name is not None else shown(p.name)
    if _still_picture(p):
        raise VideoError(f"{label} is a still picture, not a video: choose a video file.")
    with _capture(p, label) as cap:
        ok = cap.grab()
        if not ok:
            raise VideoError(f"{label} contains no video frames we can decode: {_FFMPEG_HINT}.")
        ok, frame = cap.retrieve()
        if not ok or frame is None:
            raise VideoError(f"The first frame of {label} cannot be decoded: {_FFMPEG_HINT}.")
        fps = cap.get(cv2.CAP_PROP_FPS)
        if not fps or not np.isfinite(fps) or fps <= 0:
            raise VideoError(f"Unable to read the frame rate of {label}: {_FFMPEG_HINT}.")
        if fps > MAX_FPS:
            raise VideoError(f"{label} claims {fps:.4g} frames per second, which no video has (at most "
                             f"{MAX_FPS}): its header is damaged; {_FFMPEG_HINT}.")
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        h, w = frame.shape[:2]
        return VideoInfo(path=p, fps=_as_fraction(fps), frame_count=max(count, 0), width=w, height=h,
                         size_bytes=p.stat().st_size)


def _decoder_threads() -> int:
    """Threads for decoding: half the cores, since the network runs on the others. On 2 cores this is one
    thread, which also costs the least CPU in all."""
    return max(1, (os.cpu_count() or 2) // 2)


def _nal_starts(data: bytes, length_size: int) -> Iterator[int]:
    """Where each NAL unit of a packet starts (its header byte): length-prefixed units (MP4,
    ``length_size`` > 0) or start-code delimited ones (Annex B, ``length_size`` 0)."""
    if length_size:
        i = 0
        while i + length_size < len(data):
            yield i + length_size
            i += length_size + int.from_bytes(data[i:i + length_size], "big")
        return
    i = data.find(b"\x00\x00\x01")
    while 0 <= i < len(data) - 3:
        yield i + 3
        i = data.find(b"\x00\x00\x01", i + 3)


def _clean_start(codec: str, extradata: bytes, data: bytes) -> bool:
    """Whether a keyframe packet is an IDR picture (H.264, HEVC): no picture after it decodes from any
    before it. Other keyframes (H.264 I pictures with a recovery point, HEVC CRA, other codecs) do not
    count: measured on Big Buck Bunny, skipping the frames before its recovery-point I pictures changed 9
    of 597 samples."""
    if codec == "h264":
        size = (extradata[4] & 3) + 1 if len(extradata) > 4 and extradata[0] == 1 else 0
        for start in _nal_starts(data, size):
            kind = data[start] & 0x1F
            if kind in (1, 5):  # the first slice: non-IDR or IDR
                return kind == 5
    elif codec == "hevc":
        size = (extradata[21] & 3) + 1 if len(extradata) > 22 and extradata[0] == 1 else 0
        for start in _nal_starts(data, size):
            kind = (data[start] >> 1) & 0x3F
            if kind < 32:  # the first slice: IDR_W_RADL and IDR_N_LP are types 19 and 20
                return kind in (19, 20)
    return False


@dataclass(frozen=True)
class _Packets:
    """What a first pass over a video's packets tells without decoding any: every frame's timestamp (in
    presentation order), the timestamps in decode order, and where in that order a clean GOP starts (a
    keyframe that no later frame decodes across, with no frame shown before it)."""

    order: list[Optional[int]]
    clean: list[int]

    @property
    def ticks(self) -> list[int]:
        return sorted({t for t in self.order if t is not None})

    def droppable(self, need: set[int]) -> set[int]:
        """Timestamps of packets that need not reach the decoder: the ones after the last needed frame of a
        GOP (in decode order) when a clean GOP follows, so nothing later refers to them."""
        drop: set[int] = set()
        for start, nxt in zip(self.clean, self.clean[1:]):
            gop = self.order[start:nxt]
            last = max((i for i, t in enumerate(gop) if t is None or t in need), default=-1)
            drop.update(t for t in gop[last + 1:] if t is not None)
        return drop


def _scan_packets(path: Path) -> _Packets:
    """Read the container's packets once, decoding none. A damaged file yields what comes before the damage."""
    order: list[Optional[int]] = []
    keys: list[tuple[int, bool]] = []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            extradata = bytes(stream.codec_context.extradata or b"")
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                if packet.is_keyframe:
                    keys.append((len(order), _clean_start(codec, extradata, bytes(packet))))
                order.append(packet.pts)
    except (av.error.FFmpegError, OSError, IndexError):
        pass
    clean = []
    for n, (start, ok) in enumerate(keys):
        end = keys[n + 1][0] if n + 1 < len(keys) else len(order)
        first = order[start]
        # Frames shown before the keyframe but decoded after it (an open GOP) refer to the GOP before.
        if ok and first is not None and all(t is not None and t > first for t in order[start + 1:end]):
            clean.append(start)
    return _Packets(order, clean)


def moment_ms(time_s: float) -> int:
    """A moment's time in whole milliseconds: the key that tells sampled moments apart (labels, caches), so
    that times computed two ways (k * every, a stored float) meet.

    >>> moment_ms(0.1 + 0.2), moment_ms(0.3)
    (300, 300)
    """
    return int(round(float(time_s) * 1000))


class SampleReader:
    """Iterate over the moments t = 0, every, 2*every, ... of a video, decoding each needed frame once.

    The frame used for moment t is the one on screen at t: the last frame whose timestamp is at or before t
    (1 ms tolerance for rounded timestamps). A first pass over the container's packets (no decoding) gives
    every frame's timestamp, so each frame's display interval is known exactly, also in variable-frame-rate
    files. Frames whose interval holds no moment are never converted. Those that no other frame refers to
    (most B-frames) are not decoded at all, nor are those after the last needed frame of a GOP when the next
    GOP starts with an IDR picture (nothing after it refers back): at 1 sample per second Big Buck Bunny
    decodes 6,881 of its 14,315 frames, with the same samples as a decoder that reads every frame. After a
    complete iteration, ``end_s`` is the measured end of the video (last timestamp + the last frame
    interval) and ``frames_decoded`` counts the frames the decoder produced.

    >>> reader = SampleReader("clip.mp4", every=1.0)   # doctest: +SKIP
    >>> [s.time_s for s in reader][:3]                 # doctest: +SKIP
    [0.0, 1.0, 2.0]
    """

    #: Seconds of slack for timestamps rounded to the millisecond.
    EPS = 1e-3

    def __init__(self, path: os.PathLike[str] | str, every: float = config.EVERY_S,
                 info: Optional[VideoInfo] = None, progress: Optional[ProgressCallback] = None) -> None:
        if not every > 0:
            raise ValueError(f"every must be a positive number of seconds, got {every}")
        self.info = info if info is not None else probe_video(path)
        self.every = float(every)
        self.progress = progress
        self.end_s: Optional[float] = None
        self.frames_decoded = 0

    def expected_samples(self) -> int:
        """How many moments the header's duration promises (the real count may differ by one)."""
        d = self.info.duration_s
        return int(np.ceil(d / self.every - 1e-9)) if d > 0 else 0

    def _needed(self, ticks: list[int], seconds: list[float], last_delta: float) -> set[int]:
        """The timestamps of the frames on screen at some moment."""
        need: set[int] = set()
        k = 0
        for i, tick in enumerate(ticks):
            until = seconds[i + 1] if i + 1 < len(ticks) else seconds[i] + last_delta
            if k * self.every < until - self.EPS:
                need.add(tick)
                while k * self.every < until - self.EPS:
                    k += 1
        return need

    def __iter__(self) -> Iterator[Sample]:
        last: Optional[av.VideoFrame] = None
        rgb: np.ndarray = np.zeros((0, 0, 3), np.uint8)
        for index, time_s, frame_time_s, frame in self.decoded():
            if frame is not last:  # a held frame is converted once, and its moments share the array
                rgb, last = frame.to_ndarray(format="rgb24"), frame
            yield Sample(index=index, time_s=time_s, frame_time_s=frame_time_s, frame=rgb)

    def decoded(self) -> Iterator[tuple[int, float, float, av.VideoFrame]]:
        """``(index, time_s, frame_time_s, frame)`` for every moment, with the decoder's own frame (YUV, not
        converted): the same object for each moment a frame is held over. For callers that scale frames
        themselves (:mod:`core.pictures`) instead of taking full-size RGB."""
        info = self.info
        name = shown(info.path.name)
        interval = info.frame_interval_s
        eps = self.EPS
        total = max(self.expected_samples(), 1)
        try:
            container = av.open(str(info.path))
            stream = container.streams.video[0]
        except (av.error.FFmpegError, OSError, IndexError):
            raise unreadable(name) from None
        base = stream.start_time or 0
        tb = stream.time_base or Fraction(1, 1000)
        packets = _scan_packets(info.path)
        ticks = packets.ticks
        seconds = [float((t - base) * tb) for t in ticks]
        after = {t: s for t, s in zip(ticks, seconds[1:])}                        # when each frame ends
        last_delta = seconds[-1] - seconds[-2] if len(seconds) > 1 else interval
        need = self._needed(ticks, seconds, last_delta)
        drop = packets.droppable(need)
        codec = stream.codec_context
        stream.thread_type = "AUTO"
        codec.thread_count = _decoder_threads()
        k = 0
        n = 0
        pts = -1.0
        until = 0.0
        try:
            for packet in container.demux(stream):
                if packet.pts in drop:
                    continue
                if packet.pts is not None and ticks:
                    # Frames nobody is shown and nothing refers to are dropped before decoding.
                    codec.skip_frame = "DEFAULT" if packet.pts in need else "NONREF"
                for av_frame in packet.decode():
                    n += 1
                    tick = av_frame.pts
                    # Some files carry no usable timestamps: count frames at the nominal rate instead.
                    known = tick is not None and float((tick - base) * tb) > pts
                    if tick is not None and known:
                        pts = float((tick - base) * tb)
                        until = after.get(tick, pts + last_delta)
                    else:
                        pts = pts + interval if n > 1 else 0.0
                        until = pts + interval
                    # Moments this frame is on screen for (and any a skipped or missing frame left behind).
                    while k * self.every < until - eps:
                        yield k, k * self.every, pts, av_frame
                        k += 1
                        report(self.progress, "decode", k, total)
        except av.error.FFmpegError:
            raise VideoError(f"{name} stops decoding at {max(pts, 0.0):.1f} s: it is damaged; {_FFMPEG_HINT}."
                             ) from None
        finally:
            container.close()
            self.frames_decoded = n
        if n == 0:
            raise VideoError(f"{name} contains no video frames we can decode: {_FFMPEG_HINT}.")
        end = until
        # The last frames may not have been decoded (no moment needs them and nothing refers to them): when
        # every moment up to the end the first pass found was given, that is the end.
        if ticks and k * self.every >= seconds[-1] + last_delta - eps:
            end = max(until, seconds[-1] + last_delta)
        if info.duration_s > 0 and end < TRUNCATED_SHARE * info.duration_s - interval:
            raise VideoError(
                f"{name} ends at {end:.1f} s although its header says {info.duration_s:.1f} s: the file is "
                "probably truncated (an interrupted download or copy); use the complete file.")
        self.end_s = end


def read_frame_at(path: os.PathLike[str] | str, time_s: float) -> np.ndarray:
    """The RGB frame on screen at ``time_s`` by the rule of :class:`SampleReader` (the last frame whose
    timestamp is at or before ``time_s``), so it shows the very frame a moment was sampled from. It seeks to
    the keyframe before ``time_s`` and decodes from there; for showing one frame, not for sampling a video."""
    p = check_file(path)
    target = max(time_s, 0.0) + SampleReader.EPS
    try:
        with av.open(str(p)) as container:
            stream = container.streams.video[0]
            base = stream.start_time or 0
            tb = stream.time_base or Fraction(1, 1000)
            container.seek(base + int(target / tb), stream=stream, backward=True)
            on_screen = None
            for frame in container.decode(stream):
                if on_screen is not None and frame.pts is not None and float((frame.pts - base) * tb) > target:
                    break
                on_screen = frame
    except (av.error.FFmpegError, OSError, IndexError):
        raise unreadable(shown(p.name)) from None
    if on_screen is None:
        raise VideoError(f"No frame at {time_s:.1f} s in {shown(p.name)}: choose a time inside the video.")
    return on_screen.to_ndarray(format="rgb24")
