"""Mirror images of labelled frames: each labelled moment once more, its frame flipped left to right.

A character seen walking right is then also seen walking left, with the same labels. The spatial head trained
on both carried better from one part of a film to the other (cross-part macro F1 at 100 random labels 0.749
against 0.716 on 6 seeds, 50 suggested labels 0.914 against 0.851; ``docs/accuracy.md``, "A spatial
multiple-instance head").

The network sees the frame on screen at each moment by the rule of :class:`core.video.SampleReader`, scaled
as :func:`core.features.extract_features` scales it (:class:`core.pictures.Scaler`), then flipped. Only the
labelled moments are decoded: the decoder seeks to the keyframe before a moment unless the moment is a few
seconds after the last one. Features are cached moment by moment under the video's features' key with
:data:`SUFFIX` (an entry holds every moment mirrored so far and is replaced whole, so a run killed halfway
leaves the entry before it), so training again computes only the moments labelled since.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional

import av
import numpy as np

from . import config
from .cache import FeatureCache
from .errors import BackboneError, VideoError
from .features import FeatureSet, check_unchanged, entry_meta, key_network
from .hashing import hashed_identity
from .pictures import Scaler
from .progress import ProgressCallback, report
from .video import SampleReader, moment_ms, shown, unreadable

#: Added to the key of a video's features to name the cache entry of its mirrored moments.
SUFFIX = "-mirrored"
#: A moment further than this after the frame decoded last is reached by seeking to its keyframe, a nearer
#: one by decoding on (seconds).
SEEK_AFTER_S = 4.0


def mirrored_key(backbone_key: str) -> str:
    """The cache key of the mirrored moments of features ``backbone_key``.

    >>> mirrored_key("efflite0-imagenet-stage16+block-cells-288x512")
    'efflite0-imagenet-stage16+block-cells-288x512-mirrored'
    """
    return backbone_key + SUFFIX


#: Containers whose seeking lands on the keyframe before a presentation time (checked against sampling, B-frames
#: included); in the others (MPEG program and transport streams, AVI) the moments are decoded in order instead.
SEEKABLE = ("mov", "mp4", "matroska", "webm")


def frames_on_screen(path: Path, times: Sequence[float], every: float) -> Iterator[tuple[float, av.VideoFrame]]:
    """``(t, frame)`` for each of ``times`` (moments of sampling every ``every`` seconds) in increasing order: the
    decoder's frame on screen at ``t``, the very frame :class:`core.video.SampleReader` gives that moment.
    :class:`VideoError` for a file that cannot be decoded there."""
    name = shown(path.name)
    try:
        container = av.open(str(path))
        stream = container.streams.video[0]
        seekable = any(f in SEEKABLE for f in container.format.name.split(","))
    except (av.error.FFmpegError, OSError, IndexError):
        raise unreadable(name) from None
    try:
        if seekable:
            yield from _by_seeking(container, stream, sorted(times), name)
        else:
            container.close()
            wanted = Counter(moment_ms(t) for t in times)
            for _, time_s, _, frame in SampleReader(path, every).decoded():
                for _ in range(wanted[moment_ms(time_s)]):
                    yield time_s, frame
    except av.error.FFmpegError:
        raise VideoError(f"{name} cannot be decoded near a labelled moment: it is damaged; re-encode it to MP4 "
                         "(H.264).") from None
    finally:
        container.close()


def _by_seeking(container: av.container.InputContainer, stream: av.VideoStream, times: list[float], name: str
                ) -> Iterator[tuple[float, av.VideoFrame]]:
    """:func:`frames_on_screen` in a container of :data:`SEEKABLE`: seek to the keyframe before a moment unless
    it is within :data:`SEEK_AFTER_S` of the frame decoded last, then decode on."""
    stream.thread_type = "AUTO"
    base = stream.start_time or 0
    tb = stream.time_base or Fraction(1, 1000)
    decoding: Optional[Iterator[av.VideoFrame]] = None
    last: Optional[tuple[float, av.VideoFrame]] = None     # on screen at the previous moment
    ahead: Optional[tuple[float, av.VideoFrame]] = None    # the first frame decoded after it
    for t in times:
        target = float(t) + SampleReader.EPS
        back = 0.0  # how far before the moment the seek aims; more when it landed after the moment
        while True:
            if decoding is None or last is None or target < last[0] or target - last[0] > SEEK_AFTER_S:
                container.seek(base + int(max(target - back, 0.0) / tb), stream=stream, backward=True)
                decoding, last, ahead = container.decode(stream), None, None
            if ahead is not None and ahead[0] <= target:
                last, ahead = ahead, None
            while ahead is None:
                frame = next(decoding, None)
                if frame is None:
                    break
                if frame.pts is None:
                    raise VideoError(f"The frames of {name} carry no timestamps, so its moments cannot be found "
                                     "again: re-encode it to MP4 (H.264).")
                at = (float((frame.pts - base) * tb), frame)
                if at[0] > target:
                    ahead = at
                else:
                    last = at
            if last is not None or target - back <= 0.0:
                break
            back = max(2.0, 4 * back)  # the seek landed after the moment: aim further back
            decoding = None
        if last is None:
            raise VideoError(f"No frame of {name} is on screen at {t:.1f} s: re-encode it to MP4 (H.264).")
        yield float(t), last[1]


def _flipped_inputs(path: Path, times: Sequence[float], every: float, size: tuple[int, int]
                    ) -> Iterator[np.ndarray]:
    """The network's input of each frame of :func:`frames_on_screen`, flipped left to right."""
    to_input = Scaler(size)
    for _, frame in frames_on_screen(path, times, every):
        try:
            image = to_input(frame)
        except av.error.FFmpegError:
            raise VideoError(f"A frame of {shown(path.name)} near a labelled moment cannot be converted: re-encode "
                             "it to MP4 (H.264).") from None
        yield np.ascontiguousarray(image[:, ::-1])


