"""The jobs the command line and the dashboard run: one orchestration layer over the stages.

Each job is one function that wires the stages together (video -> features -> labels/model -> timeline ->
report) and reports progress through a callback. On files (the command line): :func:`train`,
:func:`predict`, :func:`analyze`. On a dashboard project (:class:`core.project.Project`, which only stores):
:func:`sample_video`, :func:`train_project`, :func:`predict_project`, :func:`project_timeline`,
:func:`project_record`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import config
from .backbone import FeatureSpec, parse_key
from .cache import FeatureCache
from .classifier import ScreenTimeClassifier
from .errors import LabelError, ModelError, ProjectError
from .export import write_outputs
from .features import BackboneFactory, FeatureSet, backbone_factory, backbone_family, extract_features
from .labels import ENOUGH_RULE, LabelSet, read_labels_csv, trainable_labels
from .progress import ProgressCallback, report
from .project import ModelRecord, Project, Video
from .report import RunRecord, VideoRef
from .smoothing import Smoothing, smooth_probs
from .timeline import Timeline
from .validation import wrong_frames
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
    h, w = (int(v) for v in s["input_size"])
    return FeatureSpec(tuple(s["layers"]), s["pooling"], (h, w))


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


def make_timeline(times: np.ndarray, every: float, duration_s: float, probs: np.ndarray, names: Sequence[str],
                  thresholds: np.ndarray, smoothing: Smoothing) -> Timeline:
    """Probabilities into a timeline: the two-state model and the plain rules of ``smoothing``
    (:func:`core.smoothing.smooth_probs`). Cheap: the dashboard calls it on every slider move."""
    present = smooth_probs(np.asarray(probs), np.asarray(thresholds), every, smoothing)
    return Timeline(np.asarray(times, np.float64), float(every), float(duration_s), tuple(names), present,
                    np.asarray(probs, np.float32))


def video_ref(fs: FeatureSet) -> VideoRef:
    return VideoRef(fs.video, fs.video_sha256, fs.duration_s, fs.fps)


def predict_features(fs: FeatureSet, clf: ScreenTimeClassifier, smoothing: Smoothing = Smoothing(),
                     model_dir: Optional[Path] = None, out_dir: Optional[PathLike] = None) -> PredictResult:
    """Timeline (and, with ``out_dir``, the result files) from features already extracted."""
    probs = clf.predict_proba(fs.features)
    tl = make_timeline(fs.times, fs.every, fs.duration_s, probs, clf.names_, clf.thresholds_, smoothing)
    record = RunRecord.characters(video_ref(fs), fs.every, fs.backbone, fs.weights, clf, smoothing, model_dir,
                                  fs.computed)
    meta = record.to_dict()
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


# ---- jobs on a dashboard project --------------------------------------------------------------------------
def project_features(project: Project, exclude: Optional[int] = None
                     ) -> tuple[BackboneFactory, FeatureSpec, Optional[str]]:
    """Which features a project's videos get. Videos of one project share one model, so they must share one
    kind of features: a new video takes the backbone of the project's first featurised video (the demo's HED
    features stay HED even where ImageNet weights could be downloaded); a project without one uses its
    ``backbone`` setting (default ``vgg16``) with the default spec and weights."""
    for v in project.videos():
        if v.backbone and v.id != exclude:
            parsed = parse_key(v.backbone)
            weights, spec = parsed if parsed is not None else (None, FeatureSpec())
            return backbone_factory(backbone_family(v.backbone)), spec, weights
    return backbone_factory(project.get_setting("backbone", "vgg16") or "vgg16"), FeatureSpec(), None


def check_every(every: float) -> float:
    """A sampling step in the accepted range (:data:`core.config.EVERY_MIN_S` to ``EVERY_MAX_S``)."""
    if not config.EVERY_MIN_S <= every <= config.EVERY_MAX_S:  # also false for nan
        raise ProjectError(f"Choose a sampling step between {config.EVERY_MIN_S:g} and {config.EVERY_MAX_S:g} "
                           "seconds.")
    return float(every)


def sample_video(project: Project, video_id: int, every: float, progress: Optional[ProgressCallback] = None,
                 factory: Optional[BackboneFactory] = None) -> FeatureSet:
    """Sample a project's video every ``every`` seconds and compute (or reuse) its features; the video is
    then marked as sampled. ``factory`` overrides the project's backbone (see :func:`project_features`)."""
    v = project.video(video_id)
    check_every(every)
    chosen, spec, weights = project_features(project, exclude=video_id)
    fs = extract_features(project.video_path(v), every, spec, weights, cache=project.cache, progress=progress,
                          backbone_factory=factory or chosen)
    project.mark_sampled(video_id, fs.every, fs.backbone, len(fs))
    return fs


