"""Video page (AppTest): the demo on first start, uploads (good, bad, hostile names), sampling."""

from __future__ import annotations

import io

import pytest
from streamlit.testing.v1 import AppTest
from test_app_helpers import ROOT, colour_project, dirs, synth_video  # noqa: F401

import core
from core.project import Project
from pages import jobs

PAGE = str(ROOT / "pages" / "video.py")
# The page under app.py's sidebar (the project picker), without st.navigation (AppTest keeps no sidebar
# after a rerun of an st.navigation app).
WITH_SIDEBAR = """
import runpy
from pages import common
common.sidebar_projects()
runpy.run_path({page!r})
"""


def run(project: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    if project:
        at.session_state["project"] = project
    return at.run()


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_first_start_opens_the_demo(dirs):
    at = run()
    no_traceback(at)
    assert at.title[0].value == "Video"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Length"] == "1:00" and metrics["Picture size"] == "640 x 360"
    assert any("Ready: 60 frames" in s.value for s in at.success)
    assert at.session_state["project"].startswith("demo")


@pytest.mark.parametrize("name, data, words", [
    ("notes.mp4", b"this is a text file, not a video\n" * 50, "not a video"),
    ("empty.mp4", b"", "empty"),
])
def test_bad_uploads_get_one_friendly_sentence(dirs, name, data, words):
    p = Project.create("Mine")
    at = run(p.slug)
    at.file_uploader[0].upload(name, data, "video/mp4")
    at.run()
    no_traceback(at)
    assert len(at.error) == 1 and words in at.error[0].value
    assert "Traceback" not in at.error[0].value
    assert p.videos() == [] and list((p.root / "videos").iterdir()) == []


def test_truncated_and_huge_uploads(dirs, monkeypatch):
    p = Project.create("Mine")
    data = synth_video(dirs, 6.0).read_bytes()
    at = run(p.slug)
    at.file_uploader[0].upload("cut.mp4", data[: len(data) // 2], "video/mp4")
    at.run()
    no_traceback(at)
    assert len(at.error) == 1 and "ffmpeg" in at.error[0].value  # says how to repair it
    monkeypatch.setattr(core.config, "MAX_VIDEO_BYTES", 1000)
    at = run(p.slug)
    at.file_uploader[0].upload("big.mp4", data, "video/mp4")
    at.run()
    assert len(at.error) == 1 and "larger than" in at.error[0].value


def test_upload_with_hostile_name_then_sample(dirs):
    p = colour_project("Mine")
    at = run(p.slug)
    at.file_uploader[0].upload("../../../evil.mp4", synth_video(dirs, 8.0).read_bytes(), "video/mp4")
    at.run()
    no_traceback(at)
    assert not at.error
    [v] = p.videos()
    assert v.name == "evil.mp4" and p.video_path(v).parent == p.root / "videos"
    assert not (dirs / "evil.mp4").exists() and not (dirs / "data" / "evil.mp4").exists()
    assert at.session_state["video_id"] == v.id
    assert any("Added evil.mp4" in s.value for s in at.success)
    assert {m.label: m.value for m in at.metric}["Length"] == "0:08"
    at.select_slider(key="every").set_value(2.0)
    at.button(key="sample").click()
    at.run()
    no_traceback(at)
    assert jobs.wait(p).state == jobs.DONE  # sampling runs in the background
    at.run()
    assert any("is ready: 4 frames" in s.value for s in at.success)
    assert p.video(v.id).every == 2.0 and p.video(v.id).n_moments == 4


def test_a_duplicate_upload_says_it_is_already_there(dirs):
    p = colour_project("Mine")
    data = synth_video(dirs, 6.0).read_bytes()
    at = run(p.slug)
    at.file_uploader[0].upload("a.mp4", data, "video/mp4")
    at.run()
    assert any("Added a.mp4" in s.value for s in at.success)
    at.file_uploader[0].upload("copy of a.mp4", data, "video/mp4")
    at.run()
    no_traceback(at)
    assert not any("Added" in s.value for s in at.success)
    assert any("copy of a.mp4 is already in this project (as a.mp4" in i.value for i in at.info)
    assert len(p.videos()) == 1


def test_switching_projects_empties_the_upload_box(dirs):
    a, b = colour_project("A"), colour_project("B")
    at = run(a.slug)
    key_a = at.file_uploader[0].key
    at.session_state["project"] = b.slug
    at.run()
    assert at.file_uploader[0].key != key_a and b.slug in str(at.file_uploader[0].key)


def test_the_same_video_in_a_second_project_is_not_sampled_again(dirs):
    """The feature cache is the user's, shared by every project, keyed by the video's content."""
    data = synth_video(dirs, 8.0).read_bytes()
    first, second = colour_project("First"), colour_project("Second")
    for p in (first, second):
        p.import_video(io.BytesIO(data), "same.mp4")
    fs1 = core.sample_video(first, first.videos()[0].id, 1.0)
    assert fs1.computed == 8
    at = run(second.slug)
    assert any("looked at this video before" in c.value for c in at.caption)
    at.button(key="sample").click()
    at.run()
    job = jobs.wait(second)
    assert job.state == jobs.DONE and job.result.computed == 0  # nothing embedded again
    at.run()
    assert any("Ready: 8 frames" in s.value for s in at.success)
    v2 = second.videos()[0]
    assert second.thumb(v2, 3.0) is not None and second.features(v2).features.shape == (8, 8)


def test_a_large_film_is_added_from_disk_without_passing_through_memory(dirs, monkeypatch):
    """Issue 14, point 10: a browser upload is held whole in memory; a path on this computer is streamed."""
    p = colour_project("Mine")
    film = synth_video(dirs, 6.0)
    reads: list[int] = []
    real_import = Project.import_video

    def spy(self, data, filename, progress=None, size=0):  # the file object itself is streamed, never read whole
        assert not isinstance(data, (bytes, io.BytesIO)) and size == film.stat().st_size
        reads.append(size)
        return real_import(self, data, filename, progress, size)

    monkeypatch.setattr(Project, "import_video", spy)
    at = run(p.slug)
    assert "up to 1 GB" in at.file_uploader[0].help  # what .streamlit/config.toml allows
    at.text_input[0].input(f'  "{film}"  ')  # pasted from a file manager, quotes and all
    at.button[0].click()
    at.run()
    no_traceback(at)
    [v] = p.videos()
    assert reads and v.name == film.name and at.session_state["video_id"] == v.id
    assert any(f"Added {film.name}" in s.value for s in at.success)
    at.text_input[0].input(str(film))
    at.button[0].click()
    at.run()
    assert any("is already in this project" in i.value for i in at.info) and len(p.videos()) == 1


@pytest.mark.parametrize("given, words", [("", "Type or paste the full path"),
                                          ("/no/such/film.mp4", "There is no file at /no/such/film.mp4")])
def test_a_wrong_path_on_disk_gets_one_sentence(dirs, given, words):
    p = colour_project("Mine")
    at = run(p.slug)
    at.text_input[0].input(given)
    at.button[0].click()
    at.run()
    no_traceback(at)
    assert len(at.error) == 1 and words in at.error[0].value and p.videos() == []


def test_the_upload_box_is_empty_after_choosing_another_project_in_the_sidebar(dirs):
    """Issue 15, point 9: after switching projects the upload box still showed the previous project's file."""
    a, b = colour_project("A"), colour_project("B")
    at = AppTest.from_string(WITH_SIDEBAR.format(page=PAGE), default_timeout=60)
    at.session_state["project"] = a.slug
    at.run()
    at.file_uploader[0].upload("a.mp4", synth_video(dirs, 6.0).read_bytes(), "video/mp4")
    at.run()
    no_traceback(at)
    assert any("Added a.mp4" in s.value for s in at.success) and len(a.videos()) == 1
    for slug in (b.slug, a.slug):  # to the other project and back: an empty box each time
        at.sidebar.selectbox(key="project_picker").select(slug)
        at.run()
        no_traceback(at)
        assert at.session_state["project"] == slug
        [box] = at.file_uploader
        assert slug in str(box.key) and box.value is None
    assert len(a.videos()) == 1 and b.videos() == []  # nothing uploaded twice, nothing into B


def test_a_live_action_project_is_led_to_the_people_page_after_an_upload(dirs):
    """Issue 15, point 8: live action is not a second-class path (it needs no sampling)."""
    p = colour_project("Live")
    p.set_setting("kind", "people")
    at = run(p.slug)
    at.file_uploader[0].upload("clip.mp4", synth_video(dirs, 6.0).read_bytes(), "video/mp4")
    at.run()
    no_traceback(at)
    assert [s.value for s in at.success] == ["Added clip.mp4. Next: find the people in it on the People page."]
    assert "Next: find the people on the People page" in [i.value for i in at.info]  # (a link under app.py)
