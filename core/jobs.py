"""The jobs the command line and the dashboard run: one orchestration layer over the stages.

Each job is one function that wires the stages together (video -> features -> labels/model -> timeline ->
report) and reports progress through a callback. On files (the command line): :func:`train`,
:func:`predict`, :func:`analyze`. On a dashboard project (:class:`core.project.Project`, which only stores):
:func:`sample_video`, :func:`train_project`, :func:`predict_project`, :func:`project_timeline`,
:func:`project_record`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import config
from .atomic import write_text
from .backbone import FeatureSpec, parse_key
from .cache import FeatureCache
from .classifier import ScreenTimeClassifier, check_enough
from .errors import LabelError, ModelError, OutputError, ProjectError
from .export import write_outputs
from .features import (
    BackboneFactory,
    FeatureSet,
    backbone_factory,
    backbone_family,
    default_spec,
    extract_features,
    key_network,
)
from .labels import ENOUGH_RULE, LabelSet, check_names, read_labels_csv, trainable_labels
from .mirrored import labelled_copies, not_mirrored_yet
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
    n_mirrored: int = 0  # mirror images of labelled moments learned from beside them (core.mirrored)
    not_mirrored: tuple[str, ...] = ()  # why a video's labelled frames could not be mirrored, one sentence each
    #: Per video, in order: its labelled moments' indices and their labels, the rows the classifier learned
    #: from (:func:`labelled_moments`).
    labelled: tuple[tuple[np.ndarray, np.ndarray], ...] = ()


@dataclass(frozen=True)
class PredictResult:
    """The timeline of one video, the metadata of its report, and the files written (if any)."""

    timeline: Timeline
    features: FeatureSet
    meta: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)


def _labels(labels: LabelSet | PathLike) -> LabelSet:
    """Labels from a file, or given; either way their characters obey the one naming rule and limit."""
    if isinstance(labels, LabelSet):
        check_names(labels.names, "The labels")
        return labels
    return read_labels_csv(labels)


def _check_folder(path: Optional[PathLike], what: str) -> None:
    """:class:`OutputError` when a file stands where a results or model folder is to be written."""
    if path is None:
        return
    p = Path(path)
    for d in (p, *p.parents):
        if d.exists():
            if not d.is_dir():
                raise OutputError(f"{d} is a file, not a folder: choose another place for the {what}.")
            return


def _model_meta(meta: dict[str, Any], model_dir: PathLike) -> None:
    """What :func:`predict` needs of a model beyond the classifier: how its features were made."""
    if not all(k in meta for k in ("backbone", "weights", "features")):
        raise ModelError(f"The model in {model_dir} does not say how its features were made (backbone, weights, "
                         "features): train it with `python -m core train`.")


def spec_of(meta: dict[str, Any]) -> FeatureSpec:
    """The feature spec stored with a model."""
    s = meta["features"]
    h, w = (int(v) for v in s["input_size"])
    return FeatureSpec(tuple(s["layers"]), s["pooling"], (h, w))


def classifier_settings(backbone_key: str, kind: Optional[str] = None) -> dict[str, Any]:
    """The classifier's settings for features of ``backbone_key``. ``kind`` None (the default) takes the head
    the features call for: ``spatial`` (:mod:`core.spatial`) on cell features, :data:`core.config.CLASSIFIER_KIND`
    on pooled ones. A kind asked for that the features cannot take is refused with a :class:`ModelError`.

    >>> classifier_settings("efflite0-imagenet-stage16+block-cells-288x512")
    {'kind': 'spatial', 'cell_dim': 432, 'n_folds': 3}
    >>> classifier_settings("vgg16-hed-bsds500-block4_conv3+block5_conv3-avgmax-224x224", "auto")
    {'kind': 'auto'}
    """
    from .effnet import CELL_DIM

    parsed = parse_key(backbone_key)
    if parsed is not None and parsed[1].pooling == "cells":
        if kind not in (None, "spatial"):
            raise ModelError(f"The {kind} classifier needs pooled features, and these are cell features "
                             f"({backbone_key}), which train the spatial head: leave the kind out.")
        return {"kind": "spatial", "cell_dim": CELL_DIM, "n_folds": config.SPATIAL_CV_FOLDS}
    if kind == "spatial":
        raise ModelError(f"The spatial head needs cell features, and these are {backbone_key}: sample the videos "
                         "with the efflite0 feature network (its default cell features), or choose linear.")
    return {"kind": kind or config.CLASSIFIER_KIND}


def labelled_moments(pairs: Sequence[tuple[FeatureSet, LabelSet]], names: Sequence[str]
                     ) -> list[tuple[FeatureSet, np.ndarray, np.ndarray]]:
    """Per video, in order: its features, the indices of its labelled moments (each label moved to the nearest
    sampled moment) and their labels for ``names`` (0/1 columns)."""
    out = []
    for fs, lab in pairs:
        missing = [n for n in names if n not in lab.names]
        if missing:
            raise LabelError(f"The labels of {fs.video.name} do not mention {', '.join(missing)}: "
                             "every video of a project needs a column for every character.")
        idx, vals = lab.align(fs.times, fs.every)
        out.append((fs, idx, vals[:, [lab.names.index(n) for n in names]]))
    return out


def training_matrix(pairs: Sequence[tuple[FeatureSet, LabelSet]], names: Sequence[str]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack the labelled moments of several videos (:func:`labelled_moments`): features X, labels Y, times
    (offset per video so that moments of different videos never share a validation block)."""
    return _stacked(labelled_moments(pairs, names))


