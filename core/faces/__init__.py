"""People it finds by itself: face discovery for live-action video.

Faces are detected in the sampled frames (:mod:`.detect`), embedded (:mod:`.embed`), cached
(:mod:`.store`), grouped into people (:mod:`.cluster`), named through a project's people book
(:mod:`.people`), and turned into screen time (:mod:`.pipeline`). :func:`find_people` is the one entry point.
"""

from .errors import FaceError
from .people import PeopleBook
from .pipeline import PeopleResult, find_people, write_people_outputs

__all__ = ["FaceError", "PeopleBook", "PeopleResult", "find_people", "write_people_outputs"]
