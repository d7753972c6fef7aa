"""Label page (AppTest): characters, ticking frames (saved at once), filters, one by one, suggestions."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest
from test_app_helpers import ROOT, dirs, sampled_project  # noqa: F401

from core.demo import first_project
from core.project import Project

PAGE = str(ROOT / "pages" / "label.py")


def run(slug: str, **state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["project"] = slug
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def pills(at: AppTest, prefix: str = "grid") -> list:
    return [b for b in at.button_group if str(b.key).startswith(prefix + "_")]


def test_new_project_asks_for_characters_then_videos(dirs):
    p = Project.create("Empty")
    at = run(p.slug)
    assert not at.exception
    assert any("Add the characters" in i.value for i in at.info)
    at.text_input(key="new_character").input("Tom")
    next(b for b in at.button if b.label == "Add").click()
    at.run()
    assert [c.name for c in p.characters()] == ["Tom"]
    assert any("no video yet" in i.value for i in at.info)
    at.text_input(key="new_character").input("tom")  # the same name twice: a sentence, no crash
    next(b for b in at.button if b.label == "Add").click()
    at.run()
    assert not at.exception and "already a character" in at.error[0].value


def test_grid_ticks_are_saved_at_once(dirs):
    p = first_project()  # the demo
    v = p.videos()[0]
    at = run(p.slug)
    assert not at.exception
    grid = pills(at)
    assert len(grid) == 12
    assert grid[0].options == ["Bunny", "Frank", "Rinky", "Gimera", "Bird", "Nobody"]
    assert grid[0].value == ["Bunny"]  # the demo's label at 0:00
    assert grid[1].value == []  # 0:01 is not labelled
    ids = {c.name: c.id for c in p.characters()}
    grid[1].set_value(["Bunny", "Frank"])
    at.run()
    assert p.frame_labels(v.id)[1.0] == {ids["Bunny"], ids["Frank"]}
    pills(at)[1].set_value(["Bunny", "Frank", "Nobody"])  # Nobody replaces the others
    at.run()
    assert p.frame_labels(v.id)[1.0] == set()
    pills(at)[1].set_value(["Nobody", "Rinky"])  # a character replaces Nobody
    at.run()
    assert p.frame_labels(v.id)[1.0] == {ids["Rinky"]}
    pills(at)[1].set_value([])  # unticking everything forgets the frame
    at.run()
    assert 1.0 not in p.frame_labels(v.id)
    # another tab (a fresh session) sees the same labels
    p.set_present(v.id, 2.0, ids["Gimera"], True)
    at2 = run(p.slug)
    assert pills(at2)[2].value == ["Gimera"]


def test_filters_and_pages(dirs):
    p = first_project()
    at = run(p.slug)
    at.selectbox(key="label_show").select("Not labelled yet")
    at.run()
    caps = [c.value for c in at.caption if "labelled" in c.value or "nobody" in c.value]
    assert caps and all("not labelled yet" in c for c in caps)
    at.selectbox(key="label_show").select("With Gimera")
    at.run()
    gim = pills(at)
    assert gim and all("Gimera" in g.value for g in gim)
    at.selectbox(key="label_show").select("All frames")
    at.slider(key="label_span").set_value((30.0, 40.0))
    at.run()
    assert len(pills(at)) == 11  # 30 s to 40 s


def test_one_by_one_with_buttons(dirs):
    p = first_project()
    v = p.videos()[0]
    ids = {c.name: c.id for c in p.characters()}
    at = run(p.slug)
    at.button_group(key="label_view").set_value("One by one")
    at.run()
    assert not at.exception
    assert at.button(key="one_next") and at.button(key="one_prev").disabled
    at.button(key="one_next").click()
    at.run()
    at.button(key=f"one_{ids['Frank']}").click()  # key 2
    at.run()
    assert p.frame_labels(v.id)[1.0] == {ids["Frank"]}
    at.button(key="one_nobody").click()  # N: nobody, and on to the next frame
    at.run()
    assert p.frame_labels(v.id)[1.0] == set()
    assert "0:02" in next(m.value for m in at.markdown if "frame " in m.value)


def test_relabel_opens_that_frame(dirs):
    p = first_project()
    at = run(p.slug, relabel=33.0)
    assert at.session_state["label_view"] == "One by one"
    assert "0:33" in next(m.value for m in at.markdown if "frame " in m.value)


def test_suggested_view(dirs):
    p = first_project()
    at = run(p.slug)
    at.button_group(key="label_view").set_value("Suggested")
    at.run()
    assert not at.exception
    sug = pills(at, "sug")
    assert 1 <= len(sug) <= 12
    labelled = {round(t) for t in p.frame_labels(p.videos()[0].id)}
    times = [int(str(s.key).rsplit("_", 1)[1]) / 1000 for s in sug]
    assert not labelled & set(times)


def test_suggested_needs_a_model(dirs):
    p, v = sampled_project(dirs)
    at = run(p.slug)
    at.button_group(key="label_view").set_value("Suggested")
    at.run()
    assert any("after a first model" in i.value for i in at.info)


def test_rename_and_remove_character(dirs):
    p = first_project()
    ids = {c.name: c.id for c in p.characters()}
    at = run(p.slug)
    at.text_input(key=f"rename_{ids['Bird']}").input("Birdie")
    at.button(key=f"do_rename_{ids['Bird']}").click()
    at.run()
    assert "Birdie" in [c.name for c in p.characters()]
    at.button(key=f"remove_{ids['Bird']}").click()
    at.run()
    assert any("Remove Birdie" in w.value for w in at.warning)
    at.button(key="confirm_remove_yes").click()
    at.run()
    assert "Birdie" not in [c.name for c in p.characters()]
    assert not at.exception