def _stacked(moments: Sequence[tuple[FeatureSet, np.ndarray, np.ndarray]]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, ys, ts = [], [], []
    offset = 0.0
    for fs, idx, vals in moments:
        xs.append(fs.features[idx])
        ys.append(vals)
        ts.append(fs.times[idx] + offset)
        offset += fs.duration_s + 1000.0
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ts)


def uses_mirrors(settings: dict[str, Any]) -> bool:
    """Whether a classifier of ``settings`` (:func:`classifier_settings`) learns from mirror images of the
    labelled frames too: the spatial head does (:data:`core.config.MIRRORED`), the pooled heads were not
    measured with them."""
    return bool(config.MIRRORED) and settings.get("kind") == "spatial"


def train_model(pairs: Sequence[tuple[FeatureSet, LabelSet]], model_dir: Optional[PathLike] = None,
                kind: Optional[str] = None, spec: Optional[FeatureSpec] = None,
                progress: Optional[ProgressCallback] = None, cache: Optional[FeatureCache] = None
                ) -> TrainResult:
    """Train on labelled moments of one or more videos whose features are already extracted.

    The model records the feature spec of those features (read from their backbone key), so that
    :func:`predict` computes the same features for a new video even after the defaults change. With the
    spatial head it learns from the labelled frames' mirror images too (:func:`uses_mirrors`; computed once
    and kept in ``cache``, reported as ``mirroring``); a video that cannot give them is learned from without
    them, and ``not_mirrored`` says why.
    """
    if not pairs:
        raise LabelError("There are no labelled videos to learn from: label some moments first.")
    names = pairs[0][1].names
    keys = {fs.backbone for fs, _ in pairs}
    if len(keys) > 1:
        raise ModelError(f"The videos were featurised with different backbones ({', '.join(sorted(keys))}): "
                         "extract them again with the same weights.")
    moments = labelled_moments(pairs, names)
    X, Y, T = _stacked(moments)
    settings = classifier_settings(keys.pop(), kind)
    check_enough(Y, names)  # before the mirror images: a user short of labels is told at once
    mirrors = (labelled_copies([(fs, idx) for fs, idx, _ in moments], cache, progress) if uses_mirrors(settings)
               else None)
    report(progress, "training", 0, 1)
    clf = ScreenTimeClassifier(**settings).fit(X, Y, T, names, *(
        (mirrors.features, mirrors.copy_of) if mirrors is not None else ()))
    report(progress, "training", 1, 1)
    n_mirrored = len(mirrors.copy_of) if mirrors is not None else 0
    not_mirrored = mirrors.not_mirrored if mirrors is not None else ()
    fs0 = pairs[0][0]
    parsed = parse_key(fs0.backbone)
    spec = parsed[1] if parsed else spec or default_spec(backbone_factory(backbone_family(fs0.backbone)))
    saved = None
    if model_dir is not None:
        saved = clf.save(model_dir, extra={
            "backbone": fs0.backbone, "weights": fs0.weights, "every": fs0.every,
            "features": {"layers": list(spec.layers), "pooling": spec.pooling, "input_size": list(spec.input_size)},
            "videos": [{"path": str(fs.video), "sha256": fs.video_sha256} for fs, _ in pairs],
            "mirrored": {"moments": n_mirrored, "not_mirrored": list(not_mirrored)}})
    return TrainResult(clf, saved, int(len(Y)), tuple(fs for fs, _ in pairs), n_mirrored, tuple(not_mirrored),
                       tuple((idx, vals) for _, idx, vals in moments))


