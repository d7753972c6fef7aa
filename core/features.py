"""Features of every sampled moment of a video, computed once and cached.

:func:`extract_features` is the one orchestrator of this stage: it decodes and resizes frames in a
child process (:mod:`core.prefetch`) while the network runs on the previous batch, reports progress from the
calling thread only, and stores the result in the :class:`~core.cache.FeatureCache`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional, Protocol

import numpy as np

from . import config
from ._version import __version__
from .atomic import atomic_dir, remove_dead_temps
from .backbone import HED, IMAGENET, FeatureSpec, parse_key, resolve_weights
from .cache import FeatureCache
from .effnet import FAMILY as EFFNET_FAMILY
from .effnet import EfficientNetFactory
from .errors import BackboneError, VideoError
from .hashing import FileIdentity, file_identity, hashed_identity
from .pictures import SCALING, Thumbnails
from .prefetch import FramePrefetcher
from .progress import ProgressCallback, report
from .video import SampleReader, VideoInfo, probe_video, shown

#: Prefix of the temporary folder that collects a run's thumbnails; the process id follows, so that a later
#: run can tell the leftovers of a killed run (its process is gone) from those of a run still going.
THUMBS_TMP_PREFIX = ".thumbs."


@dataclass(frozen=True)
class FeatureSet:
    """Features of the sampled moments of one video.

    ``times`` are the moments (k * every), ``features`` one row per moment. ``duration_s`` is the measured
    end of the video. ``computed`` counts the frames embedded by this call (0 when read from the cache).
    """

    video: Path
    video_sha256: str
    fps: Fraction
    duration_s: float
    every: float
    backbone: str
    weights: str
    times: np.ndarray
    features: np.ndarray
    computed: int = 0
    seconds: float = 0.0
    thumbs_dir: Optional[Path] = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.times.ndim != 1:
            raise ValueError(f"times must be 1-D, got shape {self.times.shape}")
        if self.features.ndim != 2 or self.features.shape[0] != self.times.shape[0]:
            raise ValueError(f"features must be (len(times)={self.times.shape[0]}, D), got {self.features.shape}")

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def thumb_path(self, index: int) -> Optional[Path]:
        """The JPEG thumbnail of sampled moment ``index``, if thumbnails were kept."""
        if self.thumbs_dir is None:
            return None
        p = self.thumbs_dir / f"{index:06d}.jpg"
        return p if p.exists() else None


class BackboneFactory(Protocol):
    """Builds a backbone on demand, and names the cache keys it would produce without building it (so a
    warm cache never loads TensorFlow)."""

    def __call__(self, spec: FeatureSpec, weights: Optional[str]) -> Any: ...

    def candidate_keys(self, spec: FeatureSpec, weights: Optional[str]) -> list[str]: ...


class VGG16Factory:
    """Builds VGG16 backbones, once per process for each (spec, weights): a second video, or a second job of
    the dashboard, gets the network already loaded (building it costs seconds of TensorFlow, and an
    ImageNet download that cannot succeed offline is not tried again)."""

    default_spec = FeatureSpec()

    def __init__(self) -> None:
        self._built: dict[tuple[FeatureSpec, str], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, spec: FeatureSpec, weights: Optional[str]) -> Any:
        from .backbone import VGG16Backbone

        with self._lock:
            key = (spec, resolve_weights(weights))
            if key not in self._built:
                backbone = VGG16Backbone(spec, weights)
                self._built[key] = self._built[(spec, backbone.weights)] = backbone  # "auto" and what it chose
            return self._built[key]

    def candidate_keys(self, spec: FeatureSpec, weights: Optional[str]) -> list[str]:
        """Keys whose cached features answer this request, most preferred first: with ``auto``, ImageNet
        features if any were cached, else the HED backbone's."""
        choice = resolve_weights(weights)
        names = [IMAGENET, HED] if choice == "auto" else [choice]
        return [f"vgg16-{w}-{spec.tag}" for w in names]


_default_factory = VGG16Factory()

#: Backbone families by name: the first part of a backbone key ("vgg16-hed-bsds500-..." is a "vgg16" key).
#: A new feature network registers its factory here (:func:`register_backbone`); a project then uses it by
#: that name (its ``backbone`` setting), and every key it makes starts with that name.
_FACTORIES: dict[str, BackboneFactory] = {"vgg16": _default_factory, EFFNET_FAMILY: EfficientNetFactory()}


def register_backbone(family: str, factory: BackboneFactory) -> None:
    """Make ``factory`` available under ``family`` (a name without dashes, e.g. ``"efficientnet"``)."""
    if not family or "-" in family:
        raise ValueError(f"a backbone family is a name without dashes, got {family!r}")
    _FACTORIES[family] = factory


def backbone_family(key: str) -> str:
    """The family of a backbone key.

    >>> backbone_family("vgg16-hed-bsds500-block5_conv3-avg-224x224")
    'vgg16'
    """
    return key.split("-", 1)[0]


