"""Series page (AppTest): every video in one table and one chart, totals, downloads, and the background batch
that measures the videos without results and goes on when the page is left."""

from __future__ import annotations

import json
import time

from streamlit.testing.v1 import AppTest
from test_app_helpers import ROOT, SCHEDULE, dirs, sampled_project, synth_video  # noqa: F401
from test_app_people import faces_cache, hamilton_project  # noqa: F401

from core import project_timeline, sample_video, train_project
from core.batch import project_todo, summary_csv
from core.faces.project_people import ProjectPeople
from core.project import Project

PAGE = str(ROOT / "pages" / "series.py")


def run(slug: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["project"] = slug
    return at.run()


def _series(dirs):
    """Two measured videos (30 s and 20 s) and a third (12 s) added after the model, not measured."""
    p, v1 = sampled_project(dirs)
    with open(synth_video(dirs, 20.0, "second.mp4"), "rb") as f:
        v2 = p.import_video(f, "episode 2.mp4")
    sample_video(p, v2.id, 1.0)
    m = train_project(p)
    with open(synth_video(dirs, 12.0, "third.mp4"), "rb") as f:
        v3 = p.import_video(f, "episode 3.mp4")
    return p, m, (v1, v2, v3)


def _table(at: AppTest) -> list[dict]:
    return at.dataframe[0].value.to_dict("records")


def test_every_video_in_one_table_and_one_chart_with_downloads(dirs):
    p, m, (v1, v2, v3) = _series(dirs)
    at = run(p.slug)
    assert not at.exception and not at.error
    rows = _table(at)
    assert [r["Video"] for r in rows] == ["synth.mp4", "episode 2.mp4", "episode 3.mp4", "Series total"]
    assert [r["Results"] for r in rows[:3]] == ["yes", "yes", "not yet"]
    tl1, tl2 = (project_timeline(p, m, v, p.smoothing()) for v in (v1, v2))
    red1 = next(ct for ct in tl1.screen_time() if ct.character == "Red")
    assert rows[0]["Red"] == red1.mmss
    (chart,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert chart["layout"]["barmode"] == "group"
    assert [t["name"] for t in chart["data"]] == ["Red", "Blue"]
    assert chart["data"][0]["x"] == ["synth.mp4", "episode 2.mp4"]
    assert chart["data"][0]["y"][0] == red1.seconds / 60
    downloads = {d.label: d for d in at.get("download_button")}
    assert set(downloads) == {"Series summary (CSV)", "Series summary (JSON)"}
    assert any("1 video(s) have no results" in i.value and "episode 3.mp4" in i.value for i in at.info)
    named = [("synth.mp4", tl1), ("episode 2.mp4", tl2)]
    assert summary_csv(named).splitlines()[0] == "video,character,seconds,percent,appearances"


def test_the_button_measures_the_rest_in_the_background_and_leaving_does_not_stop_it(dirs):
    p, m, (_, _, v3) = _series(dirs)
    at = run(p.slug)
    at.button(key="series_run").click()
    at.run()
    assert not at.exception
    del at  # the user leaves the page: the batch goes on in the server process
    deadline = time.monotonic() + 60
    while project_todo(Project.open(p.slug)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert project_todo(p) == []
    at = run(p.slug)  # a new session: the results are there, and the batch that made them says so
    while any(getattr(x, "proto", None) is not None for x in at.get("progress")) and time.monotonic() < deadline:
        time.sleep(0.2)
        at = run(p.slug)
    assert not at.exception
    rows = _table(at)
    assert [r["Results"] for r in rows[:3]] == ["yes", "yes", "yes"]
    assert any("measured 1 video(s)" in s.value for s in at.success)
    tl3 = project_timeline(p, m, p.video(v3.id), p.smoothing())
    got = {ct.character: ct.seconds for ct in tl3.screen_time()}
    for name, spans in SCHEDULE.items():
        true_s = sum(min(b, 12.0) - a for a, b in spans if a < 12.0)
        assert abs(got[name] - true_s) <= 2.0, (name, got, true_s)


def test_no_model_yet_says_what_to_do(dirs):
    p = Project.create("Empty")
    at = run(p.slug)
    assert not at.exception and any("No results yet" in i.value for i in at.info)
    assert any("People page" in i.value for i in at.info)  # live action is a way in too


def test_a_live_action_series_shows_its_people(dirs, faces_cache):
    """Issue 15, point 8, on the Series page too: after People it said 'label a few frames and train'."""
    p = hamilton_project(faces_cache, episode2=True)  # the faces of both videos found on the People page
    pp = ProjectPeople(p)
    first, second = p.videos()
    r1, r2 = pp.result(first), pp.result(second)
    at = run(p.slug)
    assert not at.exception and not at.error
    assert not any("No results yet" in i.value for i in at.info)
    rows = _table(at)
    assert [r["Video"] for r in rows] == ["hamilton.mp4", "episode 2.mp4", "Series total"]
    assert [r["Results"] for r in rows[:2]] == ["yes", "yes"]
    for row, r in zip(rows, (r1, r2)):
        named = {ct.character: ct.mmss for ct in r.timeline.screen_time()}
        assert {n: row[n] for n in named} == named
    (chart,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert {t["name"] for t in chart["data"]} == set(r1.timeline.names) | set(r2.timeline.names)
    assert "series_run" not in [b.key for b in at.button]  # the character model's batch is not offered
    assert {d.label for d in at.get("download_button")} == {"Series summary (CSV)", "Series summary (JSON)"}


def test_a_changed_project_says_the_series_is_out_of_date(dirs):
    """Issue 15, point 3: whatever shows results says when labels or characters changed since training."""
    p, m, _ = _series(dirs)
    at = run(p.slug)
    assert not any("out of date" in w.value for w in at.warning)
    blue = next(c for c in p.characters() if c.name == "Blue")
    p.remove_character(blue.id)
    at.run()
    assert any("out of date" in w.value for w in at.warning) and at.button(key="series_train_again")
    (chart,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert [t["name"] for t in chart["data"]] == ["Red"]  # a removed character is never shown
    assert "Blue" not in _table(at)[-1]
