"""People it finds by itself: face discovery for live-action video.

Faces are detected in the sampled frames (:mod:`.detect`), embedded (:mod:`.embed`), cached (:mod:`.store`),
linked into tracks within shots (:mod:`.tracks`), grouped into people by track (:mod:`.cluster`), named through
a project's people book (:mod:`.people`), and turned into screen time (:mod:`.pipeline`). :func:`find_people` is
the one entry point.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import FaceError

if TYPE_CHECKING:
    from .people import PeopleBook
    from .pipeline import PeopleResult, find_people, write_people_outputs

__all__ = ["FaceError", "PeopleBook", "PeopleResult", "find_people", "write_people_outputs"]

# The rest loads on first use: it brings scikit-learn and dlib, which the character commands never need.
_LAZY = {"PeopleBook": ".people", "PeopleResult": ".pipeline", "find_people": ".pipeline",
         "write_people_outputs": ".pipeline"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
