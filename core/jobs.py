"""The jobs the command line and the dashboard run: train, predict, analyze.

Each job is one function that wires the stages together (video -> features -> labels/model -> timeline ->
report) and reports progress through a callback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from . import config
from .backbone import FeatureSpec, parse_key
from .cache import FeatureCache
from .classifier import ScreenTimeClassifier
from .errors import LabelError, ModelError
from .export import write_outputs
from .features import FeatureSet, extract_features
from .labels import LabelSet, read_labels_csv
from .progress import ProgressCallback, report
from .smoothing import Smoothing, smooth_probs
from .timeline import Timeline
from .video import probe_video

PathLike = os.PathLike[str] | str


@dataclass(frozen=True)
class TrainResult:
    """A trained classifier, where it was saved, and the labelled moments it learned from."""

    classifier: ScreenTimeClassifier
    model_dir: Optional[Path]
    n_labelled: int
    features: tuple[FeatureSet, ...]


@dataclass(frozen=True)
class PredictResult:
    """The timeline of one video, the metadata of its report, and the files written (if any)."""

    timeline: Timeline
    features: FeatureSet
    meta: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)


def _labels(labels: LabelSet | PathLike) -> LabelSet:
    return labels if isinstance(labels, LabelSet) else read_labels_csv(labels)


def spec_of(meta: dict[str, Any]) -> FeatureSpec:
    """The feature spec stored with a model."""
    s = meta["features"]
    return FeatureSpec(tuple(s["layers"]), s["pooling"], tuple(s["input_size"]))  # type: ignore[arg-type]


def training_matrix(pairs: Sequence[tuple[FeatureSet, LabelSet]], names: Sequence[str]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack the labelled moments of several videos: features X, labels Y, times (offset per video so that
    moments of different videos never share a validation block)."""
    xs, ys, ts = [], [], []
    offset = 0.0
    for fs, lab in pairs:
        missing = [n for n in names if n not in lab.names]
        if missing:
            raise LabelError(f"The labels of {fs.video.name} do not mention {', '.join(missing)}: "
                             "every video of a project needs a column for every character.")
        idx, vals = lab.align(fs.times, fs.every)
        order = [lab.names.index(n) for n in names]
        xs.append(fs.features[idx])
        ys.append(vals[:, order])
        ts.append(fs.times[idx] + offset)
        offset += fs.duration_s + 1000.0
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ts)


def train_model(pairs: Sequence[tuple[FeatureSet, LabelSet]], model_dir: Optional[PathLike] = None,
                kind: str = "auto", spec: FeatureSpec = FeatureSpec(), progress: Optional[ProgressCallback] = None
                ) -> TrainResult:
    """Train on labelled moments of one or more videos whose features are already extracted.

    The model records the feature spec of those features (read from their backbone key), so that
    :func:`predict` computes the same features for a new video even after the defaults change.
    """
    if not pairs:
        raise LabelError("There are no labelled videos to learn from: label some moments first.")
    names = pairs[0][1].names
    keys = {fs.backbone for fs, _ in pairs}
    if len(keys) > 1:
        raise ModelError(f"The videos were featurised with different backbones ({', '.join(sorted(keys))}): "
                         "extract them again with the same weights.")
    X, Y, T = training_matrix(pairs, names)
    report(progress, "training", 0, 1)
    clf = ScreenTimeClassifier(kind=kind).fit(X, Y, T, names)
    report(progress, "training", 1, 1)
    fs0 = pairs[0][0]
    parsed = parse_key(fs0.backbone)
    spec = parsed[1] if parsed else spec
    saved = None
    if model_dir is not None:
        saved = clf.save(model_dir, extra={
            "backbone": fs0.backbone, "weights": fs0.weights, "every": fs0.every,
            "features": {"layers": list(spec.layers), "pooling": spec.pooling, "input_size": list(spec.input_size)},
            "videos": [{"path": str(fs.video), "sha256": fs.video_sha256} for fs, _ in pairs]})
    return TrainResult(clf, saved, int(len(Y)), tuple(fs for fs, _ in pairs))


def train(video: PathLike, labels: LabelSet | PathLike, model_dir: Optional[PathLike],
          every: float = config.EVERY_S, weights: Optional[str] = None, kind: str = "auto",
          spec: FeatureSpec = FeatureSpec(), cache: Optional[FeatureCache] = None,
          progress: Optional[ProgressCallback] = None) -> TrainResult:
    """Extract (or reuse) the features of ``video`` and train on its labelled moments.

    >>> train("clip.mp4", "labels.csv", "model/").classifier.names_   # doctest: +SKIP
    ('Tom', 'Jerry')
    """
    lab = _labels(labels)
    fs = extract_features(video, every, spec, weights, cache, progress)
    return train_model([(fs, lab)], model_dir, kind, spec, progress)


