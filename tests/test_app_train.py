"""Train page (AppTest): one button, scores in words, frames it got wrong a click from relabelling."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest
from test_app_helpers import ROOT, dirs, sampled_project, truth  # noqa: F401

from core import Scores, train_project
from core.demo import first_project
from core.project import Project
from core.verdict import SURE_EACH, change, verdict
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


def _scores(support: int, f1: float, name: str = "Tom") -> Scores:
    return Scores(name, f1, f1, f1, support, support, 0, 0)


@pytest.mark.parametrize("support, labelled, f1, words", [
    (5, 10, 1.0, "good so far, from 5 frames: label about 15 more with Tom and 15 without to be sure"),
    (7, 40, 0.9, "good so far, from 7 frames: label about 13 more with Tom to be sure"),
    (30, 40, 0.9, "good so far, from 30 frames: label about 10 more without Tom to be sure"),
    (20, 40, 0.9, "good, from 20 frames"),
    (8, 40, 0.7, "fair so far, from 8 frames: label about 12 more with Tom, then train again"),
    (8, 40, 0.3, "weak, from 8 frames: label about 12 more with Tom, then train again"),
    (0, 40, 0.0, "not checked yet: label about 20 more with Tom"),
], ids=["handful", "few-with", "few-without", "enough", "fair", "weak", "none"])
def test_the_verdict_is_never_good_on_a_handful_of_frames(support, labelled, f1, words):
    v = verdict(_scores(support, f1), labelled)
    assert v.words() == words
    assert v.sure == (support >= SURE_EACH and labelled - support >= SURE_EACH)


@pytest.mark.parametrize("before, now, words", [(0.70, 0.85, "better than before: F1 0.70 → 0.85"),
                                                (0.85, 0.70, "worse than before: F1 0.85 → 0.70"),
                                                (0.80, 0.81, "about the same as before (F1 0.80)")],
                         ids=["up", "down", "same"])
def test_retraining_says_up_or_down(before, now, words):
    assert change(_scores(10, now), _scores(10, before)).words() == words
    assert change(_scores(10, now), None).direction == "new"


def test_the_page_says_how_many_more_and_compares_with_the_model_before(dirs):
    p, v = sampled_project(dirs, label_every=3)  # 10 labelled frames: never "good" yet
    first = train_project(p)
    at = run(p.slug)
    assert not at.exception
    text = " ".join(x.value for x in at.markdown)
    assert "so far, from" in text or "weak, from" in text
    assert "label about" in text and "than before" not in text and "good, from" not in text
    assert ":green[" not in text  # nothing is green on 10 frames
    red, blue = p.characters()
    for t in range(1, 30, 3):  # more labels, then train again
        p.set_frame(v.id, float(t), [c.id for c in (red, blue) if c.name in truth(t)])
    second = train_project(p)
    assert p.previous_model(second) == first and p.previous_model(first) is None
    at = run(p.slug)
    assert not at.exception
    text = " ".join(x.value for x in at.markdown)
    assert sum(text.count(w) for w in ("better than before", "worse than before", "about the same")) == 2  # Red, Blue
    assert any("Compared with the model trained before it" in c.value for c in at.caption)


def _trained_with_two_wrong_ticks(dirs):
    """A project labelled every 2 s with two deliberate wrong ticks (Red where only Blue is, and the reverse),
    trained: the model is confidently wrong on them."""
    p, v = sampled_project(dirs, label_every=2)
    ids = {c.name: c.id for c in p.characters()}
    p.set_frame(v.id, 10.0, [ids["Red"]])  # only Blue is on screen at 0:10
    p.set_frame(v.id, 4.0, [ids["Blue"]])  # only Red is on screen at 0:04
    m = train_project(p)
    assert m.wrong
    return p, v, m


def test_the_frames_it_got_wrong_never_say_100_percent_on_the_page(dirs):
    """Issue 15, point 9: a wrong guess was labelled "(sure 100%)". Two deliberate wrong ticks (Red where only
    Blue is, and the reverse) make the model confidently wrong on them."""
    p, v, m = _trained_with_two_wrong_ticks(dirs)
    at = run(p.slug)
    assert not at.exception
    said = [c.value for c in at.caption if "It missed" in c.value or "It wrongly saw" in c.value]
    assert len(said) == min(len(m.wrong), 12)
    assert all(re.search(r"\((more than 99|\d{1,2})% sure\)", c) for c in said), said
    assert not any("100%" in c for c in said)


def test_each_frame_it_got_wrong_disagrees_with_the_label_at_its_moment(dirs):
    """The frames it got wrong come from the rows the classifier learned from (``TrainResult.labelled``), not
    from labels aligned again: each one's time, character and label are those of a labelled moment."""
    p, v, m = _trained_with_two_wrong_ticks(dirs)
    labels = p.frame_labels(v.id)
    names = {c.id: c.name for c in p.characters()}
    for w in m.wrong:
        assert w.video_id == v.id and w.time_s in labels
        assert w.labelled_present == (w.character in {names[i] for i in labels[w.time_s]})
    assert {(w.time_s, w.character) for w in m.wrong} >= {(10.0, "Red"), (4.0, "Blue")}
