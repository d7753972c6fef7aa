"""Importing TensorFlow quietly.

TensorFlow's C++ start-up notes ("oneDNN custom operations are on", "Could not find cuda drivers") are
written to file descriptor 2 before its logging settings apply, so no environment variable silences them.
They are not errors, and they would bury our one-sentence messages: file descriptor 2 is pointed at
/dev/null while TensorFlow loads.

Keras also imports matplotlib, scikit-learn, pandas and IPython when they are installed, for parts we never
use (its image gallery, scikit-learn wrappers, DataFrame inputs and notebook display, each written to work
without them): up to 1.6 s of every start, measured with ``python -X importtime``. Those not loaded yet are
hidden while Keras loads (when no other thread runs), and import as usual afterwards.
"""

from __future__ import annotations

import os
import sys
import threading
from types import ModuleType

#: Packages Keras imports if installed but our use of it does not need (see above).
_NOT_FOR_KERAS = ("matplotlib", "sklearn", "pandas", "IPython")


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
    # Only with no other thread running: one could import a hidden package meanwhile and fail.
    alone = threading.active_count() == 1
    hidden = [name for name in _NOT_FOR_KERAS if name not in sys.modules] if alone else []
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
        import keras  # noqa: F401  (loads TensorFlow as its backend)
        import tensorflow
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow
