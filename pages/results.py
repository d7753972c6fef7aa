"""Results page: screen time per character (or per person, from the People page), timeline, heat map, who
appears together, evidence, downloads: whichever results the project has; and the spot check, where the user
answers yes or no at random moments and the minutes get their confidence interval (core/spotcheck.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

from core import Smoothing, Timeline, mmss, project_record, project_timeline
from core.config import FOLLOW_RUN_S
from core.project import ModelRecord, Project, Video
from core.spotcheck import MIN_CHECKED, CharacterCheck, ProjectCheck, project_check
from core.summary import evidence_times, totals, totals_csv
from core.video import moment_ms
from core.where import draw_where
from pages import charts, common

ALL = "All videos"
CHARACTERS, PEOPLE = common.CHARACTERS, common.PEOPLE


def _save_smoothing(p: Project) -> None:
    with common.friendly("saving the settings"):
        p.set_smoothing(Smoothing(bridge_gaps_s=float(st.session_state["bridge_gaps"]),
                                  min_appearance_s=float(st.session_state["min_appearance"]),
                                  typical_run_s=FOLLOW_RUN_S if st.session_state["follow"] else 0.0))


def smoothing_ui(p: Project) -> Smoothing:
    """The two smoothing rules in plain words; saved with the project, figures follow at once."""
    s = p.smoothing()
    st.session_state["min_appearance"] = float(s.min_appearance_s)  # this project's values, not another's
    st.session_state["bridge_gaps"] = float(s.bridge_gaps_s)
    st.session_state["follow"] = s.typical_run_s > 0
    with st.container(border=True):
        st.markdown("**Tidy up the timeline**")
        st.checkbox("Let unsure moments follow their neighbours", key="follow",
                    on_change=_save_smoothing, args=(p,),
                    help="A moment where the model hesitates takes the answer of the seconds around it; "
                         "confident moments keep their own. Off by default: on footage the model was not "
                         "taught on, it spread its mistakes more than it fixed them (docs/accuracy.md).")
        c1, c2 = st.columns(2)
        c1.slider("Ignore appearances shorter than", 0.0, 10.0, step=0.5, format="%.1f s", key="min_appearance",
                  on_change=_save_smoothing, args=(p,),
                  help="A character seen for a moment only is probably a mistake; 0 keeps everything.")
        c2.slider("Bridge gaps shorter than", 0.0, 10.0, step=0.5, format="%.1f s", key="bridge_gaps",
                  on_change=_save_smoothing, args=(p,),
                  help="A character missed for a moment in the middle of a scene is counted as still there; "
                       "0 turns this off.")
    return s


def evidence_ui(p: Project, v: Video, tl: Timeline) -> None:
    st.subheader("Evidence")
    st.caption("A frame from each of the longest appearances, so you can check with your own eyes.")
    m = p.latest_model()
    maps: dict[float, Any] = {}
    known = m is not None and set(tl.names) <= set(m.characters)  # the model's characters, not faces
    if known and st.toggle(common.WHERE, key="results_where",
                           help="A heat map of where in each frame the evidence for that character is, and a box "
                                "around the strongest part. The first time, the network looks at each frame "
                                "again."):
        assert m is not None
        times = sorted({t for name in tl.names for t in evidence_times(tl, name)})
        with common.friendly("finding where the model looks"):
            maps = {wm.time_s: wm for wm in common.where_maps(p, m, v, times)}
    for name in tl.names:
        ts = evidence_times(tl, name)
        st.markdown(f"**{name}**" + ("" if ts else " — not found on screen"))
        if ts:
            cols = st.columns(6)
            for col, t in zip(cols, ts):
                thumb = p.thumb(v, t)
                if thumb is None:
                    continue
                wm = maps.get(float(t))
                if wm is None:
                    col.image(str(thumb), caption=common.thumb_caption(t), width="stretch")
                else:
                    picture = draw_where(np.asarray(Image.open(thumb).convert("RGB")), wm, [name])
                    col.image(picture, width="stretch",
                              caption=f"{common.thumb_caption(t)} · where the model sees {name}")


def one_video(p: Project, v: Video, tl: Timeline, meta: dict[str, Any], key: str = "") -> None:
    rows = tl.screen_time()
    k = f"{key}{v.id}"
    st.subheader("Screen time")
    st.plotly_chart(charts.screen_time_bars(rows, tl.names), key=f"bars_{k}", config={"displayModeBar": False})
    st.subheader("When they are on screen")
    st.caption("Each bar is one appearance; point at it to see when it starts and ends.")
    st.plotly_chart(charts.timeline_figure(tl), key=f"timeline_{k}", config={"displayModeBar": False})
    c1, c2 = st.columns([3, 2])
    with c1:
        st.subheader("Second by second")
        st.caption("How sure Screen Time is that each one is visible (darker: surer).")
        st.plotly_chart(charts.heatmap_figure(tl), key=f"heat_{k}", config={"displayModeBar": False})
    with c2:
        st.subheader("Who appears together")
        st.caption("Time two of them share the screen.")
        st.plotly_chart(charts.together_figure([tl]), key=f"together_{k}", config={"displayModeBar": False})
    if v.every is not None:
        evidence_ui(p, v, tl)
    common.downloads(tl, meta, Path(v.name).stem, f"dl_{k}")


def all_videos(tls: dict[int, Timeline], videos: dict[int, Video]) -> None:
    tot = totals(list(tls.values()))
    minutes = sum(tl.duration_s for tl in tls.values())
    st.subheader(f"Screen time over {len(tls)} videos ({common.mmss(minutes)} in all)")
    st.plotly_chart(charts.screen_time_bars(tot), key="bars_all", config={"displayModeBar": False})
    table = [{"Character": t.character, "Total": t.mmss, "% of all videos": round(t.percent, 1),
              **{videos[vid].name: next(ct.mmss for ct in tl.screen_time() if ct.character == t.character)
                 for vid, tl in tls.items() if t.character in tl.names}} for t in tot]
    st.dataframe(table, hide_index=True, width="stretch")
    st.subheader("Who appears together")
    st.plotly_chart(charts.together_figure(list(tls.values())), key="together_all", config={"displayModeBar": False})
    st.download_button("Totals (CSV)", totals_csv(tot), "screen_time_totals.csv", "text/csv", key="dl_tot",
                       icon=":material/download:")


def pick_view(tls: dict[int, Timeline], videos: dict[int, Video], key: str) -> str:
    options = ([ALL] if len(tls) > 1 else []) + [videos[vid].name for vid in tls]
    if len(options) == 1:
        return options[0]
    return st.segmented_control("Show", options, default=options[0], key=key) or options[0]


def characters_results(p: Project, m: ModelRecord) -> None:
    common.out_of_date_ui(p, m, "results_train_again")
    s = smoothing_ui(p)
    videos = {v.id: v for v in p.videos()}
    tls = {vid: tl for vid, v in videos.items() if (tl := project_timeline(p, m, v, s)) is not None}
    missing = [v.name for vid, v in videos.items() if vid not in tls]
    if missing:
        st.info("Not measured yet: " + ", ".join(missing) + ". Sample them on the Video page (and train again "
                "if they were sampled before this model).", icon=":material/info:")
    if not tls:
        return
    pick = pick_view(tls, videos, "results_view")
    current = {c.name for c in p.characters()}
    skipped = [n for n in m.skipped if n in current]
    if skipped:
        st.caption("Not measured (too few labelled frames): " + ", ".join(skipped) + ".")
    if pick == ALL:
        all_videos(tls, videos)
    else:
        vid = next(i for i in tls if videos[i].name == pick)
        check = project_check(p, m, videos[vid], s) if videos[vid].every is not None else None
        answered = check is not None and any(c.checked for c in check.result.characters)
        record = project_record(p, m, videos[vid], s).with_spot_check(
            check.result.to_dict() if check is not None and answered else None)
        one_video(p, videos[vid], tls[vid], record.to_dict())
        if check is not None:
            spotcheck_ui(p, m, videos[vid], check)


def _save_answer(p: Project, model_id: int, video_id: int, t: float, character_id: int, key: str) -> None:
    answer = st.session_state.get(key)
    if answer in ("yes", "no"):
        with common.friendly("saving the answer"):
            p.set_check_answer(model_id, video_id, t, character_id, answer == "yes")


def _check_line(c: CharacterCheck) -> str:
    if not c.enough:
        return f"**{c.character}**: {c.checked} of {MIN_CHECKED} checked moments so far"
    line = f"**{c.sentence()}** (the model says {mmss(c.predicted_s)})"
    if c.precision.value is not None and c.precision.low is not None and c.precision.high is not None:
        line += (f" · when it says {c.character}, right {c.precision.value:.0%} of the time "
                 f"({c.precision.low:.0%}-{c.precision.high:.0%})")
    if c.recall.value is not None and c.recall.low is not None and c.recall.high is not None:
        line += f" · finds {c.recall.value:.0%} ({c.recall.low:.0%}-{c.recall.high:.0%})"
    return line


def spotcheck_ui(p: Project, m: ModelRecord, v: Video, check: ProjectCheck) -> None:
    """One random unlabelled moment at a time: "Is X there?" for each character, saved at each click."""
    st.subheader("Spot check")
    st.caption("How sure are these minutes? Screen Time shows moments picked at random among the ones you have "
               f"not labelled; say who is there. From {MIN_CHECKED} answers on, each character's minutes get "
               "the range they are likely in (95 %). Labelled frames are left out: you chose them, so they are "
               "not a fair sample.")
    if check.older:
        st.caption(f"Earlier checks of this video ({sum(check.older.values())} moments) were of an older model: "
                   "they are kept with it, not mixed into this one's.")
    for c in check.result.characters:
        st.markdown(_check_line(c))
    t = check.next_moment()
    if not check.order:
        st.info("Every moment of this video is labelled: there is nothing left to check at random.",
                icon=":material/info:")
        return
    if t is None:
        st.success("Every unlabelled moment is checked.", icon=":material/task_alt:")
        return
    ids = {c.name: c.id for c in p.characters()}
    with st.container(border=True):
        c1, c2 = st.columns([3, 2])
        thumb = p.thumb(v, t)
        if thumb is not None:
            c1.image(str(thumb), caption=f"{common.thumb_caption(t)} · moment {check.done + 1}", width="stretch")
        for name in check.names:
            key = f"spot_{m.id}_{v.id}_{moment_ms(t)}_{ids[name]}"
            given = check.answers.get(name, {}).get(t)
            c2.radio(f"Is {name} there?", ["yes", "no"], index=None if given is None else (0 if given else 1),
                     horizontal=True, key=key, on_change=_save_answer, args=(p, m.id, v.id, t, ids[name], key))


def people_view(p: Project, found: dict[int, Any], videos: dict[int, Video]) -> None:
    st.caption("People found by their faces on the People page; rename, merge or ignore them there.")
    tls = {vid: r.timeline for vid, r in found.items()}
    pick = pick_view(tls, videos, "results_people_view")
    if pick == ALL:
        all_videos(tls, videos)
    else:
        vid = next(i for i in tls if videos[i].name == pick)
        one_video(p, videos[vid], tls[vid], found[vid].record(p.name).to_dict(), key="people_")


def results_ui() -> None:
    common.page_setup()
    st.title("Results")
    with common.friendly("showing the results"):
        p = common.project()
        m = p.latest_model()
        videos = {v.id: v for v in p.videos()}
        people = common.people_results(p, list(videos.values()))
        if m is None and not people:
            common.no_results_yet()
            return
        source = common.results_source(m is not None, bool(people), key="results_source")
        if source == PEOPLE:
            people_view(p, people, videos)
        else:
            assert m is not None
            characters_results(p, m)


results_ui()
