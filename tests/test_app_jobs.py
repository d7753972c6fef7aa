"""Background jobs (AppTest): sampling, training and finding people run in a server thread, survive a page
change, show their progress in the sidebar of every page, and can be cancelled; time estimates come from
this machine's measured speed."""

from __future__ import annotations

import re
import threading
from typing import Optional

import fakes
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_app_helpers import ROOT, colour_project, dirs, sampled_project, synth_video  # noqa: F401

from core import sample_video
from core.backbone import FeatureSpec
from core.faces.project_people import ProjectPeople
from core.features import register_backbone
from core.jobs import FIRST_GUESS, measured_speed, sampling_estimate_s, train_project
from pages import common, jobs

# The sidebar of every page (app.py calls common.sidebar_jobs() after the page).
SIDEBAR = """
import streamlit as st
from pages import common
st.title("Another page")
common.sidebar_jobs()
"""
GATED = "gated"


class GatedFactory(fakes.Factory):
    """The colour stand-in, but each batch waits for ``gate``: a job that runs until the test lets it go."""

    gate = threading.Event()

    def __call__(self, spec: FeatureSpec, weights: Optional[str]) -> fakes.ColourBackbone:
        b = super().__call__(spec, weights)
        inner = b.embed

        def embed(batch: np.ndarray) -> np.ndarray:
            assert self.gate.wait(30), "the test never opened the gate"
            return inner(batch)

        b.embed = embed  # type: ignore[method-assign]
        b.key = f"{GATED}-test-32x32"  # type: ignore[misc]
        return b

    def candidate_keys(self, spec: FeatureSpec, weights: Optional[str]) -> list[str]:
        return [f"{GATED}-test-32x32"]


register_backbone(GATED, GatedFactory())


@pytest.fixture
def gate():
    GatedFactory.gate.clear()
    yield GatedFactory.gate
    GatedFactory.gate.set()


def gated_project(dirs, name: str = "Slow"):
    p = colour_project(name)
    jobs.forget(p)  # a finished job of an earlier test's project of the same name
    p.set_setting("backbone", GATED)
    with open(synth_video(dirs), "rb") as f:
        v = p.import_video(f, "synth.mp4")
    return p, v


def video_page(slug: str, video_id: Optional[int] = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "video.py"), default_timeout=60)
    at.session_state["project"] = slug
    if video_id is not None:
        at.session_state["video_id"] = video_id
    return at.run()


def sidebar(slug: str) -> AppTest:
    at = AppTest.from_string(SIDEBAR, default_timeout=60)
    at.session_state["project"] = slug
    return at.run()


def progress_texts(at: AppTest) -> list[str]:
    return [str(e.proto.text) for e in at.get("progress")]


def test_sampling_goes_on_after_a_page_change_and_ends_on_every_page(dirs, gate):
    p, v = gated_project(dirs)
    at = video_page(p.slug)
    at.button(key="sample").click()
    at.run()
    assert not at.exception
    job = jobs.current(p)
    assert job is not None and job.running and job.kind == "sample"
    assert at.button(key="sample").disabled  # one job per project at a time
    other = sidebar(p.slug)  # the user went to another page: the job goes on and shows in the sidebar
    assert not other.exception
    assert any("Sampling synth.mp4" in t for t in progress_texts(other))
    assert other.sidebar.button(key="cancel_job_sidebar")
    gate.set()
    jobs.wait(p)
    assert job.state == jobs.DONE and p.video(v.id).n_moments == 30
    other.run()
    assert [s.value for s in other.sidebar.success] == [
        "synth.mp4 is ready: 30 frames. Go to Label and tick who is visible in some of them."]
    other.run()  # said until dismissed
    assert len(other.sidebar.success) == 1
    other.sidebar.button(key="dismiss_job").click()
    other.run()
    assert not other.sidebar.success
    assert any("Ready: 30 frames" in s.value for s in video_page(p.slug).success)


def test_cancel_stops_sampling_and_keeps_nothing(dirs, gate):
    p, v = gated_project(dirs)
    at = video_page(p.slug)
    at.button(key="sample").click()
    at.run()
    other = sidebar(p.slug)
    other.sidebar.button(key="cancel_job_sidebar").click()
    other.run()
    assert any("Stopping at the next step" in c.value for c in other.sidebar.caption)
    gate.set()
    job = jobs.wait(p)
    assert job is not None and job.state == jobs.CANCELLED
    assert p.video(v.id).n_moments is None and p.moments(p.video(v.id)) is None
    assert not list(p.cache.root.rglob("features.npz"))  # nothing half-done looks complete
    other.run()
    assert not other.exception
    assert any("cancelled" in w.value for w in other.sidebar.warning)