def default_spec(factory: BackboneFactory) -> FeatureSpec:
    """The features a family makes unless told otherwise (its ``default_spec``; VGG16's for a factory that
    names none)."""
    spec = getattr(factory, "default_spec", None)
    return spec if isinstance(spec, FeatureSpec) else FeatureSpec()


def backbone_factory(family: str = config.BACKBONE) -> BackboneFactory:
    """The registered factory of a backbone family; :class:`BackboneError` for an unknown one."""
    try:
        return _FACTORIES[family]
    except KeyError:
        known = ", ".join(sorted(_FACTORIES))
        raise BackboneError(f"There is no feature network called {family!r} here (known: {known}): "
                            "choose one of those, or install the package that provides it.") from None


#: :func:`backbone_factory` under a name that :func:`extract_features`' parameter of that name does not hide.
_factory_of = backbone_factory


def key_network(key: str, factory: Optional[BackboneFactory] = None
                ) -> tuple[BackboneFactory, FeatureSpec, Optional[str]]:
    """What computes the features of a backbone key again: its family's factory (or ``factory``), the spec and
    the weights the key names (the family's default spec and ``None`` for a key :func:`parse_key` cannot read).

    >>> _, spec, weights = key_network("vgg16-hed-bsds500-block5_conv3-avg-224x224")
    >>> spec.layers, weights
    (('block5_conv3',), 'hed-bsds500')
    """
    factory = factory or backbone_factory(backbone_family(key))
    parsed = parse_key(key)
    weights, spec = parsed if parsed is not None else (None, default_spec(factory))
    return factory, spec, weights


def _from_cache(entry: dict[str, Any], info: VideoInfo, thumbs: Optional[Path]) -> FeatureSet:
    m = entry["meta"]
    return FeatureSet(video=info.path, video_sha256=m["video_sha256"], fps=Fraction(m["fps"]),
                      duration_s=float(m["duration_s"]), every=float(m["every"]), backbone=m["backbone"],
                      weights=m["weights"], times=entry["times"], features=entry["features"], computed=0,
                      thumbs_dir=thumbs)


def _embed_all(frames: FramePrefetcher, backbone: Any, total: int, progress: Optional[ProgressCallback]
               ) -> tuple[list[float], np.ndarray, int]:
    """Embed every moment the prefetcher yields, in batches of :data:`core.config.BATCH_SIZE`; a held frame
    (None) takes the features of the frame before it. Returns the times, the features and how many frames
    the network embedded."""
    times: list[float] = []
    rows: list[Optional[np.ndarray]] = []
    batch: list[np.ndarray] = []
    batch_slots: list[int] = []
    embedded = 0

    def flush() -> None:
        nonlocal embedded
        if batch:
            out = backbone.embed(np.stack(batch))
            embedded += len(batch)
            for slot, row in zip(batch_slots, out):
                rows[slot] = row
            batch.clear()
            batch_slots.clear()

    for t, img in frames:
        times.append(t)
        rows.append(None)
        if img is not None:
            batch.append(img)
            batch_slots.append(len(rows) - 1)
            if len(batch) == config.BATCH_SIZE:
                flush()
                report(progress, "features", len(times), max(total, len(times)))
    flush()
    report(progress, "features", len(times), len(times))
    filled: list[np.ndarray] = []
    for row in rows:
        filled.append(row if row is not None else filled[-1])
    # float16 stays float16 (cell features: half the memory and cache); anything else becomes float32
    dtype = np.float16 if filled and filled[0].dtype == np.float16 else np.float32
    features = np.stack(filled).astype(dtype) if filled else np.zeros((0, backbone.dim), np.float32)
    return times, features, embedded


def _identity(path: os.PathLike[str] | str) -> Optional[FileIdentity]:
    try:
        return file_identity(path)
    except OSError:
        return None


def check_unchanged(path: Path, identity: Optional[FileIdentity]) -> None:
    """:class:`VideoError` when the file at ``path`` is no longer the version that was hashed: the frames
    decoded may then be another file's, and must not be stored under the first one's hash."""
    if identity is None or _identity(path) != identity:
        raise VideoError(f"{shown(path.name)} changed while it was being read (it was replaced, rewritten or "
                         "removed): run again once the file stays as it is.")


def remove_stale_thumbs(folder: Path) -> int:
    """Remove the temporary thumbnail folders in ``folder`` left by runs that were killed (their process is
    gone); returns how many. Those of runs still going are kept."""
    return remove_dead_temps(folder, THUMBS_TMP_PREFIX)


