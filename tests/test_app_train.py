"""Train page (AppTest): one button, scores in words, frames it got wrong a click from relabelling."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest
from test_app_helpers import ROOT, dirs, sampled_project  # noqa: F401

from core.demo import first_project
from core.project import Project

PAGE = str(ROOT / "pages" / "train.py")


def run(slug: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["project"] = slug
    return at.run()


def test_demo_model_in_words(dirs):
    p = first_project()
    at = run(p.slug)
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Finds Bunny in" in text and "of 10" in text and "right" in text
    assert any("Not learned yet: Bird" in w.value for w in at.warning)
    assert at.button(key="train")


def test_train_button_then_wrong_frames_and_relabel(dirs):
    p, v = sampled_project(dirs, label_every=3)
    at = run(p.slug)
    assert any("No model yet" in i.value for i in at.info)
    at.button(key="train").click()
    at.run()
    assert not at.exception and not at.error
    assert any("The model is ready" in s.value for s in at.success)
    m = p.latest_model()
    assert m is not None and m.characters == ("Red", "Blue")
    text = " ".join(x.value for x in at.markdown)
    assert "Finds Red in" in text and "Finds Blue in" in text
    relabel = [b for b in at.button if str(b.key).startswith("relabel_")]
    assert len(relabel) == min(len(m.wrong), 12)
    if relabel:
        relabel[0].click()
        at.run()
        assert at.session_state["relabel"] == m.wrong[0].time_s
        assert at.session_state["video_id"] == v.id


def test_too_few_labels_is_one_sentence(dirs):
    p, v = sampled_project(dirs, label_every=15)  # 2 labelled frames only
    at = run(p.slug)
    at.button(key="train").click()
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and "label" in at.error[0].value.lower()


def test_no_characters_yet(dirs):
    p = Project.create("Empty")
    at = run(p.slug)
    at.button(key="train").click()
    at.run()
    assert not at.exception and "characters" in at.error[0].value
