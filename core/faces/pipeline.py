"""Face discovery from a video to screen time: :func:`find_people` and :func:`write_people_outputs`.

``find_people`` detects and embeds faces (cached), groups them or reuses the groups the people book already
holds for this video, names groups from reference photos and from people named in earlier videos, and
builds a :class:`~core.timeline.Timeline` with one column per person. The result lists everyone the page
needs: the people counted, the "unsure" groups (a face seen once) and the ignored ones, with their faces.
After an edit in the book (rename, merge, move, ignore), :func:`assemble` rebuilds the result without
touching the video.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np

from .. import config as core_config
from ..cache import FeatureCache
from ..export import write_outputs
from ..progress import ProgressCallback, report
from ..report import RunRecord, VideoRef
from ..smoothing import Smoothing, smooth
from ..timeline import Timeline
from . import config
from .cluster import is_sharp
from .detect import DetectorSettings
from .embed import embed_photo
from .errors import FaceError
from .people import PeopleBook
from .store import FaceSet, compute_faces

STATUSES = ("named", "unnamed", "unsure", "ignored")


@dataclass(frozen=True)
class PersonView:
    """One person (or one unsure/ignored group) as the outputs and the People page show it.

    ``name`` is the column name in the outputs ("Person 1" for an unnamed one); ``groups`` the book's group
    ids; ``faces`` the face ids (indices into the FaceSet); ``best`` the clearest faces, best first;
    ``seconds`` the screen time after smoothing (unsure and ignored: the time their faces cover, unsmoothed).
    """

    name: str
    status: str
    person_id: Optional[str]
    groups: tuple[int, ...]
    faces: tuple[int, ...]
    best: tuple[int, ...]
    seconds: float

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if not self.groups or not self.faces:
            raise ValueError("a person view needs at least one group and one face")
        if not set(self.best) <= set(self.faces):
            raise ValueError("best faces must be among the person's faces")


@dataclass(frozen=True)
class PeopleResult:
    """Everything face discovery found in one video. ``people`` are counted (columns of ``timeline``, in
    that order, largest screen time first); ``unsure`` and ``ignored`` are kept apart, not counted."""

    faces: FaceSet
    people: tuple[PersonView, ...]
    unsure: tuple[PersonView, ...]
    ignored: tuple[PersonView, ...]
    timeline: Timeline
    smoothing: Smoothing
    threshold: float
    messages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if tuple(p.name for p in self.people) != self.timeline.names:
            raise ValueError("people and timeline columns must match one to one")
        seen: set[int] = set()
        for v in (*self.people, *self.unsure, *self.ignored):
            if seen & set(v.faces):
                raise ValueError("a face belongs to one person view only")
            seen |= set(v.faces)

    def by_name(self, name: str) -> PersonView:
        for v in (*self.people, *self.unsure, *self.ignored):
            if v.name == name:
                return v
        raise KeyError(name)

    def details(self) -> dict[str, Any]:
        """What a report says about face discovery, beside the common keys of :class:`~core.report.RunRecord`."""
        f = self.faces
        return {
            "detector": f.detector,
            "embedding_model": f.model,
            "clustering": {"method": "agglomerative, average linkage, Euclidean", "threshold": self.threshold,
                           "min_group_faces": config.MIN_GROUP_FACES, "match_threshold": config.MATCH_THRESHOLD,
                           "blur_sharpness": config.BLUR_SHARPNESS},
            "faces_found": len(f),
            "people": [_view_dict(v, f) for v in self.people],
            "unsure": [_view_dict(v, f) for v in self.unsure],
            "ignored": [_view_dict(v, f) for v in self.ignored],
            "messages": list(self.messages),
        }

    def record(self, project: Optional[str] = None) -> RunRecord:
        """How this result was made, for its report (the same keys as a characters report)."""
        f = self.faces
        return RunRecord.faces(VideoRef(f.video, f.video_sha256, f.duration_s, f.fps), f.every, self.smoothing,
                               self.details(), project)


def _view_dict(v: PersonView, f: FaceSet) -> dict[str, Any]:
    return {"name": v.name, "status": v.status, "person_id": v.person_id, "groups": [f"g{g}" for g in v.groups],
            "faces": len(v.faces), "seconds": v.seconds,
            "seen_at_s": sorted({round(float(f.times[f.face_sample[i]]), 3) for i in v.faces})}


def clarity(faces: FaceSet, idx: np.ndarray) -> np.ndarray:
    """How clear each face is: box height (capped at the 150-px chip) times chip sharpness."""
    h = (faces.boxes[idx, 3] - faces.boxes[idx, 1]).astype(np.float64)
    return np.minimum(h, config.CHIP_SIZE) / config.CHIP_SIZE * faces.sharpness[idx]


def _best(faces: FaceSet, idx: list[int], k: int) -> tuple[int, ...]:
    arr = np.asarray(idx, np.int64)
    order = np.argsort(-clarity(faces, arr), kind="stable")
    return tuple(int(i) for i in arr[order[:k]])


def assemble(faces: FaceSet, book: PeopleBook, smoothing: Optional[Smoothing] = None,
             threshold: float = config.CLUSTER_THRESHOLD, messages: tuple[str, ...] = ()) -> PeopleResult:
    """The result of the book's current groups for this face set: people, unsure, ignored, timeline."""
    smoothing = smoothing if smoothing is not None else config.SMOOTHING
    st = book.state(faces)
    sharp = is_sharp(faces.sharpness)
    n, every = len(faces.times), faces.every
    weights = Timeline(faces.times, every, faces.duration_s, (), np.zeros((n, 0), bool)).weights

    def raw_seconds(idx: list[int]) -> float:
        return round(float(np.sum(weights[np.unique(faces.face_sample[idx])])), 3)

    counted: dict[str, tuple[Optional[str], str, list[int], list[int]]] = {}  # key -> (pid, status, groups, faces)
    unsure, ignored = [], []
    for g in st.groups():
        idx = st.faces_of(g)
        pid = st.persons.get(g)
        person = book.people.get(pid) if pid else None
        if person is not None and person.ignore:
            ignored.append(PersonView(person.name or f"Ignored g{g}", "ignored", pid, (g,), tuple(idx),
                                      _best(faces, idx, config.GALLERY_SIZE), raw_seconds(idx)))
        elif person is not None:
            entry = counted.setdefault(person.id, (person.id, "named", [], []))
            entry[2].append(g)
            entry[3].extend(idx)
        elif len(idx) < config.MIN_GROUP_FACES or not sharp[idx].any():
            unsure.append(PersonView(f"Unsure g{g}", "unsure", None, (g,), tuple(idx),
                                     _best(faces, idx, config.GALLERY_SIZE), raw_seconds(idx)))
        else:
            counted[f"g{g}"] = (None, "unnamed", [g], list(idx))

    keys = list(counted)
    present_raw = np.zeros((n, len(keys)), bool)
    for j, k in enumerate(keys):
        present_raw[faces.face_sample[counted[k][3]], j] = True
    present = smooth(present_raw, every, smoothing)
    secs = (weights[:, None] * present).sum(axis=0) if keys else np.zeros(0)

    # unnamed people are numbered by screen time, largest first, skipping numbers a named person uses
    taken = {book.people[c[0]].name for c in counted.values() if c[0]}
    names: dict[str, str] = {k: str(book.people[c[0]].name) for k, c in counted.items() if c[0]}
    number = 0
    for j in sorted((j for j, k in enumerate(keys) if counted[k][0] is None),
                    key=lambda j: (-secs[j], counted[keys[j]][2][0])):
        number += 1
        while f"Person {number}" in taken:
            number += 1
        names[keys[j]] = f"Person {number}"
    order = sorted(range(len(keys)), key=lambda j: (-secs[j], names[keys[j]]))
    views = tuple(PersonView(names[keys[j]], counted[keys[j]][1], counted[keys[j]][0],
                             tuple(sorted(counted[keys[j]][2])), tuple(sorted(counted[keys[j]][3])),
                             _best(faces, counted[keys[j]][3], config.GALLERY_SIZE), round(float(secs[j]), 3))
                  for j in order)
    tl = Timeline(faces.times, every, faces.duration_s, tuple(v.name for v in views), present[:, order],
                  present_raw[:, order].astype(np.float64))
    msgs = list(messages)
    if len(faces) == 0:
        msgs.append("No faces were found in this video: if people are small or turned away, "
                    "try --detector cnn or a smaller --every.")
    if unsure:
        msgs.append(f"{len(unsure)} group(s) seen only once or only blurred are kept apart as unsure: "
                    "name or merge them to count them.")
    return PeopleResult(faces, views, tuple(sorted(unsure, key=lambda v: v.groups)), tuple(ignored), tl, smoothing,
                        threshold, tuple(msgs))


