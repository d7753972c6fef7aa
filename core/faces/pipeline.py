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
from dataclasses import dataclass, replace
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
from ..timeline import Timeline, mmss
from . import config
from .detect import DetectorSettings
from .embed import embed_photo
from .errors import FaceError
from .people import PeopleBook, VideoState, plural
from .store import FaceSet, compute_faces
from .tracks import quality

STATUSES = ("named", "unnamed", "unsure", "ignored")
_PLACEHOLDER = "?"  # the name of an unsure or unnamed ignored view until it is numbered


@dataclass(frozen=True)
class PersonView:
    """One person (or one unsure/ignored group) as the outputs and the People page show it.

    ``name`` is the column name in the outputs ("Person 1" for an unnamed one); ``groups`` the book's group
    ids; ``faces`` the face ids (indices into the FaceSet); ``best`` the clearest faces, best first;
    ``seconds`` the screen time after smoothing (unsure and ignored: the time their faces cover, unsmoothed);
    ``tracks`` the faces by track (one person followed through neighbouring moments of a shot), each track's
    clearest face first, in order of time: what the page shows one picture of and splits by.
    """

    name: str
    status: str
    person_id: Optional[str]
    groups: tuple[int, ...]
    faces: tuple[int, ...]
    best: tuple[int, ...]
    seconds: float
    tracks: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if not self.groups or not self.faces:
            raise ValueError("a person view needs at least one group and one face")
        if not set(self.best) <= set(self.faces):
            raise ValueError("best faces must be among the person's faces")
        if self.tracks and sorted(i for t in self.tracks for i in t) != sorted(self.faces):
            raise ValueError("tracks must hold exactly the person's faces")


@dataclass(frozen=True)
class PeopleResult:
    """Everything face discovery found in one video. ``people`` are counted (columns of ``timeline``, in
    that order, largest screen time first); ``unsure`` and ``ignored`` are kept apart, not counted;
    ``unsure_s`` is how much of the video the unsure faces cover (seconds)."""

    faces: FaceSet
    people: tuple[PersonView, ...]
    unsure: tuple[PersonView, ...]
    ignored: tuple[PersonView, ...]
    timeline: Timeline
    smoothing: Smoothing
    threshold: float
    messages: tuple[str, ...] = ()
    unsure_s: float = 0.0

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
            "clustering": {"method": "faces linked into tracks within shots; tracks grouped by their "
                                     "quality-weighted mean embeddings: agglomerative, average linkage, Euclidean",
                           "threshold": self.threshold,
                           "min_group_faces": config.MIN_GROUP_FACES, "match_threshold": config.MATCH_THRESHOLD,
                           "blur_sharpness": config.BLUR_SHARPNESS},
            "faces_found": len(f),
            "unsure_s": self.unsure_s,
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
    return quality(faces, idx)


def _best(faces: FaceSet, idx: list[int], k: int) -> tuple[int, ...]:
    arr = np.asarray(idx, np.int64)
    order = np.argsort(-clarity(faces, arr), kind="stable")
    return tuple(int(i) for i in arr[order[:k]])


def _by_track(st: VideoState, faces: FaceSet, idx: list[int]) -> tuple[tuple[int, ...], ...]:
    """The faces ``idx`` by track, each track's clearest face first, tracks in order of time."""
    tracks: dict[int, list[int]] = {}
    for i in idx:
        tracks.setdefault(st.tracks[i], []).append(i)
    out = [_best(faces, members, len(members)) for members in tracks.values()]
    return tuple(sorted(out, key=lambda t: min(int(faces.face_sample[i]) for i in t)))


