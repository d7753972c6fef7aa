"""The people book: who the groups of faces are, kept as JSON in a project (``people.json``).

The book holds

* **people**: a name (or none, for an ignored stranger), an ``ignore`` mark (a poster, a photo on a wall),
  the embeddings of their reference photos and, per video, the mean embedding of the faces named after them;
* **videos**: per set of faces (video hash, sampling, detector, model: :attr:`FaceSet.key`), the group of
  every face and which person each group is. Edits (rename, merge, move faces out, ignore) change these
  directly, so a reload shows exactly what the user left.

A new video's groups are matched to the people of the book through their embeddings, so names carry over to
the next video of a series. The file is written to a temporary name and renamed into place (no pickle: plain
JSON that a person can read).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..atomic import write_text
from ..timeline import mmss
from . import config
from .cluster import group_faces, is_sharp
from .errors import FaceError
from .store import FaceSet
from .tracks import Tracks, link_tracks

FORMAT = 1


def _vec(v: Iterable[float]) -> list[float]:
    return [round(float(x), 6) for x in v]


@dataclass
class Person:
    """Someone the user named (or ignored). ``refs``: reference photo label -> embedding; ``centroids``:
    face-set key -> mean embedding of the faces named after this person there."""

    id: str
    name: Optional[str]
    ignore: bool = False
    refs: dict[str, list[float]] = field(default_factory=dict)
    centroids: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name is not None and not self.name.strip():
            raise ValueError("a person's name cannot be blank")
        if self.name is None and not self.ignore:
            raise ValueError("only an ignored person may have no name")

    def embeddings(self) -> np.ndarray:
        rows = list(self.refs.values()) + list(self.centroids.values())
        return np.asarray(rows, np.float64).reshape(-1, 128)


@dataclass
class VideoState:
    """Groups of one face set: ``labels[i]`` is face i's group; ``persons`` maps group -> person id;
    ``decided`` are groups the user named, unnamed or ignored (automatic matching leaves them alone);
    ``confirmed`` are unsure groups (one face) the user said are someone, so they count. ``tracks[i]`` is face
    i's track (:mod:`.tracks`);
    ``bridges`` are (face before, face after, moment) where a track bridged a moment the detector missed:
    the moment counts for a group holding both faces."""

    key: str
    video: str
    labels: list[int]
    frames: list[int]
    persons: dict[int, str] = field(default_factory=dict)
    decided: set[int] = field(default_factory=set)
    confirmed: set[int] = field(default_factory=set)
    tracks: list[int] = field(default_factory=list)
    bridges: list[tuple[int, int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.frames):
            raise ValueError("labels and frames need one entry per face")
        if not self.tracks:
            self.tracks = list(range(len(self.labels)))  # a book without tracks: every face is its own
        if len(self.tracks) != len(self.labels):
            raise ValueError("tracks need one entry per face")
        if any(not (0 <= a < len(self.labels) and 0 <= b < len(self.labels)) for a, b, _ in self.bridges):
            raise ValueError("a bridge must join two faces of this video")

    def groups(self) -> list[int]:
        return sorted(set(self.labels))

    def faces_of(self, group: int) -> list[int]:
        return [i for i, g in enumerate(self.labels) if g == group]

    def check_group(self, group: int) -> None:
        if group not in set(self.labels):
            raise FaceError("That person is no longer in this video's list (the page was out of date): "
                            "look again at the list and choose again.")


def _bridges(faces: FaceSet, tracks: Tracks) -> list[tuple[int, int, int]]:
    """(face before, face after, moment) of each moment a track bridged."""
    out = []
    for t, m in tracks.bridged:
        idx = tracks.faces_of(t)
        samples = faces.face_sample[idx]
        before, after = idx[samples < m], idx[samples > m]
        out.append((int(before[-1]), int(after[0]), int(m)))
    return out


def plural(n: int, word: str, many: Optional[str] = None) -> str:
    """``1 face``, ``2 faces`` (``many`` for irregular plurals: ``plural(2, "person", "people")``)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _distance_to(person: Person, emb: np.ndarray) -> float:
    """Median over the faces ``emb`` of the distance to the person's nearest embedding."""
    pe = person.embeddings()
    if len(pe) == 0 or len(emb) == 0:
        return float("inf")
    d = np.linalg.norm(emb[:, None, :].astype(np.float64) - pe[None, :, :], axis=2).min(axis=1)
    return float(np.median(d))


