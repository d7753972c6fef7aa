"""Where in the frame the model sees each character: how much each cell of the feature maps adds to the
model's belief that the character is there.

A frame's feature is the average and the maximum of the network's maps over the frame
(:meth:`core.backbone.VGG16Backbone.maps` gives the values of each cell of the 14x14 grid, and which values are
averaged and which are maxima). Each value of the feature is shared out among
the cells: an averaged one in equal parts (each cell's value less the training mean, over the number of
cells), a maximum one in proportion to how high each cell is in that channel (a soft version of "the cell it
comes from": given all to one cell, the maxima made single-cell spikes that fell on the background in most of
Big Buck Bunny's evidence frames). Weighed by how much the classifier's logit for a character moves with each
value (its weights for a linear head, the gradient at this frame for the dense one), the shares add up over
the cells to the frame's logit less that of an average frame (exactly for a linear head, to first order for the
dense one): a map of where the evidence for the character
is. For a linear head on the average part this is the classic class activation map; here it works for the
dense head too, and for the max-pooled half that keeps small characters.

A ``spatial`` model (:mod:`core.spatial`, on cell features) needs none of this: it scores cells itself, and its
map is each cell's logit under its cells' regression, the very scores whose best cells make the frame's. Its
cells are the rows of the video's cell features, so a sampled moment needs no network at all.

For the pooled heads, scoring each cell as if the frame were that cell alone does not work: on the demo's
model, every cell of every frame then gives one character or another a probability of 1 (a single cell's
values are far outside what the classifier saw in whole frames); see ``docs/where.md``.

Maps are computed only for the frames shown (evidence frames, the Label page's frame), once: the cells'
values are cached beside the feature cache, keyed by the video's content hash, the moment and the backbone
key (:func:`cells_path`; 0.8 MB a frame for VGG16 at 224 px, stored as float16), so a new model scores them
again without running the network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .atomic import save_npz
from .backbone import parse_key
from .cache import _READ_ERRORS, FeatureCache
from .classifier import ScreenTimeClassifier
from .errors import ModelError
from .features import BackboneFactory, FeatureSet, backbone_family, key_network
from .hashing import hashed_identity
from .progress import ProgressCallback, report
from .project import ModelRecord, Project, Video
from .video import moment_ms, probe_video, read_frame_at

#: Version of the cells' cache entries; another one is computed again.
FORMAT = 1
#: Cells whose values all stay below this are stored as float16 (half the size); others as float32.
FLOAT16_MAX = 60000.0
#: A cell belongs to a character's box when its probability is at least this share of the peak's.
BOX_SHARE = 0.5
#: Opacity of the heat map where the probability is 1 (where it is 0 the frame shows as it is).
HEAT_ALPHA = 0.6


@dataclass(frozen=True)
class WhereMap:
    """How much each cell of one moment's feature grid adds to each character's logit.

    ``cells`` is (characters, rows, columns) in logit units (positive: evidence for the character); ``probs``
    the model's probability of each character for the whole frame; both follow ``names``, the model's order.
    """

    time_s: float
    names: tuple[str, ...]
    cells: np.ndarray
    probs: np.ndarray

    def of(self, name: str) -> np.ndarray:
        """The (rows, columns) map of one character; :class:`ModelError` for a name the model does not know."""
        if name not in self.names:
            raise ModelError(f"The model does not know {name!r}: choose one of {', '.join(self.names)}.")
        return np.asarray(self.cells[self.names.index(name)])

    def prob(self, name: str) -> float:
        """The model's probability that ``name`` is in the frame."""
        self.of(name)
        return float(self.probs[self.names.index(name)])

    def heat(self, name: str) -> np.ndarray:
        """The map scaled for showing: the evidence for ``name`` as a share of the strongest cell's, 0 to 1
        (all 0 when no cell speaks for it)."""
        m = self.of(name)
        top = float(m.max())
        return np.clip(m / top, 0.0, 1.0) if top > 0 else np.zeros_like(m)

    def peak(self, name: str) -> tuple[int, int]:
        """(row, column) of the cell that speaks most for ``name``."""
        m = self.of(name)
        r, c = np.unravel_index(int(np.argmax(m)), m.shape)
        return int(r), int(c)

    def box(self, name: str) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) as fractions of the frame: the cells around the peak whose evidence is
        at least :data:`BOX_SHARE` of the peak's, joined to it."""
        heat = self.heat(name)
        r, c = self.peak(name)
        mask = (heat >= BOX_SHARE * heat[r, c]).astype(np.uint8) if heat[r, c] > 0 else np.zeros_like(heat, np.uint8)
        mask[r, c] = 1
        _, comp = cv2.connectedComponents(mask, connectivity=8)
        rows, cols = np.nonzero(comp == comp[r, c])
        gh, gw = heat.shape
        return (cols.min() / gw, rows.min() / gh, (cols.max() + 1) / gw, (rows.max() + 1) / gh)


