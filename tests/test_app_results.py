"""Results page (AppTest): charts, smoothing in plain words that updates at once, downloads, several videos."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest
from test_app_helpers import ROOT, SCHEDULE, dirs, sampled_project, synth_video, truth  # noqa: F401
from test_app_people import faces_cache, hamilton_project  # noqa: F401

from core import mmss, project_timeline, sample_video, train_project
from core.demo import first_project
from core.faces.project_people import ProjectPeople
from core.project import Project
from core.spotcheck import MIN_CHECKED, project_check

PAGE = str(ROOT / "pages" / "results.py")


def run(slug: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["project"] = slug
    return at.run()


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def bar_seconds(at: AppTest) -> dict[str, float]:
    bars = charts(at)[0]["data"][0]
    return dict(zip(bars["y"], bars["x"]))


def test_demo_results(dirs):
    p = first_project()
    at = run(p.slug)
    assert not at.exception
    figs = charts(at)
    assert len(figs) == 4  # bars, timeline, heat map, together
    secs = bar_seconds(at)
    assert set(secs) == {"Bunny", "Frank", "Rinky", "Gimera"}
    timeline = figs[1]["data"]
    assert {t["name"] for t in timeline} == {"Bunny", "Frank", "Rinky", "Gimera"}
    assert all(t["orientation"] == "h" and "base" in t for t in timeline)
    assert figs[2]["data"][0]["type"] == "heatmap"
    labels = [d.label for d in at.get("download_button")]
    assert {"Screen time (CSV)", "Full report (JSON)", "Subtitles (SRT)"} <= set(labels)
    assert any("Bird" in c.value for c in at.caption)  # not measured, and said so


def test_smoothing_updates_figures_and_is_saved(dirs):
    p = first_project()
    at = run(p.slug)
    before = bar_seconds(at)
    at.slider(key="min_appearance").set_value(0.0)
    at.slider(key="bridge_gaps").set_value(10.0)
    at.run()
    after = bar_seconds(at)
    assert sum(after.values()) > sum(before.values())
    assert p.smoothing().bridge_gaps_s == 10.0 and p.smoothing().min_appearance_s == 0.0
    assert run(p.slug).slider(key="bridge_gaps").value == 10.0  # kept across sessions


def test_no_model_yet(dirs):
    p = Project.create("Empty")
    at = run(p.slug)
    assert not at.exception and any("No results yet" in i.value for i in at.info)
    assert any("People page" in i.value for i in at.info)  # live action is a way in too


def test_several_videos_totals(dirs):
    p, v1 = sampled_project(dirs)
    with open(synth_video(dirs, 20.0, "second.mp4"), "rb") as f:
        v2 = p.import_video(f, "episode 2.mp4")
    sample_video(p, v2.id, 1.0)
    train_project(p)
    at = run(p.slug)
    assert not at.exception
    assert at.button_group(key="results_view").options == ["All videos", "synth.mp4", "episode 2.mp4"]
    assert any("over 2 videos" in s.value for s in at.subheader)
    total = bar_seconds(at)
    at.button_group(key="results_view").set_value("episode 2.mp4")
    at.run()
    one = bar_seconds(at)
    assert set(one) == {"Red", "Blue"} and all(one[n] <= total[n] for n in one)
    assert len(charts(at)) == 4


def test_a_removed_character_is_never_shown_and_the_model_is_out_of_date(dirs):
    """Issue 15, point 3: Results showed 1:00 of screen time for a character that no longer exists."""
    p = first_project()
    gimera = next(c for c in p.characters() if c.name == "Gimera")
    p.remove_character(gimera.id)
    at = run(p.slug)
    assert not at.exception
    assert set(bar_seconds(at)) == {"Bunny", "Frank", "Rinky"}
    assert {t["name"] for t in charts(at)[1]["data"]} == {"Bunny", "Frank", "Rinky"}
    assert any("out of date" in w.value for w in at.warning)
    assert at.button(key="results_train_again")


def test_people_results_show_when_there_is_no_character_model(dirs, faces_cache):
    """Issue 15, point 8: after People, Results said 'No results yet'."""
    p = hamilton_project(faces_cache)
    v = p.videos()[0]
    r = ProjectPeople(p).result(v)
    assert r is not None and r.timeline.names
    at = run(p.slug)
    assert not at.exception
    assert not any("No results yet" in i.value for i in at.info)
    assert set(bar_seconds(at)) == set(r.timeline.names)
    assert {"Screen time (CSV)", "Full report (JSON)"} <= {d.label for d in at.get("download_button")}


def test_both_kinds_of_results_side_by_side(dirs, faces_cache):
    p = hamilton_project(faces_cache)
    p.set_setting("backbone", "colour")
    v = p.videos()[0]
    sample_video(p, v.id, 1.0)
    red, blue = p.add_character("Red"), p.add_character("Blue")
    for t in range(0, 10):  # the clip is 10 s long
        p.set_frame(v.id, float(t), [red.id] if t % 2 else [blue.id] if t % 3 else [])
    train_project(p)
    at = run(p.slug)
    assert not at.exception
    assert at.button_group(key="results_source").options == ["Characters", "People"]
    assert set(bar_seconds(at)) <= {"Red", "Blue"}
    at.button_group(key="results_source").set_value("People")
    at.run()
    assert set(bar_seconds(at)) == set(ProjectPeople(p).result(v).timeline.names)


def test_spot_check_asks_saves_and_gives_the_interval(dirs):
    p, v = sampled_project(dirs, label_every=3)  # 10 of 30 moments labelled: 20 to check
    m = train_project(p)
    at = run(p.slug)
    assert not at.exception
    assert any(s.value == "Spot check" for s in at.subheader)
    radios = [r for r in at.radio if str(r.key).startswith("spot_")]
    assert [r.label for r in radios] == ["Is Red there?", "Is Blue there?"]
    first = project_check(p, m, v, p.smoothing()).next_moment()
    assert first is not None and first not in p.frame_labels(v.id)  # a labelled frame is never asked
    for r in radios:
        r.set_value("yes" if r.label[3:-7] in truth(first) else "no")
    at.run()
    assert not at.exception
    assert p.check_answers(m.id, v.id) == {n: {first: n in truth(first)} for n in ("Red", "Blue")}
    assert any(f"1 of {MIN_CHECKED} checked moments so far" in x.value for x in at.markdown)
    nxt = [r for r in at.radio if str(r.key).startswith("spot_")]
    assert nxt and nxt[0].key != radios[0].key and nxt[0].value is None  # the next moment, unanswered
    ids = {c.name: c.id for c in p.characters()}
    for t in project_check(p, m, v, p.smoothing()).order:  # the rest answered from the truth
        for n in ("Red", "Blue"):
            p.set_check_answer(m.id, v.id, t, ids[n], n in truth(t))
    at.run()
    assert any("Every unlabelled moment is checked" in s.value for s in at.success)
    text = " ".join(x.value for x in at.markdown)
    for n in SCHEDULE:  # every moment known: the interval is the truth itself
        true_s = sum(1.0 for t in range(30) if n in truth(t))
        assert f"**{n} {mmss(true_s)}, likely {mmss(true_s)}-{mmss(true_s)}, from 20 checked moments**" in text
    m2 = train_project(p)
    at.run()
    assert any("were of an older model" in c.value for c in at.caption)
    assert project_check(p, m2, v, p.smoothing()).answers == {}


def image_captions(at: AppTest) -> list[str]:
    """The captions of every picture on the page (st.image has no AppTest element of its own)."""
    return [img.caption for el in at.get("image") for img in el.proto.imgs]


def test_evidence_frames_show_where_the_model_sees_each_character(dirs):
    from core.summary import evidence_times

    p, v = sampled_project(dirs)
    m = train_project(p)
    at = run(p.slug)
    assert not at.exception
    assert not any("where the model sees" in c for c in image_captions(at))  # off until asked for
    at.toggle(key="results_where").set_value(True)
    at.run()
    assert not at.exception
    caps = image_captions(at)
    assert any(c.endswith("where the model sees Red") for c in caps)
    assert any(c.endswith("where the model sees Blue") for c in caps)
    tl = project_timeline(p, m, v, p.smoothing())
    evidence = sum(len(evidence_times(tl, n)) for n in tl.names)
    assert evidence and sum("where the model sees" in c for c in caps) == evidence  # every evidence frame
    # The maps are cached beside the features: a second session runs no network.
    assert (p.cache.root / "where").is_dir()
    again = run(p.slug)
    again.toggle(key="results_where").set_value(True)
    again.run()
    assert image_captions(again) == caps

