"""Train page (AppTest): one button, scores in words, frames it got wrong a click from relabelling."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest
from test_app_helpers import ROOT, dirs, sampled_project  # noqa: F401

from core import train_project
from core.demo import first_project
from core.project import Project
from pages import common, jobs

PAGE = str(ROOT / "pages" / "train.py")


def run(slug: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["project"] = slug
    return at.run()


def train(at: AppTest, p: Project) -> None:
    """Press Train, wait for the background job, show the page again."""
    at.button(key="train").click()
    at.run()
    jobs.wait(p, 120)
    at.run()


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
    train(at, p)
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
    train(at, p)
    assert not at.exception
    assert len(at.error) == 1 and "label" in at.error[0].value.lower()


def test_no_characters_yet(dirs):
    p = Project.create("Empty")
    at = run(p.slug)
    train(at, p)
    assert not at.exception and "characters" in at.error[0].value


def test_changed_labels_or_characters_say_the_model_is_out_of_date(dirs):
    """Issue 15, point 3."""
    p = first_project()
    at = run(p.slug)
    assert not any("out of date" in w.value for w in at.warning)
    gimera = next(c for c in p.characters() if c.name == "Gimera")
    p.remove_character(gimera.id)
    at.run()
    assert any("out of date" in w.value for w in at.warning)
    text = " ".join(m.value for m in at.markdown)
    assert "Gimera" not in text and "Finds Bunny in" in text  # a character that is gone is not scored
    assert any("No longer characters of this project" in c.value and "Gimera" in c.value for c in at.caption)
    at.button(key="train_again").click()
    at.run()
    assert jobs.wait(p, 120).state == jobs.DONE
    at.run()
    assert not any("out of date" in w.value for w in at.warning)
    assert "Gimera" not in p.latest_model().characters
    p.set_present(p.videos()[0].id, 5.0, p.characters()[0].id, True)  # one more tick
    at.run()
    assert any("out of date" in w.value for w in at.warning)


@pytest.mark.parametrize("probability, words", [(0.0004, "more than 99% sure"), (0.9996, "more than 99% sure"),
                                                 (0.8, "80% sure"), (0.3, "70% sure"), (0.5, "50% sure")])
def test_a_wrong_guess_is_never_called_100_percent_sure(probability, words):
    assert common.sure_words(probability) == words


def test_the_frames_it_got_wrong_never_say_100_percent_on_the_page(dirs):
    """Issue 15, point 9: a wrong guess was labelled "(sure 100%)". Two deliberate wrong ticks (Red where only
    Blue is, and the reverse) make the model confidently wrong on them."""
    p, v = sampled_project(dirs, label_every=2)
    ids = {c.name: c.id for c in p.characters()}
    p.set_frame(v.id, 10.0, [ids["Red"]])  # only Blue is on screen at 0:10
    p.set_frame(v.id, 4.0, [ids["Blue"]])  # only Red is on screen at 0:04
    m = train_project(p)
    assert m.wrong
    at = run(p.slug)
    assert not at.exception
    said = [c.value for c in at.caption if "It missed" in c.value or "It wrongly saw" in c.value]
    assert len(said) == min(len(m.wrong), 12)
    assert all(re.search(r"\((more than 99|\d{1,2})% sure\)", c) for c in said), said
    assert not any("100%" in c for c in said)