def not_mirrored(model_dir: PathLike) -> list[str]:
    """Why some videos' labelled frames were learned from without their mirror images, as the model folder
    recorded it (:func:`train_model`), one sentence each; none for a model that says nothing of it."""
    try:
        meta = json.loads((Path(model_dir) / "model.json").read_text(encoding="utf-8"))
        notes = meta.get("mirrored", {}).get("not_mirrored", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [n for n in notes if isinstance(n, str)] if isinstance(notes, list) else []


def train(video: PathLike, labels: LabelSet | PathLike, model_dir: Optional[PathLike],
          every: float = config.EVERY_S, weights: Optional[str] = None, kind: Optional[str] = None,
          spec: Optional[FeatureSpec] = None, cache: Optional[FeatureCache] = None,
          progress: Optional[ProgressCallback] = None, backbone: Optional[str] = None) -> TrainResult:
    """Extract (or reuse) the features of ``video`` and train on its labelled moments. ``backbone``: the
    feature network's family (default :data:`core.config.BACKBONE`), ``spec`` what it pools (default: the
    family's own).

    >>> train("clip.mp4", "labels.csv", "model/").classifier.names_   # doctest: +SKIP
    ('Tom', 'Jerry')
    """
    lab = _labels(labels)
    check_every(every)
    _check_folder(model_dir, "model")
    fs = extract_features(video, every, spec, weights, cache, progress,
                          backbone_factory=backbone_factory(backbone or config.BACKBONE))
    return train_model([(fs, lab)], model_dir, kind, spec, progress, cache)


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
            cache: Optional[FeatureCache] = None, progress: Optional[ProgressCallback] = None,
            loaded: Optional[tuple[ScreenTimeClassifier, dict[str, Any]]] = None,
            factory: Optional[BackboneFactory] = None) -> PredictResult:
    """Apply a saved model to every sampled moment of ``video``; features use the model's own backbone
    (its registered family, or ``factory``). ``loaded``: the model already loaded from ``model_dir`` (the
    batch sends it to its workers once).

    >>> predict("episode2.mp4", "model/", "out/").timeline.screen_time()[0]   # doctest: +SKIP
    CharacterTime(character='Tom', seconds=312.0, percent=41.6, appearances=9)
    """
    probe_video(video)  # a bad video is named before anything else is loaded
    clf, meta = loaded if loaded is not None else ScreenTimeClassifier.load(model_dir)  # schema-checked
    _model_meta(meta, model_dir)
    step = check_every(float(every) if every is not None else float(meta.get("every", config.EVERY_S)))
    _check_folder(out_dir, "results")
    fs = extract_features(video, step, spec_of(meta), meta["weights"], cache, progress,
                          backbone_factory=factory or backbone_factory(backbone_family(meta["backbone"])))
    if fs.backbone != meta["backbone"]:
        raise ModelError(f"The model was trained on {meta['backbone']} features but these are {fs.backbone}: "
                         "train the model again on this machine.")
    return predict_features(fs, clf, smoothing, Path(model_dir), out_dir)


