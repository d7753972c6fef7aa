"""Screen Time: how long every character is on screen in a video.

The public API, used by the command line (``python -m core``) and the dashboard::

    from core import analyze
    result = analyze("clip.mp4", "labels.csv", "out/")
    for ct in result.timeline.screen_time():
        print(ct.character, ct.mmss, ct.percent)

Stages, in the order data flows: :mod:`core.video` (sampling) -> :mod:`core.features` (VGG16, cached) ->
:mod:`core.labels` / :mod:`core.classifier` -> :mod:`core.smoothing` -> :mod:`core.timeline` ->
:mod:`core.export` (with :mod:`core.report`, how a result was made). :mod:`core.jobs` is the one
orchestration layer; :mod:`core.project` stores a dashboard project. Heavy libraries (TensorFlow) load
only when a network is built. ``docs/architecture.md`` maps it all.
"""

import os as _os

# Quiet OpenCV's and FFmpeg's own logging before cv2 loads: errors reach the user as our one sentence.
_os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
_os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from ._version import __version__  # noqa: E402
from .backbone import FeatureSpec  # noqa: E402
from .cache import FeatureCache  # noqa: E402
from .classifier import ScreenTimeClassifier  # noqa: E402
from .errors import BackboneError, Cancelled, LabelError, ModelError, ProjectError, ScreenTimeError, VideoError  # noqa: E402
from .evaluate import CharacterEvaluation, evaluate, evaluate_files  # noqa: E402
from .export import write_outputs  # noqa: E402
from .features import FeatureSet, extract_features, register_backbone  # noqa: E402
from .jobs import (  # noqa: E402
                     PredictResult,
                     TrainResult,
                     analyze,
                     make_timeline,
                     predict,
                     predict_features,
                     predict_project,
                     project_record,
                     project_timeline,
                     sample_video,
                     train,
                     train_model,
                     train_project,
)
from .labels import LabelSet, read_labels_csv, write_labels_csv  # noqa: E402
from .progress import ProgressCallback  # noqa: E402
from .report import RunRecord, VideoRef  # noqa: E402
from .smoothing import Smoothing, smooth, smooth_probs  # noqa: E402
from .timeline import CharacterTime, Segment, Timeline, Together, mmss  # noqa: E402
from .validation import Scores  # noqa: E402
from .video import Sample, SampleReader, VideoInfo, probe_video, read_frame_at  # noqa: E402

__all__ = [
    "__version__", "FeatureSpec", "FeatureCache", "ScreenTimeClassifier", "BackboneError", "Cancelled",
    "LabelError", "ModelError", "ProjectError", "ScreenTimeError", "VideoError", "CharacterEvaluation", "evaluate",
    "evaluate_files", "write_outputs", "FeatureSet", "extract_features", "register_backbone", "PredictResult",
    "TrainResult", "analyze", "make_timeline", "predict", "predict_features", "predict_project", "project_record",
    "project_timeline", "sample_video", "train", "train_model", "train_project", "RunRecord", "VideoRef", "LabelSet",
    "read_labels_csv", "write_labels_csv", "ProgressCallback", "Smoothing", "smooth", "smooth_probs", "CharacterTime",
    "Segment", "Timeline", "Together", "mmss", "Scores", "Sample", "SampleReader", "VideoInfo", "probe_video",
    "read_frame_at",
]