def _views(faces: FaceSet, book: PeopleBook, st: VideoState, raw_seconds: Any
           ) -> tuple[dict[str, tuple[Optional[str], str, list[int], list[int]]], list[PersonView], list[PersonView]]:
    """Who each group is: counted (key -> person id, status, groups, faces), unsure and ignored views."""
    counted: dict[str, tuple[Optional[str], str, list[int], list[int]]] = {}
    unsure, ignored = [], []
    for g in st.groups():
        idx = st.faces_of(g)
        pid = st.persons.get(g)
        person = book.people.get(pid) if pid else None
        if person is not None and person.ignore:
            ignored.append(PersonView(person.name or _PLACEHOLDER, "ignored", pid, (g,), tuple(idx),
                                      _best(faces, idx, config.GALLERY_SIZE), raw_seconds(idx),
                                      _by_track(st, faces, idx)))
        elif person is not None:
            entry = counted.setdefault(person.id, (person.id, "named", [], []))
            entry[2].append(g)
            entry[3].extend(idx)
        elif len(idx) < config.MIN_GROUP_FACES and g not in st.confirmed:
            unsure.append(PersonView(_PLACEHOLDER, "unsure", None, (g,), tuple(idx),
                                     _best(faces, idx, config.GALLERY_SIZE), raw_seconds(idx),
                                     _by_track(st, faces, idx)))
        else:
            counted[f"g{g}"] = (None, "unnamed", [g], list(idx))
    return counted, unsure, ignored


def assemble(faces: FaceSet, book: PeopleBook, smoothing: Optional[Smoothing] = None,
             threshold: float = config.CLUSTER_THRESHOLD, messages: tuple[str, ...] = ()) -> PeopleResult:
    """The result of the book's current groups for this face set: people, unsure, ignored, timeline.

    A person is present at a sampled moment where one of their faces was detected, and at a moment one of
    their tracks bridged (the faces before and after it are theirs); then smoothing. An unnamed group of one
    face is unsure (not counted) until the user decides who it is.
    """
    smoothing = smoothing if smoothing is not None else config.SMOOTHING
    st = book.state(faces)
    n, every = len(faces.times), faces.every
    weights = Timeline(faces.times, every, faces.duration_s, (), np.zeros((n, 0), bool)).weights

    def raw_seconds(idx: list[int]) -> float:
        return round(float(np.sum(weights[np.unique(faces.face_sample[idx])])), 3)

    counted, unsure, ignored = _views(faces, book, st, raw_seconds)
    keys = list(counted)
    column = {g: j for j, k in enumerate(keys) for g in counted[k][2]}
    seen = np.zeros((n, len(keys)), bool)
    for j, k in enumerate(keys):
        seen[faces.face_sample[counted[k][3]], j] = True
    covered = seen.copy()
    for a, b, m in st.bridges:
        col = column.get(st.labels[a])
        if col is not None and st.labels[a] == st.labels[b] and 0 <= m < n:
            covered[m, col] = True
    present = smooth(covered, every, smoothing)
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
                             _best(faces, counted[keys[j]][3], config.GALLERY_SIZE), round(float(secs[j]), 3),
                             _by_track(st, faces, counted[keys[j]][3]))
                  for j in order)
    tl = Timeline(faces.times, every, faces.duration_s, tuple(v.name for v in views), present[:, order],
                  seen[:, order].astype(np.float64))
    unsure_faces = [i for v in unsure for i in v.faces]
    unsure_s = raw_seconds(unsure_faces) if unsure_faces else 0.0
    msgs = list(messages)
    if len(faces) == 0:
        msgs.append("No faces were found in this video: if people are very small or turned away, "
                    "look more often (a smaller --every).")
    if unsure:
        msgs.append(f"{plural(len(unsure), 'face')} seen only once ({mmss(unsure_s)} of the video) "
                    "wait for you to say who they are: they are not counted until then.")
    return PeopleResult(faces, views, _numbered(unsure, "Unsure", faces), _numbered(ignored, "Ignored", faces),
                        tl, smoothing, threshold, tuple(msgs), unsure_s)


def _numbered(views: list[PersonView], word: str, faces: FaceSet) -> tuple[PersonView, ...]:
    """Unsure and ignored views in order of first appearance; those without a name of their own become
    ``word 1``, ``word 2``, ... (a placeholder: the page shows when they were seen)."""
    ordered = sorted(views, key=lambda v: (int(faces.face_sample[list(v.faces)].min()), v.groups))
    out, k = [], 0
    for v in ordered:
        if v.name == _PLACEHOLDER:
            k += 1
            v = replace(v, name=f"{word} {k}")
        out.append(v)
    return tuple(out)


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
            messages.append(f"Nobody in this video looked enough like the photo of {name}: they may not be in "
                            "it, or their face is too small, turned or blurred; name them by hand if you see them.")
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