def analyze(video: PathLike, labels: LabelSet | PathLike, out_dir: PathLike, every: float = config.EVERY_S,
            weights: Optional[str] = None, smoothing: Smoothing = Smoothing(), kind: Optional[str] = None,
            cache: Optional[FeatureCache] = None, progress: Optional[ProgressCallback] = None,
            backbone: Optional[str] = None) -> PredictResult:
    """Train on the labelled moments of ``video`` and predict the whole of it; the model goes to
    ``out_dir/model``."""
    _check_folder(out_dir, "results")
    model_dir = Path(out_dir) / "model"
    res = train(video, labels, model_dir, every, weights, kind, cache=cache, progress=progress, backbone=backbone)
    return predict_features(res.features[0], res.classifier, smoothing, model_dir, out_dir)


# ---- jobs on a dashboard project --------------------------------------------------------------------------
def project_features(project: Project, exclude: Optional[int] = None
                     ) -> tuple[BackboneFactory, FeatureSpec, Optional[str]]:
    """Which features a project's videos get. Videos of one project share one model, so they must share one
    kind of features: a new video takes the backbone of the project's first featurised video (a project begun
    on VGG16 stays on VGG16 after the default changes); a project without one uses its
    ``backbone`` setting (default :data:`core.config.BACKBONE`) with that family's spec and weights."""
    return key_network(project_backbone_key(project, exclude))


def project_backbone_key(project: Project, exclude: Optional[int] = None) -> str:
    """The backbone key of the project's first featurised video (other than ``exclude``), else its
    ``backbone`` setting (a family name, default :data:`core.config.BACKBONE`): what its next video is sampled
    with."""
    for v in project.videos():
        if v.backbone and v.id != exclude:
            return v.backbone
    return project.get_setting("backbone", config.BACKBONE) or config.BACKBONE


def check_every(every: float) -> float:
    """A sampling step in the accepted range (:data:`core.config.EVERY_MIN_S` to ``EVERY_MAX_S``)."""
    if not config.EVERY_MIN_S <= every <= config.EVERY_MAX_S:  # also false for nan
        raise ProjectError(f"Choose a sampling step between {config.EVERY_MIN_S:g} and {config.EVERY_MAX_S:g} "
                           "seconds.")
    return float(every)


# ---- this machine's measured speed, for the time estimates of the dashboard ---------------------------------
SPEED_FILE = "speed.json"
#: Until this machine has sampled once: the issue's 3-minute cartoon (180 frames) took 64-90 s in the
#: dashboard on 2 busy cores, 20 s of it getting VGG16 ready, i.e. about 20 s + 3 frames a second. Until it
#: has trained once: the demo's 20 labels train in 7 s on idle cores (ScreenTimeClassifier.fit), 0.35 s a
#: labelled frame, and the issue's training sat 38 s; 0.5 s a labelled frame is between the two.
#: Mirroring a labelled frame (found again, flipped, through the network) took 0.087 s with EfficientNet-Lite0 at
#: 288x512 on idle cores (``docs/benchmarks.md``, "Training"); 0.15 s allows for busier ones.
FIRST_GUESS = {"start_s": 20.0, "frames_per_s": 3.0, "train_s_per_frame": 0.5, "mirror_s_per_frame": 0.15}


def _speed_path() -> Path:
    return config.cache_dir() / SPEED_FILE


def measured_speed(family: str) -> dict[str, float]:
    """What this machine measured for a backbone family (``start_s``: pressing Sample to the first frame;
    ``frames_per_s``: frames embedded a second after that; ``train_s_per_frame``: training time per labelled
    frame, mirror images aside; ``mirror_s_per_frame``: mirroring time per frame not mirrored before), each
    falling back to :data:`FIRST_GUESS`; ``measured`` is 1.0 when sampling was measured here."""
    try:
        found = json.loads(_speed_path().read_text()).get(family, {})
        found = {k: float(v) for k, v in found.items() if k in FIRST_GUESS and float(v) > 0}
    except (OSError, ValueError, AttributeError, TypeError):
        found = {}
    return {**FIRST_GUESS, **found, "measured": float("frames_per_s" in found)}


