"""The one record of how a result was made, written into every ``report.json`` with the same keys.

The command line (``predict``, ``analyze``, ``faces``) and the dashboard's downloads all build a
:class:`RunRecord`; :func:`core.export.report_dict` puts its :meth:`RunRecord.to_dict` beside the screen
times. Keys, for every mode::

    mode            "characters" (a trained model) or "faces" (people found by their faces)
    project         the dashboard project's name, or null from the command line
    video           path, name, sha256, duration_s, fps (exact, as a fraction "30000/1001"), fps_float
    every_s         seconds between sampled moments
    smoothing       typical_run_s, bridge_gaps_s, min_appearance_s, in_words
    backbone, weights, features_computed   (characters) the feature network and whether it ran
    model           (characters) dir, kind, characters, thresholds, trained_on, validation, validation_by_kind
    spot_check      only when the run was spot-checked (core/spotcheck.py): per character the checked moments,
                    precision, recall and seconds, each with its 95 % interval; absent otherwise

plus, for faces, the face-specific fields of :meth:`core.faces.pipeline.PeopleResult.details`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

from .classifier import ScreenTimeClassifier
from .smoothing import Smoothing

MODES = ("characters", "faces")
#: The key of a spot check's result in ``report.json`` (:meth:`core.spotcheck.SpotCheck.to_dict`).
SPOT_CHECK_KEY = "spot_check"


@dataclass(frozen=True)
class VideoRef:
    """Which video a result is about: where it was, what it contained (SHA-256), how long and how fast."""

    path: Path
    sha256: str
    duration_s: float
    fps: Fraction

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "name": self.path.name, "sha256": self.sha256,
                "duration_s": round(float(self.duration_s), 3), "fps": str(self.fps), "fps_float": float(self.fps)}


def model_summary(clf: ScreenTimeClassifier, model_dir: Optional[Path]) -> dict[str, Any]:
    """What a report says about the model that made it."""
    return {"dir": str(model_dir) if model_dir else None, "kind": clf.kind_, "characters": list(clf.names_),
            "thresholds": [float(t) for t in clf.thresholds_], "trained_on": clf.n_train_,
            "validation": {n: {"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}
                           for n, s in clf.cv_scores_.items()},
            "validation_macro_f1_by_kind": dict(clf.cv_by_kind_)}


def smoothing_summary(s: Smoothing) -> dict[str, Any]:
    return {"typical_run_s": s.typical_run_s, "bridge_gaps_s": s.bridge_gaps_s,
            "min_appearance_s": s.min_appearance_s, "in_words": s.describe()}


@dataclass(frozen=True)
class RunRecord:
    """How one result was made. Build it with :meth:`characters` or :meth:`faces`."""

    mode: str
    video: VideoRef
    every_s: float
    smoothing: Smoothing
    project: Optional[str] = None
    backbone: Optional[str] = None
    weights: Optional[str] = None
    features_computed: Optional[int] = None
    model: Optional[Mapping[str, Any]] = None
    details: Mapping[str, Any] = field(default_factory=dict)
    spot_check: Optional[Mapping[str, Any]] = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not 0 < self.every_s < float("inf"):
            raise ValueError(f"every_s must be a positive, finite number of seconds, got {self.every_s}")
        if self.mode == "characters" and (self.backbone is None or self.model is None):
            raise ValueError("a characters record needs its backbone and its model")
        clash = set(self.details) & (set(self._common()) | {SPOT_CHECK_KEY})
        if clash:
            raise ValueError(f"details may not replace the common keys {sorted(clash)}")

    @classmethod
    def characters(cls, video: VideoRef, every_s: float, backbone: str, weights: str, clf: ScreenTimeClassifier,
                   smoothing: Smoothing, model_dir: Optional[Path] = None, features_computed: Optional[int] = None,
                   project: Optional[str] = None) -> RunRecord:
        return cls("characters", video, float(every_s), smoothing, project, backbone, weights, features_computed,
                   model_summary(clf, model_dir))

    @classmethod
    def faces(cls, video: VideoRef, every_s: float, smoothing: Smoothing, details: Mapping[str, Any],
              project: Optional[str] = None) -> RunRecord:
        return cls("faces", video, float(every_s), smoothing, project, details=dict(details))

    def _common(self) -> dict[str, Any]:
        return {"mode": self.mode, "project": self.project, "video": self.video.to_dict(), "every_s": self.every_s,
                "smoothing": smoothing_summary(self.smoothing), "backbone": self.backbone, "weights": self.weights,
                "features_computed": self.features_computed,
                "model": dict(self.model) if self.model is not None else None}

    def with_spot_check(self, check: Optional[Mapping[str, Any]]) -> RunRecord:
        """This record with a spot check's result (:meth:`core.spotcheck.SpotCheck.to_dict`), or without."""
        return replace(self, spot_check=dict(check) if check is not None else None)

    def to_dict(self) -> dict[str, Any]:
        """The keys of the module docstring (JSON-able); ``spot_check`` only when there is one."""
        extra = {SPOT_CHECK_KEY: dict(self.spot_check)} if self.spot_check is not None else {}
        return {**self._common(), **self.details, **extra}