def make_timeline(fs: FeatureSet, probs: np.ndarray, names: Sequence[str], thresholds: np.ndarray,
                  smoothing: Smoothing) -> Timeline:
    """Probabilities into a timeline: the two-state model and the plain rules of ``smoothing``
    (:func:`core.smoothing.smooth_probs`). Cheap: the dashboard calls it on every slider move."""
    present = smooth_probs(np.asarray(probs), np.asarray(thresholds), fs.every, smoothing)
    return Timeline(fs.times, fs.every, fs.duration_s, tuple(names), present, np.asarray(probs, np.float32))


def report_meta(fs: FeatureSet, clf: ScreenTimeClassifier, smoothing: Smoothing,
                model_dir: Optional[Path]) -> dict[str, Any]:
    """What report.json says about how its figures were made."""
    return {
        "video": {"path": str(fs.video), "name": fs.video.name, "sha256": fs.video_sha256,
                  "duration_s": round(fs.duration_s, 3), "fps": str(fs.fps), "fps_float": float(fs.fps)},
        "every_s": fs.every,
        "backbone": fs.backbone,
        "weights": fs.weights,
        "features_computed": fs.computed,
        "model": {"dir": str(model_dir) if model_dir else None, "kind": clf.kind_, "characters": list(clf.names_),
                  "thresholds": [float(t) for t in clf.thresholds_], "trained_on": clf.n_train_,
                  "validation": {n: {"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}
                                 for n, s in clf.cv_scores_.items()},
                  "validation_macro_f1_by_kind": clf.cv_by_kind_},
        "smoothing": {"typical_run_s": smoothing.typical_run_s, "bridge_gaps_s": smoothing.bridge_gaps_s,
                      "min_appearance_s": smoothing.min_appearance_s, "in_words": smoothing.describe()},
    }


def predict_features(fs: FeatureSet, clf: ScreenTimeClassifier, smoothing: Smoothing = Smoothing(),
                     model_dir: Optional[Path] = None, out_dir: Optional[PathLike] = None) -> PredictResult:
    """Timeline (and, with ``out_dir``, the result files) from features already extracted."""
    probs = clf.predict_proba(fs.features)
    tl = make_timeline(fs, probs, clf.names_, clf.thresholds_, smoothing)
    meta = report_meta(fs, clf, smoothing, model_dir)
    files = write_outputs(tl, out_dir, meta) if out_dir is not None else {}
    return PredictResult(tl, fs, meta, files)


def predict(video: PathLike, model_dir: PathLike, out_dir: Optional[PathLike] = None,
            every: Optional[float] = None, smoothing: Smoothing = Smoothing(),
            cache: Optional[FeatureCache] = None, progress: Optional[ProgressCallback] = None) -> PredictResult:
    """Apply a saved model to every sampled moment of ``video``; features use the model's own backbone.

    >>> predict("episode2.mp4", "model/", "out/").timeline.screen_time()[0]   # doctest: +SKIP
    CharacterTime(character='Tom', seconds=312.0, percent=41.6, appearances=9)
    """
    probe_video(video)  # a bad video is named before anything else is loaded
    clf, meta = ScreenTimeClassifier.load(model_dir)
    step = float(every) if every is not None else float(meta.get("every", config.EVERY_S))
    fs = extract_features(video, step, spec_of(meta), meta["weights"], cache, progress)
    if fs.backbone != meta["backbone"]:
        raise ModelError(f"The model was trained on {meta['backbone']} features but these are {fs.backbone}: "
                         "train the model again on this machine.")
    return predict_features(fs, clf, smoothing, Path(model_dir), out_dir)


def analyze(video: PathLike, labels: LabelSet | PathLike, out_dir: PathLike, every: float = config.EVERY_S,
            weights: Optional[str] = None, smoothing: Smoothing = Smoothing(), kind: str = "auto",
            cache: Optional[FeatureCache] = None, progress: Optional[ProgressCallback] = None) -> PredictResult:
    """Train on the labelled moments of ``video`` and predict the whole of it; the model goes to
    ``out_dir/model``."""
    model_dir = Path(out_dir) / "model"
    res = train(video, labels, model_dir, every, weights, kind, cache=cache, progress=progress)
    return predict_features(res.features[0], res.classifier, smoothing, model_dir, out_dir)
