"""Series page: every video of the project in one table and one chart (minutes per character per episode),
the totals over the series, downloads, and a button that measures the videos without results in the
background (a thread of the server process: leaving the page, or closing the browser, does not stop it)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

import streamlit as st

from core import Cancelled, ScreenTimeError, Timeline, mmss, project_timeline
from core.batch import BatchStatus, VideoOutcome, project_batch, project_todo, summary_csv, summary_dict
from core.project import ModelRecord, Project, Video
from core.report import smoothing_summary
from core.summary import totals
from pages import charts, common
from pages.common import PEOPLE


@st.cache_resource
def _registry() -> tuple[dict[str, BatchStatus], threading.Lock]:
    """The background batches of this server process, by project: they outlive pages and sessions."""
    return {}, threading.Lock()


def _work(slug: str, status: BatchStatus) -> None:
    """The background thread: no Streamlit calls here, only ``status`` (which the page reads)."""
    outcomes: Sequence[VideoOutcome] = ()
    error = None
    try:
        with common.heavy_job(status):
            outcomes = project_batch(Project.open(slug), status)
    except Cancelled:
        error = "Stopped before the end: the videos measured so far keep their results."
    except ScreenTimeError as e:
        error = str(e)
    except Exception:  # noqa: BLE001 - the page shows a calm sentence, the details go to the server log
        common.log.exception("unexpected error in the series batch of %s", slug)
        error = common.UNEXPECTED
    status.finish(outcomes, error)


def start_batch(slug: str) -> BatchStatus:
    """Start measuring a project's videos without results, unless that already runs; returns its status."""
    runs, lock = _registry()
    with lock:
        current = runs.get(slug)
        if current is not None and current.snapshot()["running"]:
            return current
        status = runs[slug] = BatchStatus()
        threading.Thread(target=_work, args=(slug, status), name=f"series-batch-{slug}", daemon=True).start()
    return status


def running(slug: str) -> bool:
    status = _registry()[0].get(slug)
    return status is not None and bool(status.snapshot()["running"])


def _labels(videos: Sequence[Video]) -> dict[int, str]:
    """What each video is called in the table and the files: its name, or its file name where two share one."""
    names = [v.name for v in videos]
    return {v.id: v.name if names.count(v.name) == 1 else v.file for v in videos}


STAGES = {**common.Progress.STAGES, "features": "Looking at the frames"}


def _progress_text(snap: dict) -> tuple[float, str]:
    n, total = int(snap["videos_done"]), int(snap["videos_total"])
    frac = (n + (snap["done"] / snap["total"] if snap["total"] else 0.0)) / total if total else 0.0
    stage = STAGES.get(snap["stage"], str(snap["stage"]).capitalize())
    part = f" ({snap['done']:,} of {snap['total']:,})" if snap["total"] else ""
    head = f"Video {min(n + 1, total)} of {total}: " if total else ""
    return min(frac, 1.0), f"{head}{stage}{part}"


def batch_panel(p: Project, live: bool = False) -> None:
    """The button, and the progress of a batch running in the background (read from its shared status).
    ``live``: drawn by a fragment that reruns every second while the batch runs; when it ends, the whole
    page is drawn again with the new results."""
    status = _registry()[0].get(p.slug)
    snap = status.snapshot() if status is not None else None
    if snap is not None and snap["running"]:
        frac, text = _progress_text(snap)
        st.progress(frac, text=text)
        st.caption("This runs on the server: you may leave this page or close the browser, it goes on.")
        st.button("Stop after this step", key="series_stop", on_click=status.stop, icon=":material/stop:")
        return
    if live:
        st.rerun()  # it has just ended: show its results on the whole page
    if snap is not None:  # the last batch of this project, until the next one
        done = [o for o in snap["outcomes"] if o.status == "done"]
        if snap["error"]:
            st.error(snap["error"], icon=":material/error:")
        if done:
            st.success(f"The last batch measured {len(done)} video(s).", icon=":material/check_circle:")
        for o in snap["outcomes"]:
            if o.status == "failed":
                st.warning(f"{o.video}: {o.reason}", icon=":material/warning:")
    todo = project_todo(p)
    if todo:
        st.info(f"{len(todo)} video(s) have no results from the latest model yet: "
                + ", ".join(v.name for v in todo) + ".", icon=":material/info:")
        if st.button(f"Measure {len(todo)} video(s)", key="series_run", type="primary", icon=":material/play_arrow:"):
            start_batch(p.slug)
            st.rerun()