class _ReadAhead:
    """Iterate over ``items`` produced by a thread of its own, up to ``depth`` ahead; what the thread raises is
    raised by the iteration. Leaving the ``with`` block stops the thread (and closes ``items``)."""

    _END = object()

    def __init__(self, items: Iterator[np.ndarray], depth: int = 2 * config.BATCH_SIZE) -> None:
        self._items = items
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="mirror-decoder", daemon=True)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    return
            self._put(self._END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            self._put(exc)
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> Iterator[np.ndarray]:
        self._thread.start()
        return self._iterate()

    def _iterate(self) -> Iterator[np.ndarray]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, np.ndarray)
            yield item

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def not_mirrored_yet(cache: FeatureCache, sha256: str, every: float, backbone_key: str, times: Sequence[float]
                     ) -> int:
    """How many of the moments ``times`` of a video (its content hash, sampling step and features' key) have
    no mirror image in ``cache`` yet (for a time estimate; only the entry's times are read)."""
    entry = cache.load(sha256, every, mirrored_key(backbone_key), arrays=("times",))
    have = {moment_ms(t) for t in entry["times"]} if entry is not None else set()
    return len({moment_ms(t) for t in times} - have)


def mirrored_features(fs: FeatureSet, times: np.ndarray, cache: Optional[FeatureCache] = None,
                      progress: Optional[ProgressCallback] = None) -> np.ndarray:
    """The features of the frames at ``times`` (moments of ``fs``) flipped left to right, one row per time,
    from the cache where it has them; the others are computed by ``fs``'s network and added to the cache.

    Raises :class:`VideoError` (one sentence) when ``fs``'s video is no longer the file its features were
    computed from, or cannot be decoded at those moments. Reports ``mirroring`` per frame computed.
    """
    cache = cache if cache is not None else FeatureCache()
    key = mirrored_key(fs.backbone)
    want = np.asarray(times, np.float64)
    entry = cache.load(fs.video_sha256, fs.every, key)
    if entry is not None and entry["features"].shape[1] != fs.features.shape[1]:
        entry = None  # written by another version of the network: computed again
    have_t = entry["times"] if entry is not None else np.zeros(0)
    have_f = entry["features"] if entry is not None else np.zeros((0, fs.features.shape[1]), fs.features.dtype)
    index = {moment_ms(t): i for i, t in enumerate(have_t)}
    exact = {moment_ms(t): float(t) for t in want}  # the moments as sampled, not rounded
    missing = [exact[m] for m in sorted(set(exact) - set(index))]
    if missing:
        new_f = _compute(fs, missing, progress)
        all_t = np.concatenate([have_t, np.asarray(missing, np.float64)])
        all_f = np.concatenate([have_f, new_f.astype(have_f.dtype)])
        order = np.argsort(all_t, kind="stable")
        have_t, have_f = all_t[order], all_f[order]
        with contextlib.suppress(OSError):  # a full disk: they are computed again next time, never half-kept
            cache.store(fs.video_sha256, fs.every, key, entry_meta(fs, key, len(have_t)),
                        {"times": have_t, "features": have_f})
        index = {moment_ms(t): i for i, t in enumerate(have_t)}
    return np.asarray(have_f[[index[moment_ms(t)] for t in want]])