def test_a_second_job_for_the_same_project_is_refused_with_a_sentence(dirs, gate):
    p, v = gated_project(dirs)
    jobs.start(p, "sample", "Sampling synth.mp4", lambda cb: sample_video(p, v.id, 1.0, cb), lambda r: "ok")
    with pytest.raises(Exception, match="still running for this project"):
        jobs.start(p, "train", "Training", lambda cb: None, lambda r: "ok")
    gate.set()
    assert jobs.wait(p).state == jobs.DONE


def test_training_runs_in_the_background_with_real_steps(dirs):
    p, v = sampled_project(dirs, label_every=3)
    seen: list[str] = []
    train_project(p, progress=lambda stage, done, total: seen.append(stage))
    steps = list(dict.fromkeys(seen))
    assert steps == ["reading", "training", "measuring"]
    at = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=60)
    at.session_state["project"] = p.slug
    at.run()
    assert any("Takes about" in c.value and "on this computer" in c.value for c in at.caption)
    at.button(key="train").click()
    at.run()
    assert jobs.wait(p).state == jobs.DONE
    at.run()
    assert any("The model is ready" in s.value for s in at.success)
    assert p.latest_model().id == 2  # the page's model, after the one trained above


def test_estimates_come_from_this_machines_measured_speed(dirs):
    p = colour_project("Speed")
    with open(synth_video(dirs), "rb") as f:
        v = p.import_video(f, "synth.mp4")
    assert measured_speed(fakes.FAMILY)["measured"] == 0.0
    guess, measured = sampling_estimate_s(p, v.id, 1.0)
    assert not measured and guess == pytest.approx(FIRST_GUESS["start_s"] + 30 / FIRST_GUESS["frames_per_s"])
    assert any("a first guess" in c.value for c in video_page(p.slug).caption)
    sample_video(p, v.id, 1.0)
    speed = measured_speed(fakes.FAMILY)
    assert speed["measured"] == 1.0 and speed["frames_per_s"] > FIRST_GUESS["frames_per_s"]
    with open(synth_video(dirs, 20.0, "other.mp4"), "rb") as f:
        v2 = p.import_video(f, "other.mp4")
    est, measured = sampling_estimate_s(p, v2.id, 1.0)
    assert measured and est == pytest.approx(speed["start_s"] + 20 / speed["frames_per_s"])
    assert any("measured on this computer" in c.value for c in video_page(p.slug, v2.id).caption)


def test_progress_sentence_names_the_stage_and_the_time_left():
    job = jobs.Job("x", "sample", "Sampling a.mp4", estimate_s=100.0)
    job.progress("loading network", 0, 0)
    assert job.text().startswith("Getting the picture-recognition network ready... - about 1:")
    assert 0 <= job.fraction() < 0.05
    job.progress("features", 30, 120)
    assert job.text().startswith("Looking at the frames: 30 of 120") and job.fraction() == 0.25
    training = jobs.Job("x", "train", "Training", estimate_s=40.0)
    training.progress("training", 0, 1)  # one long step: the time left, never "0 of 1"
    assert re.fullmatch(r"Learning\.\.\. - about 0:(39|40) left", training.text()), training.text()
    assert 0 <= training.fraction() < 0.05
    job.cancel_requested.set()
    with pytest.raises(Exception, match="Stopped"):
        job.progress("features", 31, 120)


def test_finding_people_runs_as_a_background_job(dirs):
    """The People page's slow step through the same runner (a video without faces: quick and exact)."""
    p = colour_project("Faces")
    with open(synth_video(dirs, 6.0), "rb") as f:
        v = p.import_video(f, "synth.mp4")
    common.start_finding_people(p, v, 1.0, "hog")
    job = jobs.wait(p, 120)
    assert job is not None and job.state == jobs.DONE, job.message
    assert job.message == "Found 0 faces in synth.mp4: 0 people counted."
    assert ProjectPeople(p).result(v) is not None  # kept, as the People page's own button keeps it
    assert any(job.message in s.value for s in sidebar(p.slug).sidebar.success)