def _remember_speed(family: str, **figures: float) -> None:
    """Keep the latest measurement (a small JSON file in the cache folder, shared by every project)."""
    try:
        raw = json.loads(_speed_path().read_text()) if _speed_path().is_file() else {}
        if not isinstance(raw, dict):
            raw = {}
    except (OSError, ValueError):
        raw = {}
    raw[family] = {**raw.get(family, {}), **{k: round(v, 4) for k, v in figures.items()}}
    with contextlib.suppress(OSError):  # an estimate is not worth failing a job for
        write_text(_speed_path(), json.dumps(raw, indent=1))


class _SamplingClock:
    """Passes progress on and times the network's start and the frames a second after it."""

    def __init__(self, progress: Optional[ProgressCallback]) -> None:
        self.progress = progress
        self.t0 = time.perf_counter()
        self.first: Optional[tuple[float, int]] = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == "features" and done > 0 and self.first is None:
            self.first = (time.perf_counter(), done)
        report(self.progress, stage, done, total)

    def figures(self, computed: int) -> Optional[dict[str, float]]:
        if self.first is None or computed <= self.first[1]:
            return None
        t_first, n_first = self.first
        fps = (computed - n_first) / max(time.perf_counter() - t_first, 1e-6)
        return {"frames_per_s": fps, "start_s": max(t_first - self.t0 - n_first / fps, 0.0)}


def features_ready(project: Project, video_id: int, every: float) -> bool:
    """True when the video's features at this step are already on this computer (this project or another
    one sampled the same content): sampling then takes a moment."""
    v = project.video(video_id)
    chosen, spec, weights = project_features(project, exclude=video_id)
    return project.cache.thumbs_dir(v.sha256, every).is_dir() and any(
        project.cache.load(v.sha256, every, key, arrays=("times",)) is not None
        for key in chosen.candidate_keys(spec, weights))


def sampling_estimate_s(project: Project, video_id: int, every: float) -> tuple[float, bool]:
    """How long sampling will take on this machine (seconds), and whether that comes from a measurement."""
    if features_ready(project, video_id, every):
        return 1.0, True
    v = project.video(video_id)
    family = backbone_family(project_backbone_key(project, video_id))
    speed = measured_speed(family)
    n = max(1, int(v.duration_s / every))
    return speed["start_s"] + n / speed["frames_per_s"], bool(speed["measured"])


def sample_video(project: Project, video_id: int, every: float, progress: Optional[ProgressCallback] = None,
                 factory: Optional[BackboneFactory] = None) -> FeatureSet:
    """Sample a project's video every ``every`` seconds and compute (or reuse, from the cache every project
    shares) its features; the video is then marked as sampled. ``factory`` overrides the project's backbone
    (see :func:`project_features`). The speed measured is kept for the next estimate."""
    v = project.video(video_id)
    check_every(every)
    chosen, spec, weights = project_features(project, exclude=video_id)
    clock = _SamplingClock(progress)
    fs = extract_features(project.video_path(v), every, spec, weights, cache=project.cache, progress=clock,
                          backbone_factory=factory or chosen)
    project.mark_sampled(video_id, fs.every, fs.backbone, len(fs))
    figures = clock.figures(fs.computed)
    if figures is not None and factory is None:
        _remember_speed(backbone_family(fs.backbone), **figures)
    return fs


def training_pairs(project: Project, progress: Optional[ProgressCallback] = None
                   ) -> tuple[list[tuple[FeatureSet, LabelSet, Video]], list[str]]:
    """Per sampled video with labels: its features and labels restricted to the characters that have
    enough examples over all videos; and the names left out. Reports ``reading`` per video."""
    if not project.characters():
        raise ProjectError("Add the characters you want to follow on the Label page first.")
    found = []
    videos = project.videos()
    for k, v in enumerate(videos):
        report(progress, "reading", k, len(videos))
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


class _TrainingClock:
    """Passes progress on and times the mirroring (and counts the frames it computed) and the fit after it."""

    def __init__(self, progress: Optional[ProgressCallback]) -> None:
        self.progress = progress
        self.t0 = time.perf_counter()
        self.mirroring: Optional[float] = None
        self.training: Optional[float] = None
        self.mirrored = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if stage == "mirroring":
            self.mirroring = now if self.mirroring is None else self.mirroring
            self.mirrored += total if done == total else 0  # the last report of each video's mirroring
        elif stage == "training" and self.training is None:
            self.training = now
        report(self.progress, stage, done, total)

    def figures(self, n_labelled: int) -> dict[str, float]:
        end = time.perf_counter()
        start = self.training if self.training is not None else self.t0
        out = {"train_s_per_frame": (end - start) / max(n_labelled, 1)}
        if self.mirroring is not None and self.mirrored:
            out["mirror_s_per_frame"] = (start - self.mirroring) / self.mirrored
        return out