def read_photo(path: Path | str) -> np.ndarray:
    """A photo file as RGB uint8 (PNG with transparency, JPEG, ...); FaceError if it is not an image."""
    p = Path(path)
    if not p.is_file():
        raise FaceError(f"There is no photo at {p}: check the path of the reference photo.")
    data = np.fromfile(str(p), np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise FaceError(f"{p.name} is not an image we can read: use a JPEG or PNG photo.")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def add_reference(book: PeopleBook, name: str, photo: Path | str | np.ndarray, label: Optional[str] = None) -> None:
    """Embed the largest face of a reference photo and remember it for ``name`` (the upload path of the page)."""
    image = read_photo(photo) if not isinstance(photo, np.ndarray) else photo
    what = label or (Path(photo).name if not isinstance(photo, np.ndarray) else "photo")
    found = embed_photo(image)
    if found is None:
        raise FaceError(f"No face was found in the reference photo {what} for {name}: "
                        "use a photo where the face is large, sharp and turned to the camera.")
    book.add_reference(name, found[0], what)


def find_people(video: Path | str, every: float = core_config.EVERY_S, detector: str = config.DETECTOR,
                refs: Optional[Mapping[str, Path | str]] = None, book: Optional[PeopleBook] = None,
                progress: Optional[ProgressCallback] = None, smoothing: Optional[Smoothing] = None,
                threshold: float = config.CLUSTER_THRESHOLD, cache: Optional[FeatureCache] = None) -> PeopleResult:
    """Who is on screen when, found from the faces of ``video``.

    ``refs`` maps names to reference photos; ``book`` is the project's people book (changed in memory: the
    caller saves it). Stages reported: "references", "faces" (per sampled moment), "grouping".
    """
    book = book if book is not None else PeopleBook()
    settings = DetectorSettings(detector)
    refs = dict(refs or {})
    for k, (name, photo) in enumerate(refs.items()):
        report(progress, "references", k, len(refs))
        add_reference(book, name, photo)
    faces = compute_faces(video, every, settings, progress, cache)
    report(progress, "grouping", 0, 1)
    _, messages = book.attach(faces, threshold)
    report(progress, "grouping", 1, 1)
    for name in refs:
        p = book.find(name)
        st = book.state(faces)
        if p is not None and p.id not in st.persons.values():
            messages.append(f"No group matched the reference photo of {name}: they may not be in the video, or "
                            "their face is too small, turned or blurred; try --detector cnn or a smaller --every, "
                            "or name their group by hand.")
    return assemble(faces, book, smoothing, threshold, tuple(messages))


_UNSAFE = re.compile(r"[^\w .,'()-]+", re.UNICODE)


def safe_name(name: str) -> str:
    """A folder name for a person: no separators, no leading dots, never empty; "../x" becomes "x"."""
    s = re.sub(r"\.{2,}", "_", _UNSAFE.sub("_", name))
    s = re.sub(r"_+", "_", s).strip("_ .")
    return s[:80] or "person"


def write_gallery(result: PeopleResult, out_dir: Path | str) -> dict[str, list[Path]]:
    """The clearest face chips of each person (counted, unsure and ignored) as
    ``out_dir/gallery/<person>/NN.jpg``; the folder is rebuilt each time."""
    root = Path(out_dir).resolve() / "gallery"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    written: dict[str, list[Path]] = {}
    used: set[str] = set()
    for v in (*result.people, *result.unsure, *result.ignored):
        folder = safe_name(v.name)
        base, k = folder, 2
        while folder.casefold() in used:
            folder, k = f"{base} ({k})", k + 1
        used.add(folder.casefold())
        d = (root / folder).resolve()
        if root not in d.parents:  # belt and braces: never write outside the gallery
            raise FaceError(f"The name {v.name!r} cannot be used as a folder name: rename the person.")
        d.mkdir()
        paths = []
        for n, face in enumerate(v.best, 1):
            src = result.faces.chip_path(face)
            if src is None:
                continue
            dst = d / f"{n:02d}.jpg"
            shutil.copyfile(src, dst)
            paths.append(dst)
        written[v.name] = paths
    return written


def write_people_outputs(result: PeopleResult, out_dir: Path | str) -> dict[str, Path]:
    """The five core result files (a column per counted person) and the face gallery."""
    paths = write_outputs(result.timeline, out_dir, result.record().to_dict())
    write_gallery(result, out_dir)
    paths["gallery"] = Path(out_dir) / "gallery"
    return paths
