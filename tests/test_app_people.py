"""People page (AppTest): finding faces with progress, galleries with screen time, naming from a photo, merge,
split, ignore, names carried to the next video, results views and downloads, friendly errors."""

from __future__ import annotations

import json
import shutil
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

PAGE = str(ROOT / "pages" / "people.py")


@pytest.fixture(scope="session")
def faces_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Hamilton clip and its first 8 s (a second 'episode') with their faces computed once, at the page's
    defaults (hog+cnn, every 1 s), to copy into each test's project."""
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
    at.button(key="find_people").click()
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


def test_find_people_shows_progress_galleries_and_results(dirs, faces_cache):
    p = hamilton_project(faces_cache, seeded=False)  # the real thing: detection, embedding, grouping
    at = run(p)
    ok(at)
    assert any("Not looked at yet" in i.value for i in at.info)
    assert at.button(key="find_people").label == "Find people"
    at = find(at)
    ok(at)
    assert any(s.value == "Found 7 faces: 1 person counted, 2 unsure." for s in at.success)
    # largest first, each with its screen time; faces seen once (Alex Lacamoire's profile, a blurred
    # audience face) are kept apart until named
    assert people(at) == ["**Person 1** (no name yet) — 0:06 on screen, 5 faces",
                          "**Unsure g1** (unsure: not counted) — 0:01 on screen, 1 face",
                          "**Unsure g2** (unsure: not counted) — 0:01 on screen, 1 face"]
    assert len(at.get("image")) == 3  # one row of face thumbnails per group
    assert (p.root / "people.json").is_file() and at.button(key="find_people").label == "Look again"
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(figs) == 3  # bars, timeline, heat map
    assert dict(zip(figs[0]["data"][0]["y"], figs[0]["data"][0]["x"])) == {"Person 1": 6.0}
    assert all(t["orientation"] == "h" and "base" in t for t in figs[1]["data"])
    assert figs[2]["data"][0]["type"] == "heatmap"
    assert [d.label for d in at.get("download_button")] == ["Screen time (CSV)", "Appearances (CSV)",
                                                            "Full report (JSON)", "Subtitles (SRT)"]
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
    assert any("Saved the photo of Alex Lacamoire (alex.png)" in s.value and "named Alex Lacamoire" in s.value
               for s in at.success)
    assert (p.root / "people" / "alex.png").read_bytes() == ALEX.read_bytes()
    assert not (dirs / "alex.png").exists() and not (dirs / "data" / "alex.png").exists()
    assert people(at)[1] == "**Alex Lacamoire** — 0:01 on screen, 1 face"
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


def test_name_split_merge_and_ignore(dirs, faces_cache):
    p = hamilton_project(faces_cache)
    at = find(run(p))
    at.text_input(key="name_g0").input("Lin-Manuel Miranda")
    at = submit(at, "Save the name")
    ok(at)
    assert people(at)[0] == "**Lin-Manuel Miranda** — 0:06 on screen, 5 faces"
    assert book(p)["people"]["p1"]["name"] == "Lin-Manuel Miranda"

    # split: the far shot at 0:00 is moved out into a group of its own (unsure: one face)
    at.multiselect(key="move_pick_g0").select(0)
    at.button(key="move_g0").click()
    at = at.run()
    ok(at)
    assert people(at)[0] == "**Lin-Manuel Miranda** — 0:05 on screen, 4 faces"
    assert "**Unsure g3** (unsure: not counted) — 0:01 on screen, 1 face" in people(at)

    # merge it back
    at.selectbox(key="merge_pick_g3").set_value(0)
    at.button(key="merge_g3").click()
    at = at.run()
    ok(at)
    assert people(at)[0] == "**Lin-Manuel Miranda** — 0:06 on screen, 5 faces"

    # ignore Alex Lacamoire's unnamed profile, then count it again
    at.button(key="ignore_g1").click()
    at = at.run()
    ok(at)
    assert "**Ignored g1** (ignored: not counted) — 0:01 on screen, 1 face" in people(at)
    assert [s.value for s in at.subheader][:2] == ["Unsure", "Ignored"]
    at.button(key="unignore_g1").click()
    at = at.run()
    ok(at)
    assert people(at)[1] == "**Unsure g1** (unsure: not counted) — 0:01 on screen, 1 face"

    # everything is in the project's people book: a new session sees the same
    assert people(run(p)) == people(at)


def test_impossible_edits_are_one_sentence(dirs, faces_cache):
    p = hamilton_project(faces_cache)
    at = find(run(p))
    at.button(key="move_g0").click()  # nothing chosen
    at = at.run()
    assert not at.exception and [e.value for e in at.error] == ["No faces were chosen: pick the faces to move first."]
    at = run(p)
    at.button(key="merge_g0").click()  # nobody chosen
    at = at.run()
    assert [e.value for e in at.error] == ["Choose who this is the same person as first."]
    at = run(p)
    at.text_input(key="name_g1").input("Unsure g2")
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