def extract_features(video: os.PathLike[str] | str, every: float = config.EVERY_S,
                     spec: Optional[FeatureSpec] = None, weights: Optional[str] = None,
                     cache: Optional[FeatureCache] = None, progress: Optional[ProgressCallback] = None,
                     keep_thumbs: bool = True, backbone_factory: Optional[BackboneFactory] = None,
                     ) -> FeatureSet:
    """Features of every moment t = 0, every, 2*every, ... of ``video``, from the cache when it has them.

    ``backbone_factory``: the feature network's family (default: :data:`core.config.BACKBONE`'s); ``spec``
    what it pools (default: the family's own). ``weights`` is ``None``/``"auto"``, ``"imagenet"`` or
    ``"hed"``/``"hed-bsds500"`` for VGG16 (see :mod:`core.backbone`). Raises :class:`~core.errors.VideoError`
    for files that are not readable videos.

    >>> fs = extract_features("clip.mp4", every=1.0)   # doctest: +SKIP
    >>> fs.features.shape, fs.weights                  # doctest: +SKIP
    ((60, 1024), 'imagenet')
    """
    if backbone_factory is None:
        backbone_factory = _factory_of(config.BACKBONE)
    spec = spec if spec is not None else default_spec(backbone_factory)
    before_probe = _identity(video)
    info = probe_video(video)
    cache = cache if cache is not None else FeatureCache()
    # The features stored must be those of the bytes hashed: the file's identity is taken with the hash, and
    # the file must still be that version when decoding ends (else nothing is stored, and the run stops).
    sha, identity = hashed_identity(info.path)
    if identity != before_probe:
        check_unchanged(info.path, None)
    thumbs = cache.thumbs_dir(sha, every)
    have_thumbs = thumbs.is_dir()
    for key in backbone_factory.candidate_keys(spec, weights):
        entry = cache.load(sha, every, key)
        if entry is not None and (have_thumbs or not keep_thumbs):
            fs = _from_cache(entry, info, thumbs if have_thumbs else None)
            report(progress, "features", len(fs), len(fs))
            return fs

    start = time.perf_counter()
    total = SampleReader(info.path, every, info).expected_samples()
    thumb_tmp: Optional[Path] = None
    if keep_thumbs and not have_thumbs:
        thumbs.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_thumbs(thumbs.parent)
        thumb_tmp = Path(tempfile.mkdtemp(prefix=f"{THUMBS_TMP_PREFIX}{os.getpid()}.", dir=thumbs.parent))

    # Decoding starts before the network loads (several seconds of TensorFlow start-up), so the first
    # frames wait in the queue when the network is ready.
    frames = FramePrefetcher(info, every, spec.input_size, thumb_tmp)
    try:
        with frames:
            report(progress, "loading network", 0, 0)
            backbone = backbone_factory(spec, weights)
            if tuple(backbone.input_size) != tuple(spec.input_size):
                raise ValueError(f"the backbone takes {backbone.input_size} frames but the spec says "
                                 f"{spec.input_size}")
            report(progress, "features", 0, total)  # the network is ready: a Cancel pressed meanwhile stops here
            try:
                times, features, embedded = _embed_all(frames, backbone, total, progress)
            except VideoError:
                check_unchanged(info.path, identity)  # a file removed or cut short under us: say that instead
                raise
        check_unchanged(info.path, identity)
        if not times:
            raise VideoError(f"{shown(info.path.name)} gave no moment to sample: it holds no frame we can decode; "
                             "re-encode it to MP4 (H.264).")
    except BaseException:
        if thumb_tmp is not None:
            shutil.rmtree(thumb_tmp, ignore_errors=True)
        raise
    assert frames.end_s is not None
    fs = FeatureSet(video=info.path, video_sha256=sha, fps=info.fps, duration_s=frames.end_s, every=float(every),
                    backbone=backbone.key, weights=backbone.weights, times=np.asarray(times, np.float64),
                    features=features, computed=embedded,
                    seconds=time.perf_counter() - start)
    cache.store(sha, every, backbone.key, entry_meta(fs, fs.backbone, len(fs)),
                {"times": fs.times, "features": fs.features})
    if thumb_tmp is not None:
        try:
            os.rename(thumb_tmp, thumbs)
        except OSError:
            shutil.rmtree(thumb_tmp, ignore_errors=True)
    return FeatureSet(**{**fs.__dict__, "thumbs_dir": thumbs if thumbs.is_dir() else None})


def entry_meta(fs: FeatureSet, backbone_key: str, frames: int) -> dict[str, Any]:
    """What a cache entry of ``frames`` moments of ``fs``'s video under ``backbone_key`` records beside its
    arrays (the video, its sampling, the network and weights, how frames were scaled, this version)."""
    return {"video_sha256": fs.video_sha256, "fps": str(fs.fps), "duration_s": fs.duration_s, "every": fs.every,
            "backbone": backbone_key, "weights": fs.weights, "frames": frames, "scaling": SCALING,
            "version": __version__}


def make_thumbs(video: Path, every: float, cache: FeatureCache, sha256: str) -> Path:
    """Write the thumbnails of the sampled moments of a video into the cache, as :func:`extract_features`
    does, for features that were computed elsewhere (the bundled demo's)."""
    final = cache.thumbs_dir(sha256, every)
    if not final.is_dir():
        def fill(tmp: Path) -> None:
            thumbnails = Thumbnails()
            for index, _, _, frame in SampleReader(video, every).decoded():
                thumbnails.write(frame, tmp / f"{index:06d}.jpg")

        atomic_dir(final, fill)
    return final
