"""TensorFlow loads without the optional packages Keras would pull in, and they import as usual afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHECK = """
import sys, threading, time
if {other_thread}:
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
from core._tf import _NOT_FOR_KERAS, import_tensorflow
tf = import_tensorflow()
loaded = sorted(m for m in _NOT_FOR_KERAS if sys.modules.get(m) is not None)
import sklearn.linear_model, pandas  # still importable
import keras
keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
print(loaded)
"""


def _loaded_by_tensorflow(other_thread: bool) -> str:
    out = subprocess.run([sys.executable, "-c", _CHECK.format(other_thread=other_thread)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_keras_loads_without_its_optional_packages_which_import_afterwards() -> None:
    assert _loaded_by_tensorflow(other_thread=False) == "[]"


def test_nothing_is_hidden_while_another_thread_runs() -> None:
    """Another thread could import scikit-learn meanwhile: then Keras loads everything as it would."""
    assert "sklearn" in _loaded_by_tensorflow(other_thread=True)