def training_pairs(project: Project) -> tuple[list[tuple[FeatureSet, LabelSet, Video]], list[str]]:
    """Per sampled video with labels: its features and labels restricted to the characters that have
    enough examples over all videos; and the names left out."""
    if not project.characters():
        raise ProjectError("Add the characters you want to follow on the Label page first.")
    found = []
    for v in project.videos():
        fs = project.features(v)
        lab = project.label_set(v.id) if fs is not None else None
        if fs is not None and lab is not None and len(lab):
            found.append((fs, lab, v))
    if not found:
        raise ProjectError("No labelled moments yet: sample a video on the Video page, then tick who is "
                           "visible in some frames on the Label page.")
    allv = np.concatenate([lab.values for _, lab, _ in found])
    usable, skipped = trainable_labels(LabelSet(np.zeros(len(allv)), found[0][1].names, allv))
    if not usable.names:
        raise ProjectError(f"Every character needs {ENOUGH_RULE}: label a few more frames.")
    keep = [found[0][1].names.index(n) for n in usable.names]
    return [(fs, LabelSet(lab.times, usable.names, lab.values[:, keep]), v) for fs, lab, v in found], skipped


def train_project(project: Project, progress: Optional[ProgressCallback] = None) -> ModelRecord:
    """Train on every labelled moment of the project, then predict every sampled video (no network)."""
    pairs, skipped = training_pairs(project)
    model_dir = project.new_model_dir()
    try:
        res = train_model([(fs, lab) for fs, lab, _ in pairs], model_dir, progress=progress)
    except BaseException:
        shutil.rmtree(model_dir, ignore_errors=True)
        raise
    clf = res.classifier
    wrong = None
    if clf.oof_proba_ is not None:
        moments: list[tuple[int, float]] = []
        truth = []
        for fs, lab, v in pairs:
            idx, vals = lab.align(fs.times, fs.every)
            moments += [(v.id, float(fs.times[i])) for i in idx]
            truth.append(vals)
        wrong = wrong_frames(clf.oof_proba_, np.concatenate(truth), clf.thresholds_, clf.names_, moments)
    m = project.add_model(model_dir, clf, skipped, res.n_labelled, wrong if wrong is not None else [])
    predict_project(project, m, clf)
    return m


def add_model_folder(project: Project, src_dir: Path, skipped: Sequence[str] = ()) -> ModelRecord:
    """Copy a saved model folder into the project (the demo's), and predict every sampled video."""
    clf, _ = ScreenTimeClassifier.load(src_dir)
    model_dir = project.new_model_dir()
    for f in ("model.json", "weights.npz"):
        shutil.copy2(Path(src_dir) / f, model_dir / f)
    m = project.add_model(model_dir, clf, skipped, clf.n_train_, None)
    predict_project(project, m, clf)
    return m


def predict_project(project: Project, m: ModelRecord, clf: Optional[ScreenTimeClassifier] = None) -> int:
    """Store the model's probabilities for every sampled video that has none yet; returns how many."""
    clf = clf or project.classifier(m)
    have = project.runs_of(m.id)
    backbone = project.model_backbone(m)
    done = 0
    for v in project.videos():
        fs = project.features(v) if v.id not in have else None
        if fs is not None and fs.backbone == backbone:
            project.add_run(m.id, v.id, fs, clf.predict_proba(fs.features), clf)
            done += 1
    return done


def project_timeline(project: Project, m: ModelRecord, v: Video, smoothing: Smoothing) -> Optional[Timeline]:
    """Timeline of a video from its stored probabilities (cheap: no features, no prediction); None when the
    model has not measured it."""
    run = project.run_probs(m.id, v.id)
    if run is None:
        return None
    return make_timeline(run["times"], float(run["every"]), float(run["duration_s"]), run["probs"],
                         [str(n) for n in run["names"]], run["thresholds"], smoothing)


def project_record(project: Project, m: ModelRecord, v: Video, smoothing: Smoothing) -> RunRecord:
    """How a project's result for one video was made, for its report (the same keys as the command line's)."""
    s = project.sampling(v)
    if s is None:
        raise ProjectError(f"{v.name} has not been sampled: sample it on the Video page first.")
    return RunRecord.characters(VideoRef(project.video_path(v), v.sha256, s.duration_s, s.fps), s.every,
                                s.backbone, s.weights, project.classifier(m), smoothing, m.dir,
                                project=project.name)
