"""Importing TensorFlow quietly.

TensorFlow's C++ start-up notes ("oneDNN custom operations are on", "Could not find cuda drivers") are
written to file descriptor 2 before its logging settings apply, so no environment variable silences them.
They are not errors, and they would bury our one-sentence messages: file descriptor 2 is pointed at
/dev/null while TensorFlow loads.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType


def import_tensorflow() -> ModuleType:
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all (some service managers)
        import tensorflow

        return tensorflow
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import keras  # noqa: F401  (loads TensorFlow as its backend)
        import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow
