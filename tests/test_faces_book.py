"""The people book: naming, merging, moving faces and ignoring persist across a restart and carry over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faces_helpers import CLIP, REFS

from core.faces import FaceError, PeopleBook, find_people
from core.faces.pipeline import assemble


@pytest.fixture(autouse=True)
def _faces_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCREENTIME_CACHE", str(tmp_path_factory.getbasetemp() / "faces-cache"))


def _reload(path: Path, every: float = 1.0):
    """A fresh process's view: the book read back from disk, the faces from the cache."""
    book = PeopleBook.load(path)
    return book, find_people(CLIP, every, "hog", None, book)


def test_rename_merge_move_and_ignore_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    book = PeopleBook(path)
    r = find_people(CLIP, 1.0, "hog", None, book)
    faces = r.faces
    assert [v.name for v in r.people] == ["Person 1"] and r.people[0].groups == (0,)
    lin_faces = r.people[0].faces  # far shot at 0 s, then 3, 5, 6, 7 s

    # name, then split the far-shot face out, then merge it back, then ignore the audience face
    book.rename(faces, 0, "Lin")
    new = book.move_faces(faces, [lin_faces[0]])
    book.save()
    book, r = _reload(path)
    assert [(v.name, v.groups, len(v.faces)) for v in r.people] == [("Lin", (0,), 4)]
    assert [(v.name, v.groups) for v in r.unsure] == [("Unsure 1", (new,)), ("Unsure 2", (1,))]  # 0 s, 8 s
    assert r.people[0].seconds == 5.0  # 3-7 s; the moved face no longer counts

    book.merge(r.faces, 0, new)
    book.ignore(r.faces, 1)
    book.save()
    book, r = _reload(path)
    assert [(v.name, len(v.faces), v.seconds) for v in r.people] == [("Lin", 5, 6.0)]
    assert r.unsure == () and [(v.status, v.groups) for v in r.ignored] == [("ignored", (1,))]
    data = json.loads(path.read_text())
    assert data["format"] == 1 and len(data["videos"]) == 1

    book.rename(r.faces, 0, "Lin-Manuel Miranda")  # renaming again moves the group to the new name
    book.save()
    book, r = _reload(path)
    assert [v.name for v in r.people] == ["Lin-Manuel Miranda"]


def test_impossible_edits_are_refused_with_a_sentence(tmp_path: Path) -> None:
    book = PeopleBook(tmp_path / "people.json")
    r = find_people(CLIP, 1.0, "hog", None, book)
    f = r.faces
    with pytest.raises(FaceError, match="no longer in this video's list"):
        book.merge(f, 0, 9)
    with pytest.raises(FaceError, match="cannot be empty"):
        book.person("  ")
    # HOG sees one face per frame in this clip; make the audience face (8 s) share Lin's 7-s frame
    st = book.state(f)
    lin_7s = st.faces_of(0)[-1]
    st.frames[st.faces_of(1)[0]] = st.frames[lin_7s]
    with pytest.raises(FaceError, match="both on screen at 0:07"):
        book.merge(f, 0, 1)
    with pytest.raises(FaceError, match="same frame"):
        book.move_faces(f, [st.faces_of(1)[0]], to_group=0)
    with pytest.raises(FaceError, match="same frame"):
        book.move_faces(f, [lin_7s, st.faces_of(1)[0]])
    assert st.labels == [0, 0, 0, 0, 0, 1]  # nothing changed


def test_names_carry_over_to_the_next_video_of_the_project(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    book = PeopleBook(path)
    r = find_people(CLIP, 1.0, "hog", None, book)
    book.rename(r.faces, 0, "Lin")
    book.save()
    # another face set of the project: the same footage sampled every 0.5 s stands in for episode 2
    book = PeopleBook.load(path)
    r2 = find_people(CLIP, 0.5, "hog", None, book)
    assert r2.people[0].name == "Lin" and r2.people[0].status == "named"
    assert any(m.startswith("Recognised Lin (") for m in r2.messages)


def test_a_reference_photo_names_its_group_and_is_stored(tmp_path: Path) -> None:
    book = PeopleBook(tmp_path / "people.json")
    r = find_people(CLIP, 1.0, "hog", {"Lin-Manuel Miranda": REFS["Lin-Manuel Miranda"]}, book)
    assert r.people[0].name == "Lin-Manuel Miranda"
    book.save()
    again = PeopleBook.load(tmp_path / "people.json")
    p = again.find("lin-manuel miranda")
    assert p is not None and list(p.refs) == ["lin-manuel-miranda.png"] and len(p.refs["lin-manuel-miranda.png"]) == 128


def test_a_damaged_book_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    path.write_text("{not json")
    with pytest.raises(FaceError, match="damaged"):
        PeopleBook.load(path)


def test_a_stranger_ignored_then_counted_again_is_unnamed_again(tmp_path: Path) -> None:
    book = PeopleBook(tmp_path / "people.json")
    r = find_people(CLIP, 1.0, "hog", None, book)
    book.ignore(r.faces, 0)
    assert [v.status for v in assemble(r.faces, book).ignored] == ["ignored"]
    book.ignore(r.faces, 0, False)
    r = assemble(r.faces, book)
    assert [(v.name, v.status) for v in r.people] == [("Person 1", "unnamed")] and r.ignored == ()