def series_table(p: Project, videos: Sequence[Video], tls: dict[int, Timeline], extra: dict[str, Any],
                 key: str = "series") -> None:
    """One row per video (its screen time per character or person), the totals, the chart, the downloads."""
    label = _labels(videos)
    named = [(label[v.id], tls[v.id]) for v in videos if v.id in tls]
    if not named:
        return
    tot = totals([tl for _, tl in named])
    chars = [t.character for t in tot]
    st.subheader(f"{len(named)} episode(s), {mmss(sum(tl.duration_s for _, tl in named))} in all")
    rows = []
    for v in videos:
        tl = tls.get(v.id)
        times = {ct.character: ct.mmss for ct in tl.screen_time()} if tl else {}
        rows.append({"Video": label[v.id], "Length": mmss(tl.duration_s) if tl else "",
                     "Results": "yes" if tl else "not yet", **{c: times.get(c, "") for c in chars}})
    rows.append({"Video": "Series total", "Length": mmss(sum(tl.duration_s for _, tl in named)), "Results": "",
                 **{t.character: f"{t.mmss} ({t.percent:.1f}%)" for t in tot}})
    st.dataframe(rows, hide_index=True, width="stretch")
    st.subheader("Minutes on screen, episode by episode")
    st.plotly_chart(charts.series_figure(named), key=f"{key}_bars", config={"displayModeBar": False})
    meta = [{"video": label[v.id], "status": "done" if v.id in tls else "not measured", "sha256": v.sha256}
            for v in videos]
    c1, c2 = st.columns(2)
    stem = p.slug if key == "series" else f"{p.slug}_people"
    c1.download_button("Series summary (CSV)", summary_csv(named), f"{stem}_series.csv", "text/csv",
                       key=f"{key}_csv", icon=":material/download:")
    c2.download_button("Series summary (JSON)", json.dumps(summary_dict(named, meta, extra), indent=1, default=str),
                       f"{stem}_series.json", "application/json", key=f"{key}_json", icon=":material/download:")


def characters_series(p: Project, m: ModelRecord, videos: Sequence[Video]) -> None:
    common.out_of_date_ui(p, m, "series_train_again")
    if running(p.slug):
        st.fragment(run_every=1.0)(batch_panel)(p, live=True)  # refreshes itself while it runs
    else:
        batch_panel(p)
    s = p.smoothing()
    tls = {v.id: tl for v in videos if (tl := project_timeline(p, m, v, s)) is not None}
    extra = {"project": p.name, "mode": "characters", "settings": {"smoothing": smoothing_summary(s)},
             "model": {"dir": str(m.dir), "characters": list(m.characters)}}
    series_table(p, videos, tls, extra)


def people_series(p: Project, videos: Sequence[Video], found: dict[int, Any]) -> None:
    st.caption("People found by their faces on the People page; rename, merge or ignore them there. A video "
               "not looked at yet is measured there too.")
    series_table(p, videos, {vid: r.timeline for vid, r in found.items()},
                 {"project": p.name, "mode": "people"}, key="series_people")


def series_ui() -> None:
    common.page_setup()
    st.title("Series")
    with common.friendly("showing the series"):
        p = common.project()
        m = p.latest_model()
        videos = p.videos()
        people = common.people_results(p, videos)
        if m is None and not people:
            common.no_results_yet()
            return
        if not videos:
            common.no_project_videos(p)
            return
        source = common.results_source(m is not None, bool(people), key="series_source")
        if source == PEOPLE:
            people_series(p, videos, people)
        else:
            assert m is not None
            characters_series(p, m, videos)


series_ui()