def _logit_and_gradient(clf: ScreenTimeClassifier, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The classifier's logits (characters,) at the feature ``x`` (dim,) and their gradient (dim, characters)
    with respect to ``x``: the weights of a linear head, the local slope of the dense one."""
    fitted = clf.model_  # the head's own arrays: what it does with each value of the feature
    if fitted.kind not in ("linear", "dense"):
        raise ModelError(f"A {fitted.kind} model gives no map of where it looks: train a dense or linear one.")
    a = fitted.arrays
    z = (x - a["mean"]) / a["scale"]
    if fitted.kind == "linear":
        return z @ a["coef"].T + a["intercept"], (a["coef"] / a["scale"]).T
    pre = z @ a["w1"] + a["b1"]
    on = (pre > 0).astype(np.float32)
    logit = np.maximum(pre, 0.0) @ a["w2"] + a["b2"]
    return logit, (a["w1"] @ (on[:, None] * a["w2"])) / a["scale"][:, None]


def _spatial_map(clf: ScreenTimeClassifier, cells: np.ndarray, time_s: float) -> WhereMap:
    """A ``spatial`` model's own map: each cell's logit for each character, as the model scores cells."""
    gh, gw, dim = cells.shape
    if gh * gw * dim != clf.n_features_in_:
        raise ModelError(f"The maps have {gh * gw * dim} values but the model expects {clf.n_features_in_}: "
                         "train the model again on this machine.")
    flat = np.asarray(cells, np.float32).reshape(gh * gw, dim)
    logits = clf.cell_logits(flat)
    probs = clf.predict_proba(flat.reshape(1, -1))[0]
    return WhereMap(float(time_s), tuple(clf.names_), logits.T.reshape(len(clf.names_), gh, gw).astype(np.float32),
                    probs.astype(np.float32))


def score_cells(clf: ScreenTimeClassifier, cells: np.ndarray, is_max: np.ndarray, time_s: float) -> WhereMap:
    """A moment's map from its cells' values (rows, columns, dim), which of them are maxima (dim,), and a
    trained classifier. A ``spatial`` model scores the cells itself (:mod:`core.spatial`); for the others each
    pooled value is shared out among the cells, as the module says."""
    if clf.kind_ == "spatial":
        return _spatial_map(clf, cells, time_s)
    gh, gw, dim = cells.shape
    if dim != clf.n_features_in_:
        raise ModelError(f"The maps have {dim} values per cell but the model expects {clf.n_features_in_}: "
                         "train the model again on this machine.")
    flat = np.asarray(cells, np.float32).reshape(gh * gw, dim)
    is_max = np.asarray(is_max, bool)
    x = np.where(is_max, flat.max(axis=0), flat.mean(axis=0))   # the frame's pooled feature
    logit, grad = _logit_and_gradient(clf, x)
    mean = clf.model_.arrays["mean"]
    share = (flat - mean) / (gh * gw)         # the averaged values: an equal part each
    high = np.maximum(flat[:, is_max], 0.0)   # the maxima: in proportion to how high each cell is there
    total = high.sum(axis=0)
    weights = np.where(total > 0, high / np.where(total > 0, total, 1.0), 1.0 / (gh * gw))
    share[:, is_max] = weights * (x - mean)[is_max]
    contrib = share @ grad                     # (cells, characters), logit units
    probs = 1.0 / (1.0 + np.exp(-np.clip(logit, -40, 40)))
    return WhereMap(float(time_s), tuple(clf.names_), contrib.T.reshape(len(clf.names_), gh, gw).astype(np.float32),
                    probs.astype(np.float32))


def network_input(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGB frame (the one on screen at its moment, :func:`core.video.read_frame_at`) at the network's input
    size. Scaled by OpenCV's area averaging: within a couple of levels of FFmpeg's (``core.pictures``)."""
    return cv2.resize(frame, (int(size[1]), int(size[0])), interpolation=cv2.INTER_AREA)


def cells_path(cache: FeatureCache, sha256: str, time_s: float, backbone_key: str) -> Path:
    """Where the cells' features of one moment are kept: ``where/<sha256[:20]>/<backbone key>/<ms>.npz``, one
    file written in one step (a killed run leaves none, or the old one)."""
    return cache.root / "where" / sha256[:20] / backbone_key / f"{moment_ms(time_s):09d}.npz"


def _load_cells(f: Path, sha256: str, backbone_key: str) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """The cached cells of a moment, or None when missing, damaged or made for another file or backbone."""
    try:
        with np.load(f, allow_pickle=False) as z:
            if (int(z["format"]) != FORMAT or str(z["video_sha256"]) != sha256
                    or str(z["backbone"]) != backbone_key):
                return None
            cells, is_max = z["cells"].astype(np.float32), z["is_max"].astype(bool)
    except _READ_ERRORS:
        return None
    ok = cells.ndim == 3 and is_max.shape == cells.shape[2:] and np.isfinite(cells).all()
    return (cells, is_max) if ok else None


def _store_cells(f: Path, sha256: str, backbone_key: str, cells: np.ndarray, is_max: np.ndarray) -> None:
    f.parent.mkdir(parents=True, exist_ok=True)
    small = bool(np.abs(cells).max(initial=0.0) < FLOAT16_MAX)  # VGG16's values stay far below it (824 on the film)
    save_npz(f, {"cells": cells.astype(np.float16 if small else np.float32), "is_max": is_max.astype(bool),
                 "format": np.asarray(FORMAT),
                 "video_sha256": np.asarray(sha256), "backbone": np.asarray(backbone_key)})


def _backbone_for(key: str, factory: Optional[BackboneFactory], progress: Optional[ProgressCallback]) -> Any:
    """The network that made ``key``'s features, built as :func:`core.features.extract_features` builds it
    (in this thread, after reporting "loading network")."""
    factory, spec, weights = key_network(key, factory)
    report(progress, "loading network", 0, 0)
    backbone = factory(spec, weights)
    if backbone.key != key:
        raise ModelError(f"The model was trained on {key} features but this machine makes {backbone.key}: "
                         "train the model again here to see where it looks.")
    if not hasattr(backbone, "maps"):
        raise ModelError(f"The feature network {backbone_family(key)} gives no maps of where it looks: "
                         "use VGG16 or EfficientNet-Lite0 features to see where the model sees each character.")
    return backbone


def _cells_from_features(fs: FeatureSet, backbone_key: str, times: Sequence[float]) -> dict[float, np.ndarray]:
    """The (rows, columns, values) cells of the sampled moments among ``times``, read from cell features of
    ``backbone_key`` (none for pooled features or another key)."""
    from .effnet import CELL_DIM, cell_grid

    parsed = parse_key(backbone_key)
    if fs.backbone != backbone_key or parsed is None or parsed[1].pooling != "cells":
        return {}
    gh, gw = cell_grid(parsed[1])
    if fs.features.shape[1] != gh * gw * CELL_DIM:
        return {}
    out = {}
    for t in times:
        i = int(np.searchsorted(fs.times, t))
        if i < len(fs.times) and abs(float(fs.times[i]) - t) < 1e-6:
            out[float(t)] = np.asarray(fs.features[i]).reshape(gh, gw, CELL_DIM)
    return out


def where_maps(video: os.PathLike[str] | str, times: Sequence[float], clf: ScreenTimeClassifier,
               backbone_key: str, cache: Optional[FeatureCache] = None, factory: Optional[BackboneFactory] = None,
               sha256: Optional[str] = None, progress: Optional[ProgressCallback] = None,
               frames: Optional[Mapping[float, np.ndarray]] = None, features: Optional[FeatureSet] = None
               ) -> list[WhereMap]:
    """The maps of ``times`` in ``video`` under a model trained on ``backbone_key`` features; the network runs
    only for moments whose cells are not cached yet (and is not built when all are). ``frames`` holds moments'
    frames the caller has decoded already (so none is decoded twice); the others are read from ``video``.
    ``features``: the video's features, whose rows are the cells themselves when they are cell features (a
    sampled moment then needs no network at all)."""
    cache = cache if cache is not None else FeatureCache()
    if sha256 is None:
        probe_video(video)  # a bad video is named in one sentence
        sha256 = hashed_identity(Path(video))[0]
    found: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    missing: list[float] = []
    for t in times:
        cached = _load_cells(cells_path(cache, sha256, t, backbone_key), sha256, backbone_key)
        if cached is None:
            missing.append(float(t))
        else:
            found[float(t)] = cached
    if missing and features is not None:  # cell features hold each moment's cells: no network needed
        for t, cells in _cells_from_features(features, backbone_key, missing).items():
            _store_cells(cells_path(cache, sha256, t, backbone_key), sha256, backbone_key, cells,
                         np.zeros(cells.shape[-1], bool))
            found[t] = (cells.astype(np.float32), np.zeros(cells.shape[-1], bool))
        missing = [t for t in missing if t not in found]
    if missing:
        backbone = _backbone_for(backbone_key, factory, progress)
        for i, t in enumerate(missing):
            report(progress, "where", i, len(missing))
            frame = frames.get(t) if frames is not None else None
            if frame is None:
                frame = read_frame_at(video, t)
            cells, is_max = backbone.maps(network_input(frame, backbone.input_size)[None])
            _store_cells(cells_path(cache, sha256, t, backbone_key), sha256, backbone_key, cells[0], is_max)
            found[t] = (np.asarray(cells[0], np.float32), np.asarray(is_max, bool))
        report(progress, "where", len(missing), len(missing))
    return [score_cells(clf, *found[float(t)], float(t)) for t in times]


def missing_moments(cache: FeatureCache, sha256: str, times: Sequence[float], backbone_key: str) -> list[float]:
    """The moments among ``times`` whose cells are not cached yet: what :func:`where_maps` would run the
    network for (the dashboard takes its heavy-job turn only then)."""
    return [float(t) for t in times if _load_cells(cells_path(cache, sha256, t, backbone_key), sha256,
                                                   backbone_key) is None]


def project_where(project: Project, m: ModelRecord, v: Video, times: Sequence[float],
                  progress: Optional[ProgressCallback] = None) -> list[WhereMap]:
    """The maps of ``times`` in a project's video under one of its models (cells cached in the project's
    cache)."""
    key = project.model_backbone(m)
    if key is None:
        raise ModelError("The model's folder cannot be read: train the model again on the Train page.")
    cells = parse_key(key)
    features = (project.features(v) if cells is not None and cells[1].pooling == "cells"
                and missing_moments(project.cache, v.sha256, times, key) else None)
    return where_maps(project.video_path(v), times, project.classifier(m), key, project.cache,
                      sha256=v.sha256, progress=progress, features=features)


def project_drawn(project: Project, m: ModelRecord, wm: WhereMap) -> tuple[list[str], bool]:
    """:func:`drawn_names` with the thresholds of a project's model, and whether the model sees them (False:
    it sees nobody, and the likeliest one is named)."""
    thresholds = list(map(float, project.classifier(m).thresholds_))
    names = drawn_names(wm, thresholds)
    return names, wm.prob(names[0]) >= thresholds[wm.names.index(names[0])]


def project_missing(project: Project, m: ModelRecord, v: Video, times: Sequence[float]) -> list[float]:
    """:func:`missing_moments` for a project's video and model."""
    key = project.model_backbone(m)
    return list(map(float, times)) if key is None else missing_moments(project.cache, v.sha256, times, key)


# ---- drawing -------------------------------------------------------------------------------------------------
#: Box colours (RGB), one per character in the model's order.
COLOURS = [(255, 255, 255), (255, 214, 0), (0, 230, 255), (255, 64, 200), (120, 255, 80), (255, 140, 0)]


def _font(size: int) -> Any:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - an old Pillow without scalable default font
        return ImageFont.load_default()


def draw_where(image: np.ndarray, wm: WhereMap, names: Sequence[str]) -> np.ndarray:
    """``image`` (RGB, any size) with where the model sees each of ``names``: for one name a translucent heat
    map of its evidence (clear where there is none, red at the strongest cell) and a box around the peak; for
    several, a box each. Every box carries the character's name and the model's probability for the frame."""
    out = np.ascontiguousarray(image[..., :3], dtype=np.uint8).copy()
    h, w = out.shape[:2]
    if len(names) == 1:
        prob = cv2.resize(wm.heat(names[0]).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        prob = np.clip(prob, 0.0, 1.0)
        heat = cv2.applyColorMap((prob * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
        alpha = (HEAT_ALPHA * prob)[..., None]
        out = (out * (1 - alpha) + heat * alpha).astype(np.uint8)
    pic = Image.fromarray(out)
    pen = ImageDraw.Draw(pic)
    font = _font(max(11, h // 18))
    for name in names:
        colour = COLOURS[wm.names.index(name) % len(COLOURS)]
        x0, y0, x1, y1 = wm.box(name)
        box = (int(x0 * w), int(y0 * h), min(int(x1 * w), w - 1), min(int(y1 * h), h - 1))
        pen.rectangle(box, outline=colour, width=max(2, h // 120))
        text = f"{name} {wm.prob(name):.0%}"
        left, top, right, bottom = pen.textbbox((0, 0), text, font=font)
        tw, th = right - left, bottom - top
        tx = max(min(box[0] + 3, w - tw - 4), 2)                       # inside the picture, whole
        ty = box[1] - th - 8 if box[1] > th + 8 else min(box[1] + 3, h - th - 6)
        left, top, right, bottom = pen.textbbox((tx, ty), text, font=font)
        pen.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=(0, 0, 0))
        pen.text((tx, ty), text, fill=colour, font=font)
    return np.asarray(pic)


#: Width in pixels of the pictures the command line draws on.
PICTURE_WIDTH = 640


def drawn_names(wm: WhereMap, thresholds: Sequence[float]) -> list[str]:
    """Who to draw on a frame: every character the model sees there (at or above its threshold), else the
    likeliest one."""
    seen = [n for n, p, t in zip(wm.names, wm.probs, thresholds) if p >= t]
    return seen or [wm.names[int(np.argmax(wm.probs))]]


def where_image(video: os.PathLike[str] | str, model_dir: os.PathLike[str] | str, time_s: float,
                character: Optional[str] = None, out: Optional[os.PathLike[str] | str] = None,
                cache: Optional[FeatureCache] = None, progress: Optional[ProgressCallback] = None
                ) -> tuple[list[str], WhereMap, np.ndarray]:
    """The command line's job: the map of one moment under a saved model, drawn on the frame
    (:data:`PICTURE_WIDTH` wide) for ``character`` or for :func:`drawn_names`; written to ``out`` as a PNG."""
    from .atomic import write_bytes

    info = probe_video(video)
    if not 0 <= time_s < info.duration_s:
        raise ModelError(f"{time_s:g} s is not inside the video ({info.duration_s:.1f} s long): choose a moment "
                         "inside it.")
    clf, meta = ScreenTimeClassifier.load(model_dir)
    if not isinstance(meta.get("backbone"), str):
        raise ModelError(f"The model in {model_dir} does not say which features it was trained on: train it with "
                         "`python -m core train`.")
    if character is not None and character not in clf.names_:
        raise ModelError(f"The model does not know {character!r}: choose one of {', '.join(clf.names_)}.")
    frame = read_frame_at(video, time_s)  # decoded once: for the network (if its cells are not cached) and the picture
    wm = where_maps(video, [time_s], clf, meta["backbone"], cache, progress=progress, frames={float(time_s): frame})[0]
    names = [character] if character is not None else drawn_names(wm, list(map(float, clf.thresholds_)))
    h = max(1, round(frame.shape[0] * PICTURE_WIDTH / frame.shape[1]))
    image = draw_where(cv2.resize(frame, (PICTURE_WIDTH, h), interpolation=cv2.INTER_AREA), wm, names)
    if out is not None:
        ok, png = cv2.imencode(".png", image[..., ::-1])
        if not ok:  # pragma: no cover - OpenCV always encodes an RGB array
            raise OSError(f"could not encode {out}")
        write_bytes(out, png.tobytes())
    return names, wm, image
