"""The on-disk feature cache.

An entry is keyed by the video's content hash, the sampling step and the backbone key (network, weights,
layers, pooling, input size), so a second run on the same video computes nothing and a changed file never
meets stale features. Entries are written into a temporary folder and renamed into place in one step: a run
killed halfway leaves no entry that looks complete.

Layout under the cache folder (``$SCREENTIME_CACHE``)::

    features/<sha256[:20]>/every-<s>/<backbone key>/features.npz, meta.json
    frames/<sha256[:20]>/every-<s>/<index>.jpg        thumbnails of the sampled moments
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import config
from .atomic import json_text, replace_dir

#: What reading a damaged entry can raise (a truncated or altered npz, a JSON nested too deep...).
_READ_ERRORS = (OSError, ValueError, KeyError, TypeError, EOFError, RecursionError, zipfile.BadZipFile, zlib.error)

#: 2: frames are scaled to the network's input by FFmpeg (``core.pictures.SCALING``); format-1 entries, made
#: from frames scaled by OpenCV, are computed again.
FORMAT = 2


def every_tag(every: float) -> str:
    return f"every-{float(every):g}s"


def read_entry(d: Path, arrays_name: str, sha256: str, fmt: int, keys: Optional[Sequence[str]] = None
               ) -> Optional[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """``meta.json`` and the arrays (all, or only ``keys``) of a complete cache entry written for this video
    and format, else None.

    An entry that cannot be read is treated as missing: it is computed again rather than failing the run.
    """
    meta_path, arr_path = d / "meta.json", d / arrays_name
    if not (meta_path.is_file() and arr_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if not isinstance(meta, dict) or meta.get("format") != fmt or meta.get("video_sha256") != sha256:
            return None
        with np.load(arr_path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in (z.files if keys is None else keys)}
    except _READ_ERRORS:
        return None
    return meta, arrays


def _sound_features(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> bool:
    """Whether a feature entry is whole: its metadata parses and its arrays agree (moments, finite values)."""
    try:
        ok = (Fraction(str(meta["fps"])) > 0 and math.isfinite(float(meta["duration_s"]))
              and float(meta["every"]) > 0 and isinstance(meta["backbone"], str) and isinstance(meta["weights"], str))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return False
    times, feats = arrays.get("times"), arrays.get("features")
    if times is not None and (times.ndim != 1 or not np.isfinite(times).all()):
        return False
    if feats is not None and (feats.ndim != 2 or not np.isfinite(feats).all()
                              or (times is not None and feats.shape[0] != times.shape[0])):
        return False
    return ok


class FeatureCache:
    """Feature arrays and thumbnails on disk, keyed by content.

    >>> cache = FeatureCache()                               # doctest: +SKIP
    >>> cache.load(sha, 1.0, "vgg16-imagenet-...") is None     # doctest: +SKIP
    True
    """

    def __init__(self, root: Optional[Path] = None) -> None:
        self.root = Path(root) if root is not None else config.cache_dir()

    def entry_dir(self, sha256: str, every: float, backbone_key: str) -> Path:
        return self.root / "features" / sha256[:20] / every_tag(every) / backbone_key

    def thumbs_dir(self, sha256: str, every: float) -> Path:
        return self.root / "frames" / sha256[:20] / every_tag(every)

    def load(self, sha256: str, every: float, backbone_key: str, arrays: Optional[Sequence[str]] = None
             ) -> Optional[dict[str, Any]]:
        """The stored arrays (all, or only those named in ``arrays``, e.g. ``("times",)``: npz files read
        each array on demand) and metadata, or None when there is no complete entry for this key."""
        entry = read_entry(self.entry_dir(sha256, every, backbone_key), "features.npz", sha256, FORMAT, arrays)
        if entry is None or not _sound_features(*entry):
            return None  # computed again
        meta, found = entry
        return {"meta": meta, **found}

    def store(self, sha256: str, every: float, backbone_key: str, meta: dict[str, Any],
              arrays: dict[str, np.ndarray]) -> Path:
        final = self.entry_dir(sha256, every, backbone_key)

        def fill(tmp: Path) -> None:
            np.savez(tmp / "features.npz", **arrays)  # type: ignore[arg-type]  # numpy's stub: positional arrays
            (tmp / "meta.json").write_text(json_text({"format": FORMAT, **meta}), encoding="utf-8")

        return replace_dir(final, fill)  # a reader meets the old entry or the new one, whole