def _compute(fs: FeatureSet, times: list[float], progress: Optional[ProgressCallback]) -> np.ndarray:
    """Features of the flipped frames at ``times`` (increasing, each once; one row each, in that order) by
    ``fs``'s network, after checking that the video is still the file ``fs`` was computed from."""
    name = shown(fs.video.name)
    if not fs.video.is_file():
        raise VideoError(f"{name} is no longer where its features were computed ({fs.video}), so its labelled "
                         "frames cannot be mirrored: put it back there.")
    try:
        sha, identity = hashed_identity(fs.video)
    except OSError:
        raise VideoError(f"{name} cannot be read now, so its labelled frames cannot be mirrored: check that the "
                         "file is readable.") from None
    if sha != fs.video_sha256:
        raise VideoError(f"{name} has changed since it was sampled, so its labelled frames cannot be mirrored: "
                         "sample it again.")
    factory, spec, weights = key_network(fs.backbone)
    report(progress, "mirroring", 0, len(times))
    rows: list[np.ndarray] = []
    batch: list[np.ndarray] = []
    # Decoding runs ahead in a thread of its own while the network loads and embeds (both leave the
    # interpreter free), as sampling's decoding process does.
    size = (int(spec.input_size[0]), int(spec.input_size[1]))
    try:
        with _ReadAhead(_flipped_inputs(fs.video, times, fs.every, size)) as inputs:
            backbone = factory(spec, weights)
            if backbone.key != fs.backbone:
                raise VideoError(f"The features of {name} ({fs.backbone}) cannot be computed again here (this "
                                 f"network gives {backbone.key}): sample the video again.")
            for image in inputs:
                batch.append(image)
                if len(batch) == config.BATCH_SIZE:
                    rows.append(backbone.embed(np.stack(batch)))
                    batch.clear()
                    report(progress, "mirroring", sum(len(r) for r in rows), len(times))
            if batch:
                rows.append(backbone.embed(np.stack(batch)))
    except VideoError:
        check_unchanged(fs.video, identity)  # a file removed or cut short under us: say that instead
        raise
    check_unchanged(fs.video, identity)
    if sum(len(r) for r in rows) != len(times):
        raise VideoError(f"Some labelled moments of {name} were not found again in it: re-encode it to MP4 "
                         "(H.264).")
    report(progress, "mirroring", len(times), len(times))
    return np.concatenate(rows)


@dataclass(frozen=True)
class MirroredCopies:
    """The mirror images of the labelled moments of several videos, for
    :meth:`core.classifier.ScreenTimeClassifier.fit`'s ``copies`` and ``copy_of`` (row indices into the
    moments :func:`core.jobs.training_matrix` stacks), and a sentence for each video left without them."""

    features: np.ndarray
    copy_of: np.ndarray
    not_mirrored: tuple[str, ...] = ()


def labelled_copies(moments: Sequence[tuple[FeatureSet, np.ndarray]], cache: Optional[FeatureCache] = None,
                    progress: Optional[ProgressCallback] = None) -> MirroredCopies:
    """The mirror images of the labelled moments of several videos (each video's features and the indices of its
    labelled moments, :func:`core.jobs.labelled_moments`), in :func:`core.jobs.training_matrix`'s order. A video
    that cannot give them (moved, changed, undecodable there; or its network cannot be built) is left out, with
    the sentence that says why in ``not_mirrored``: training goes on without its copies."""
    rows: list[np.ndarray] = []
    of: list[np.ndarray] = []
    notes: list[str] = []
    start = 0
    for fs, idx in moments:
        try:
            rows.append(mirrored_features(fs, fs.times[idx], cache, progress))
            of.append(start + np.arange(len(idx)))
        except (VideoError, BackboneError) as exc:
            notes.append(str(exc))
        start += len(idx)
    if not rows:
        width = moments[0][0].features.shape[1] if moments else 0
        return MirroredCopies(np.zeros((0, width), np.float32), np.zeros(0, np.int64), tuple(notes))
    return MirroredCopies(np.concatenate(rows), np.concatenate(of).astype(np.int64), tuple(notes))