def training_estimate_s(project: Project) -> float:
    """How long learning from the project's labelled frames will take on this machine (seconds): the fit, and
    the mirror images of the labelled frames not mirrored before (:func:`uses_mirrors`)."""
    key = project_backbone_key(project)
    speed = measured_speed(backbone_family(key))
    estimate = project.label_counts().frames * speed["train_s_per_frame"]
    with contextlib.suppress(ModelError):
        if uses_mirrors(classifier_settings(key)):
            estimate += speed["mirror_s_per_frame"] * sum(
                not_mirrored_yet(project.cache, v.sha256, v.every, key, list(project.frame_labels(v.id)))
                for v in project.videos() if v.has_features and v.every is not None)
    return max(1.0, estimate)


def train_project(project: Project, progress: Optional[ProgressCallback] = None) -> ModelRecord:
    """Train on every labelled moment of the project, then predict every sampled video (no network).

    Steps reported: ``reading`` (the features of each video), ``training`` (0 of 1 while the classifier and
    its cross-validation learn, 1 of 1 after; the time it took per labelled frame is kept for the next
    estimate, :func:`training_estimate_s`), ``measuring`` (each sampled video)."""
    pairs, skipped = training_pairs(project, progress)
    model_dir = project.new_model_dir()
    clock = _TrainingClock(progress)
    try:
        res = train_model([(fs, lab) for fs, lab, _ in pairs], model_dir, progress=clock, cache=project.cache)
    except BaseException:
        shutil.rmtree(model_dir, ignore_errors=True)
        raise
    _remember_speed(backbone_family(pairs[0][0].backbone), **clock.figures(res.n_labelled))
    clf = res.classifier
    wrong = None
    if clf.oof_proba_ is not None:  # the rows it learned from, in its order (TrainResult.labelled)
        moments = [(v.id, float(fs.times[i])) for (fs, _, v), (idx, _) in zip(pairs, res.labelled) for i in idx]
        truth = np.concatenate([vals for _, vals in res.labelled])
        wrong = wrong_frames(clf.oof_proba_, truth, clf.thresholds_, clf.names_, moments)
    m = project.add_model(model_dir, clf, skipped, res.n_labelled, wrong if wrong is not None else [])
    predict_project(project, m, clf, progress)
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


def predict_project(project: Project, m: ModelRecord, clf: Optional[ScreenTimeClassifier] = None,
                    progress: Optional[ProgressCallback] = None) -> int:
    """Store the model's probabilities for every sampled video that has none yet (reporting ``measuring``
    per video); returns how many."""
    clf = clf or project.classifier(m)
    have = project.runs_of(m.id)
    backbone = project.model_backbone(m)
    done = 0
    videos = project.videos()
    for k, v in enumerate(videos):
        report(progress, "measuring", k, len(videos))
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
    names = [str(n) for n in run["names"]]
    current = {c.name for c in project.characters()}
    keep = [j for j, n in enumerate(names) if n in current]  # a character removed since is never shown
    return make_timeline(run["times"], float(run["every"]), float(run["duration_s"]), run["probs"][:, keep],
                         [names[j] for j in keep], run["thresholds"][keep], smoothing)


def project_record(project: Project, m: ModelRecord, v: Video, smoothing: Smoothing) -> RunRecord:
    """How a project's result for one video was made, for its report (the same keys as the command line's)."""
    s = project.sampling(v)
    if s is None:
        raise ProjectError(f"{v.name} has not been sampled: sample it on the Video page first.")
    return RunRecord.characters(VideoRef(project.video_path(v), v.sha256, s.duration_s, s.fps), s.every,
                                s.backbone, s.weights, project.classifier(m), smoothing, m.dir,
                                project=project.name)
