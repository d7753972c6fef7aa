"""Label page (AppTest): characters, ticking frames (saved at once), filters, one by one, suggestions."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest
from test_app_helpers import ROOT, colour_project, dirs, sampled_project, synth_video  # noqa: F401

from core import sample_video
from core.demo import first_project
from core.project import Project
from pages import common, keys

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


def sug_times(at: AppTest) -> list[float]:
    return [int(str(s.key).rsplit("_", 1)[1]) / 1000 for s in pills(at, "sug")]


def test_suggested_frames_stay_where_they_are_and_take_several_ticks(dirs):
    """Issue 15, point 1: a tick on a suggested frame used to remove it and shift every card under the mouse."""
    p = first_project()
    v = p.videos()[0]
    ids = {c.name: c.id for c in p.characters()}
    at = run(p.slug)
    at.button_group(key="label_view").set_value("Suggested")
    at.run()
    before = sug_times(at)
    first, second = before[0], before[1]
    pills(at, "sug")[0].set_value(["Gimera"])
    at.run()
    assert sug_times(at) == before  # nothing moved
    pills(at, "sug")[0].set_value(["Gimera", "Bunny"])  # a second character on the same frame
    at.run()
    pills(at, "sug")[1].set_value(["Frank"])
    at.run()
    assert sug_times(at) == before
    labels = p.frame_labels(v.id)
    assert labels[first] == {ids["Gimera"], ids["Bunny"]} and labels[second] == {ids["Frank"]}
    assert pills(at, "sug")[0].value == ["Bunny", "Gimera"]
    at.button(key="sug_next").click()  # the user says they are done: new suggestions, none labelled
    at.run()
    after = sug_times(at)
    assert first not in after and second not in after


def test_a_stale_second_tab_never_erases_the_first_tabs_tick(dirs):
    """Issue 15, point 2: tab B, not refreshed, ticks Bunny at 0:01 after tab A ticked Frank there."""
    p = first_project()
    v = p.videos()[0]
    ids = {c.name: c.id for c in p.characters()}
    tab_a, tab_b = run(p.slug), run(p.slug)
    pills(tab_a)[1].set_value(["Frank"])
    tab_a.run()
    assert p.frame_labels(v.id)[1.0] == {ids["Frank"]}
    pills(tab_b)[1].set_value(["Bunny"])  # tab B still shows 0:01 unlabelled
    tab_b.run()
    assert p.frame_labels(v.id)[1.0] == {ids["Frank"], ids["Bunny"]}
    assert pills(tab_b)[1].value == ["Bunny", "Frank"]  # the page shows what the store holds
    pills(tab_a)[1].set_value([])  # tab A unticks its Frank: Bunny (from tab B) stays, the frame is kept
    tab_a.run()
    assert p.frame_labels(v.id)[1.0] == {ids["Bunny"]}
    assert pills(tab_a)[1].value == ["Bunny"]


def test_frames_show_before_any_character_exists(dirs):
    p = colour_project("New")
    with open(synth_video(dirs, 8.0), "rb") as f:
        v = p.import_video(f, "synth.mp4")
    sample_video(p, v.id, 1.0)
    at = run(p.slug)
    assert not at.exception
    assert any("Add the characters" in i.value for i in at.info)
    assert sum("not labelled yet" in c.value for c in at.caption) == 8  # the frames, with nothing to tick yet
    assert not pills(at)


def test_characters_panel_folds_after_adding_and_shows_pictures(dirs):
    p = first_project()
    at = run(p.slug)
    [panel] = [e for e in at.expander if "Characters" in e.label]
    assert panel.label.startswith("Characters (5)")
    shown = " ".join(m.value for m in panel.markdown)
    assert all(f"**{n}**" in shown for n in ("Bunny", "Frank", "Rinky", "Gimera", "Bird"))
    for c in p.characters()[:4]:  # every character the demo labelled has a picture from its frames
        assert common.character_picture(p, c) is not None
    at.text_input(key="new_character").input("Owl")
    next(b for b in at.button if b.label == "Add").click()
    at.run()
    assert not at.exception and "Owl" in [c.name for c in p.characters()]
    assert any("Added Owl" in s.value for s in at.success)
    [panel] = [e for e in at.expander if "Characters" in e.label]
    assert panel.label.startswith("Characters (6)") and not panel.proto.expanded
    assert at.text_input(key="new_character").value == ""  # ready for the next one


def test_page_switcher_is_also_below_the_grid(dirs):
    p = first_project()
    v = p.videos()[0]
    at = run(p.slug)
    assert at.button(key=f"page_grid_{v.id}_prev").disabled
    at.button(key=f"page_grid_{v.id}_next").click()
    at.run()
    assert at.number_input(key=f"page_grid_{v.id}").value == 2
    assert [c.value.split("**")[1] for c in at.caption if "·" in c.value][0] == "0:12"


def press(at: AppTest, *keys_: str) -> None:
    """Key presses as the browser component sends them (every press so far, numbered), all before the page
    has run once: as quick as a person can type."""
    box = list(at.session_state["_test_presses"]) if "_test_presses" in at.session_state else []
    box += [[len(box) + k + 1, key] for k, key in enumerate(keys_)]
    at.session_state["_test_presses"] = box
    at.session_state["label_keys"] = {"presses": {"seq": len(box), "presses": box}}
    at.run()


def test_quick_key_presses_are_never_dropped(dirs):
    """Issue 15, point 4: three quick presses of N labelled one frame."""
    p = first_project()
    v = p.videos()[0]
    ids = {c.name: c.id for c in p.characters()}
    at = run(p.slug, focus_t=1.0)
    at.button_group(key="label_view").set_value("One by one")
    at.run()
    assert "0:01" in next(m.value for m in at.markdown if "frame " in m.value)
    press(at, "n", "n", "n")
    labels = p.frame_labels(v.id)
    assert [labels.get(t) for t in (1.0, 2.0, 3.0)] == [set(), set(), set()]
    assert "0:04" in next(m.value for m in at.markdown if "frame " in m.value)
    press(at, "2", "3", "ArrowLeft", "1")  # Frank and Rinky at 0:04, back to 0:03, Bunny there
    labels = p.frame_labels(v.id)
    assert labels[4.0] == {ids["Frank"], ids["Rinky"]} and labels[3.0] == {ids["Bunny"]}
    press(at, "2", "2")  # on and off again: each press counts once
    assert p.frame_labels(v.id)[3.0] == {ids["Bunny"]}
    at.run()  # a rerun applies nothing twice
    assert p.frame_labels(v.id)[3.0] == {ids["Bunny"]}
    press(at, "9", "x")  # no ninth character, not a key we use: nothing happens
    assert not at.exception and p.frame_labels(v.id)[3.0] == {ids["Bunny"]}


def test_one_by_one_shows_where_the_model_sees_each_character(dirs):
    from test_app_results import image_captions

    from core import train_project

    p, v = sampled_project(dirs)
    at = run(p.slug)
    at.button_group(key="label_view").set_value("One by one")
    at.run()
    assert not at.exception
    assert all(t.key != "label_where" for t in at.toggle)  # no model yet: nothing to ask for
    train_project(p)
    at = run(p.slug, focus_t=4.0)  # Red is on screen at 4 s, Blue is not
    at.button_group(key="label_view").set_value("One by one")
    at.run()
    at.toggle(key="label_where").set_value(True)
    at.run()
    assert not at.exception
    caps = [c for c in image_captions(at) if c]
    assert caps and caps[0].startswith("Where the model sees") and "Red" in caps[0]


def test_grid_shows_where_the_model_sees_each_character_on_the_frames_of_the_page(dirs):
    from core import train_project

    def urls(at: AppTest) -> list[str]:
        return [img.url for el in at.get("image") for img in el.proto.imgs]

    p, v = sampled_project(dirs)
    train_project(p)
    at = run(p.slug)
    assert not at.exception
    plain = urls(at)
    at.toggle(key="label_where").set_value(True)
    at.run()
    assert not at.exception
    assert any("where the latest model sees each character" in c.value for c in at.caption)
    drawn = urls(at)
    shown = [int(str(b.key).rsplit("_", 1)[1]) for b in pills(at)]
    assert len(drawn) == len(plain) and len(set(drawn) - set(plain)) == len(shown)  # each frame drawn on
    cached = sorted(f.stem for f in (p.cache.root / "where").rglob("*.npz"))
    assert cached == [f"{ms:09d}" for ms in sorted(shown)]  # maps for the frames of this page, and only those