class PeopleBook:
    """The people of a project and the groups of each of its videos, saved to ``path`` as JSON.

    >>> book = PeopleBook.load("project/people.json")      # doctest: +SKIP
    >>> book.rename(faces, 2, "Jane Doe"); book.save()      # doctest: +SKIP
    """

    def __init__(self, path: Optional[Path | str] = None) -> None:
        self.path = Path(path) if path is not None else None
        self.people: dict[str, Person] = {}
        self.videos: dict[str, VideoState] = {}

    # ----- persistence -------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path | str) -> PeopleBook:
        """The book at ``path``, or an empty one that will be saved there when the file does not exist yet."""
        book = cls(path)
        p = Path(path)
        if not p.exists():
            return book
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise FaceError(f"{p.name} was written by another version of Screen Time: move it away to start "
                                "a new people book.")
            for pid, d in data.get("people", {}).items():
                book.people[pid] = Person(id=pid, name=d.get("name"), ignore=bool(d.get("ignore", False)),
                                          refs={k: _vec(v) for k, v in d.get("refs", {}).items()},
                                          centroids={k: _vec(v) for k, v in d.get("centroids", {}).items()})
            for key, d in data.get("videos", {}).items():
                book.videos[key] = VideoState(key=key, video=d.get("video", ""), labels=[int(x) for x in d["labels"]],
                                              frames=[int(x) for x in d["frames"]],
                                              persons={int(g): str(pid) for g, pid in d.get("persons", {}).items()},
                                              decided={int(g) for g in d.get("decided", [])},
                                              confirmed={int(g) for g in d.get("confirmed", [])},
                                              tracks=[int(x) for x in d.get("tracks", [])],
                                              bridges=[(int(a), int(b), int(m)) for a, b, m in d.get("bridges", [])])
        except FaceError:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise FaceError(f"The people book {p} is damaged ({e.__class__.__name__}): "
                            "restore it from a backup or move it away to start a new one.") from e
        return book

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "people": {pid: {"name": p.name, "ignore": p.ignore, "refs": p.refs, "centroids": p.centroids}
                       for pid, p in self.people.items()},
            "videos": {k: {"video": v.video, "labels": v.labels, "frames": v.frames,
                           "persons": {str(g): pid for g, pid in sorted(v.persons.items())},
                           "decided": sorted(v.decided), "confirmed": sorted(v.confirmed), "tracks": v.tracks,
                           "bridges": [list(x) for x in v.bridges]} for k, v in self.videos.items()},
        }

    def save(self, path: Optional[Path | str] = None) -> Path:
        """Write the book atomically (temporary file + rename); returns where."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise FaceError("This people book has no file yet: give a path to save it to.")
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text(target, json.dumps(self.to_dict(), indent=1))
        self.path = target
        return target

    # ----- people ------------------------------------------------------------------------------------------
    def find(self, name: str) -> Optional[Person]:
        """The person called ``name`` (case and surrounding spaces ignored), if any."""
        want = name.strip().casefold()
        for p in self.people.values():
            if p.name is not None and p.name.strip().casefold() == want:
                return p
        return None

    def _new_person(self, name: Optional[str], ignore: bool = False) -> Person:
        k = len(self.people) + 1
        while f"p{k}" in self.people:
            k += 1
        p = Person(id=f"p{k}", name=name.strip() if name else None, ignore=ignore)
        self.people[p.id] = p
        return p

    def person(self, name: str) -> Person:
        """The person called ``name``, created if new."""
        if not name or not name.strip():
            raise FaceError("A name cannot be empty: type the person's name.")
        return self.find(name) or self._new_person(name)

    def add_reference(self, name: str, embedding: np.ndarray, label: str) -> Person:
        """Remember a reference photo's embedding for ``name`` (the photo file name as ``label``)."""
        p = self.person(name)
        p.refs[label] = _vec(embedding)
        return p

    # ----- videos ------------------------------------------------------------------------------------------
    def state(self, faces: FaceSet) -> VideoState:
        """This face set's groups; raises if the video was never attached."""
        try:
            return self.videos[faces.key]
        except KeyError:
            raise FaceError("This video has no groups in the people book yet: run face discovery on it "
                            "first.") from None

    def attach(self, faces: FaceSet, threshold: float = config.CLUSTER_THRESHOLD) -> tuple[VideoState, list[str]]:
        """Group this face set's faces (first time only; later calls keep the user's edits) and name the groups
        that match a known person. Returns the state and sentences about what was matched."""
        st = self.videos.get(faces.key)
        if st is None or len(st.labels) != len(faces):
            tracks = link_tracks(faces)
            labels = group_faces(faces, threshold, tracks)
            st = VideoState(key=faces.key, video=str(faces.video), labels=[int(x) for x in labels],
                            frames=[int(x) for x in faces.face_sample], tracks=[int(x) for x in tracks.track],
                            bridges=_bridges(faces, tracks))
            self.videos[faces.key] = st
        messages = self.match(faces)
        self._update_centroids(faces)
        return st, messages

    def match(self, faces: FaceSet, threshold: float = config.MATCH_THRESHOLD) -> list[str]:
        """Name the undecided, unnamed groups that are within ``threshold`` of a known person: closest pairs
        first, never two groups of one person that share a frame. Only a group's sharp faces are compared
        (a blurred face is close to anyone), so a group of blurred faces is never named automatically."""
        st = self.state(faces)
        sharp = is_sharp(faces.sharpness) & faces.embedded_mask  # a face not embedded only echoes its track's
        candidates = [p for p in self.people.values() if len(p.embeddings())]
        pairs = []
        for g in st.groups():
            if g in st.decided or g in st.persons:
                continue
            emb = faces.embeddings[[i for i in st.faces_of(g) if sharp[i]]]
            if len(emb) == 0:
                continue
            for p in candidates:
                # a person's own centroid from this very face set would only echo earlier matching
                others = Person(p.id, p.name, p.ignore, p.refs,
                                {k: v for k, v in p.centroids.items() if k != faces.key})
                d = _distance_to(others, emb)
                if d < threshold:
                    pairs.append((d, g, p.id))
        messages = []
        for d, g, pid in sorted(pairs):
            if g in st.persons:
                continue
            frames_g = {st.frames[i] for i in st.faces_of(g)}
            clash = any(frames_g & {st.frames[i] for i in st.faces_of(h)}
                        for h, q in st.persons.items() if q == pid)
            if clash:
                continue
            st.persons[g] = pid
            p = self.people[pid]
            how = "closely" if d < 0.5 else "probably"
            seen = plural(len(st.faces_of(g)), "face")
            messages.append(f"{seen} ignored again: they look like faces you ignored before." if p.ignore else
                            f"Recognised {p.name} ({seen}): {how} the same face as their photo or an earlier "
                            "video.")
        return messages

    def _update_centroids(self, faces: FaceSet) -> None:
        """Each person's mean embedding in this face set, from their sharp faces (all their faces if none is
        sharp, as when the user names a blurred group by hand)."""
        st = self.state(faces)
        sharp = is_sharp(faces.sharpness) & faces.embedded_mask
        by_person: dict[str, list[int]] = {}
        for g, pid in st.persons.items():
            by_person.setdefault(pid, []).extend(st.faces_of(g))
        for pid, p in self.people.items():
            idx = by_person.get(pid)
            if idx:
                idx = [i for i in idx if sharp[i]] or [i for i in idx if faces.embedded_mask[i]] or idx
                p.centroids[faces.key] = _vec(faces.embeddings[idx].mean(axis=0))
            else:
                p.centroids.pop(faces.key, None)

    # ----- edits (each leaves the book consistent; call save() to keep them) --------------------------------
    def rename(self, faces: FaceSet, group: int, name: Optional[str]) -> Optional[Person]:
        """Name group ``group`` (an existing name joins that person); ``None`` or "" takes the name away."""
        st = self.state(faces)
        st.check_group(group)
        st.decided.add(group)
        if not name or not name.strip():
            st.persons.pop(group, None)
            self._update_centroids(faces)
            return None
        p = self.person(name)
        mine = {st.frames[i] for i in st.faces_of(group)}
        for h, pid in st.persons.items():
            if pid == p.id and h != group and mine & {st.frames[i] for i in st.faces_of(h)}:
                raise FaceError(f"{p.name} is already on screen in a frame of these faces: one person cannot be "
                                "twice in one frame, so split the wrong faces out first or choose another name.")
        st.persons[group] = p.id
        self._update_centroids(faces)
        return p

    def ignore(self, faces: FaceSet, group: int, ignore: bool = True) -> None:
        """Mark a group as not a person to count (a poster, a photo on a wall), or count it again."""
        st = self.state(faces)
        st.check_group(group)
        st.decided.add(group)
        pid = st.persons.get(group)
        if pid is not None and not ignore and self.people[pid].name is None:
            st.persons.pop(group)  # a stranger counted again is an unnamed group again
        elif pid is not None:
            self.people[pid].ignore = ignore
        elif ignore:
            st.persons[group] = self._new_person(None, ignore=True).id
        self._update_centroids(faces)

    def confirm(self, faces: FaceSet, group: int) -> None:
        """Count an unsure group (a face seen once) as a person: the user looked and decided it is someone."""
        st = self.state(faces)
        st.check_group(group)
        st.decided.add(group)
        st.confirmed.add(group)

    def merge(self, faces: FaceSet, keep: int, other: int) -> int:
        """Put the faces of group ``other`` into group ``keep``: one person. Returns ``keep``."""
        st = self.state(faces)
        st.check_group(keep)
        st.check_group(other)
        if keep == other:
            return keep
        a, b = st.faces_of(keep), st.faces_of(other)
        shared = sorted({st.frames[i] for i in a} & {st.frames[i] for i in b})
        if shared:
            t = float(faces.times[shared[0]])
            raise FaceError(f"These two are both on screen at {mmss(t)}, so they are two people: "
                            "split the wrong faces out first, then merge.")
        for i in b:
            st.labels[i] = keep
        if keep not in st.persons and other in st.persons:
            st.persons[keep] = st.persons[other]
        st.persons.pop(other, None)
        st.decided.discard(other)
        st.confirmed.discard(other)
        st.decided.add(keep)
        self._update_centroids(faces)
        return keep

    def move_faces(self, faces: FaceSet, face_ids: Iterable[int], to_group: Optional[int] = None) -> int:
        """Move faces out of their group, into ``to_group`` or (None) into a new unnamed group. Returns the group."""
        st = self.state(faces)
        ids = sorted({int(i) for i in face_ids})
        if not ids:
            raise FaceError("No faces were chosen: pick the faces to move first.")
        bad = [i for i in ids if not 0 <= i < len(st.labels)]
        if bad:
            raise FaceError(f"Face {bad[0]} does not exist in this video: pick faces from its groups.")
        moving_frames = [st.frames[i] for i in ids]
        if len(set(moving_frames)) != len(moving_frames):
            raise FaceError("Two of the chosen faces are in the same frame, so they cannot be one person: "
                            "move them one at a time.")
        if to_group is None:
            to_group = max(st.labels) + 1
        else:
            st.check_group(to_group)
            staying = {st.frames[i] for i in st.faces_of(to_group) if i not in ids}
            if staying & set(moving_frames):
                raise FaceError("That person already has a face in the same frame: one person cannot be "
                                "twice in one frame.")
        for i in ids:
            st.labels[i] = to_group
        st.decided.add(to_group)
        for g in list(st.persons):
            if g not in set(st.labels):
                st.persons.pop(g)
        self._update_centroids(faces)
        return to_group
