"""Results page (AppTest): charts, smoothing in plain words that updates at once, downloads, several videos."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest
from test_app_helpers import ROOT, dirs, sampled_project, synth_video  # noqa: F401

from core import sample_video, train_project
from core.demo import first_project
from core.project import Project

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
