"""People page: faces found by themselves in a live-action video, grouped into people you name, with their
screen time. The work is done by core/faces/project_people.py; this page reads widgets and shows results."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import mmss
from core.faces.pipeline import PeopleResult, PersonView
from core.faces.project_people import EVERY_CHOICES, PHOTO_EXTENSIONS, ProjectPeople, face_times
from core.project import Video
from pages import charts, common

DETECTOR_WORDS = {"hog+cnn": "Balanced (recommended)", "hog": "Fast: faces turned to the camera only",
                  "cnn": "Thorough: small and turned faces too, about 20 times slower"}
THUMBS = 8  # faces shown per person


class FaceProgress(common.Progress):
    STAGES = {**common.Progress.STAGES, "references": "Reading the reference photos",
              "faces": "Looking for faces", "grouping": "Grouping the faces into people"}


def find_ui(pp: ProjectPeople, v: Video, searched: bool) -> None:
    every, detector = pp.settings(v)
    with st.container(border=True):
        st.markdown("**Find the people in this video**")
        c1, c2 = st.columns(2)
        every = c1.select_slider("Look at one frame every", options=list(EVERY_CHOICES), value=every,
                                 format_func=lambda s: f"{s:g} s", key="faces_every",
                                 help="Every second is right for most videos; look more often for short clips.")
        detector = c2.selectbox("How hard to look for faces", list(DETECTOR_WORDS), key="faces_detector",
                                index=list(DETECTOR_WORDS).index(detector), format_func=DETECTOR_WORDS.get)
        label = "Look again" if searched else "Find people"
        if st.button(label, type="primary", key="find_people", icon=":material/face:"):
            with st.status("Finding the people...", expanded=True) as status:
                bar = FaceProgress("Starting...")
                with common.heavy_job(bar):
                    r = pp.find(v, every, detector, progress=bar)
                bar.done(f"Done: {len(r.faces)} faces in {len(r.faces.times)} frames.")
                status.update(label="Done.", state="complete", expanded=False)
            n = len(r.people)
            st.session_state["flash"] = (f"Found {len(r.faces)} face{'s' if len(r.faces) != 1 else ''}: "
                                         f"{n} {'person' if n == 1 else 'people'} counted"
                                         + (f", {len(r.unsure)} unsure" if r.unsure else "") + ".")
            known = [x.name for x in r.people if x.status == "named"]
            if known:
                st.session_state["flash"] += " Recognised: " + ", ".join(known) + "."
            st.rerun()


def photo_ui(pp: ProjectPeople, v: Video) -> None:
    with st.expander("Name people from a photo", icon=":material/add_a_photo:"):
        st.caption("A clear photo of someone's face, turned to the camera: the group that looks like it gets "
                   "the name, in this video and in the next videos of the project.")
        n = st.session_state.setdefault("photo_uploads", 0)
        with st.form(f"photo_form_{n}", border=False):
            name = st.text_input("Name", key=f"photo_name_{n}", placeholder="e.g. Jane Doe")
            up = st.file_uploader("Photo", type=list(PHOTO_EXTENSIONS), key=f"photo_file_{n}")
            sent = st.form_submit_button("Add the photo", icon=":material/upload:")
        if sent:
            if up is None:
                st.error("Choose a photo first.", icon=":material/error:")
                return
            path, messages = pp.add_photo(name, up.name, up.getvalue(), v)
            st.session_state["photo_uploads"] = n + 1  # an empty form for the next photo
            st.session_state["flash"] = " ".join([f"Saved the photo of {name.strip()} ({path.name})."] + messages)
            st.rerun()


def _done(r: PeopleResult, text: str) -> None:
    st.session_state["flash"] = text
    st.rerun()


def person_ui(pp: ProjectPeople, r: PeopleResult, view: PersonView, others: list[PersonView]) -> None:
    k = f"g{view.groups[0]}"
    words = {"named": "", "unnamed": " (no name yet)", "unsure": " (unsure: not counted)",
             "ignored": " (ignored: not counted)"}[view.status]
    with st.container(border=True):
        st.markdown(f"**{view.name}**{words} — {mmss(view.seconds)} on screen, {len(view.faces)} "
                    f"face{'s' if len(view.faces) != 1 else ''}")
        paths = [(r.faces.chip_path(i), i) for i in view.best[:THUMBS]]
        paths = [(p, i) for p, i in paths if p is not None]
        times = dict(zip(view.faces, face_times(r, view)))
        if paths:
            st.image([str(p) for p, _ in paths], width=96, caption=[common.thumb_caption(times[i]) for _, i in paths])
        with st.expander(f"Change {view.name}", icon=":material/edit:"):
            c1, c2 = st.columns(2)
            with c1.form(f"name_form_{k}", border=False):
                new = st.text_input("Name", value=view.name if view.status == "named" else "", key=f"name_{k}")
                if st.form_submit_button("Save the name", icon=":material/badge:"):
                    if view.status == "named" and not new.strip():
                        pp.unname(r.faces, view.groups)
                        _done(r, f"{view.name} has no name any more.")
                    pp.rename(r.faces, view.groups, new)
                    _done(r, f"Named {new.strip()}.")
            if others:
                names = {o.groups[0]: o.name for o in others}
                other = c2.selectbox("Same person as", list(names), format_func=names.get, key=f"merge_pick_{k}",
                                     index=None, placeholder="Choose someone")
                if c2.button("Merge", key=f"merge_{k}", icon=":material/merge:"):
                    if other is None:
                        st.error("Choose who this is the same person as first.", icon=":material/error:")
                    else:
                        o = next(x for x in others if x.groups[0] == other)
                        pp.merge(r.faces, view.groups, o.groups)
                        _done(r, f"{o.name} and {view.name} are now one person.")
            if len(view.faces) > 1:
                order = sorted(view.faces, key=lambda i: times[i])
                move = st.multiselect("Faces that are someone else", order, key=f"move_pick_{k}",
                                      format_func=lambda i: f"face {i} at {common.thumb_caption(times[i])}")
                if st.button("Move them out", key=f"move_{k}", icon=":material/call_split:"):
                    pp.move_out(r.faces, move)
                    _done(r, f"Moved {len(move)} face{'s' if len(move) != 1 else ''} out of {view.name}.")
            if view.status == "ignored":
                if st.button("Count again", key=f"unignore_{k}", icon=":material/visibility:"):
                    pp.ignore(r.faces, view.groups, False)
                    _done(r, f"{view.name} is counted again.")
            elif st.button("Ignore: not a person to count", key=f"ignore_{k}", icon=":material/visibility_off:",
                           help="A poster, a photo on a wall, a face on a screen."):
                pp.ignore(r.faces, view.groups, True)
                _done(r, f"{view.name} is ignored.")


def galleries_ui(pp: ProjectPeople, r: PeopleResult) -> None:
    everyone = [*r.people, *r.unsure, *r.ignored]
    if not r.people:
        st.info("Nobody is counted yet: name or merge the groups below to count them.", icon=":material/info:")
    for view in r.people:  # largest screen time first
        person_ui(pp, r, view, [o for o in everyone if o is not view])
    if r.unsure:
        st.subheader("Unsure")
        st.caption("Faces seen only once, or only blurred: not counted until you name them or merge them "
                   "with someone.")
        for view in r.unsure:
            person_ui(pp, r, view, [o for o in everyone if o is not view])
    if r.ignored:
        st.subheader("Ignored")
        for view in r.ignored:
            person_ui(pp, r, view, [o for o in everyone if o is not view])


def results_ui(r: PeopleResult, v: Video) -> None:
    tl = r.timeline
    if not tl.names:
        st.info("Nobody is counted yet: name or merge the groups on the Groups tab.", icon=":material/info:")
        return
    st.subheader("Screen time")
    st.plotly_chart(charts.screen_time_bars(tl.screen_time(), tl.names), key=f"people_bars_{v.id}",
                    config={"displayModeBar": False})
    st.subheader("When they are on screen")
    st.caption(f"Each bar is one appearance; gaps shorter than {r.smoothing.bridge_gaps_s:g} s are bridged.")
    st.plotly_chart(charts.timeline_figure(tl), key=f"people_timeline_{v.id}", config={"displayModeBar": False})
    st.subheader("Second by second")
    st.caption("Dark: a face of this person was seen in the frame looked at.")
    heat = charts.heatmap_figure(tl)  # its z is 1 where a face was seen (not a model's probability)
    heat.update_traces(colorbar=dict(title="face seen", tickvals=[0, 1], ticktext=["no", "yes"]),
                       hovertemplate="<b>%{y}</b> at %{customdata}<br>face seen: %{z:.0f}<extra></extra>")
    st.plotly_chart(heat, key=f"people_heat_{v.id}", config={"displayModeBar": False})
    common.downloads(tl, r.record(common.project().name).to_dict(), f"{Path(v.name).stem}_people",
                     f"people_dl_{v.id}")


def people_ui() -> None:
    common.page_setup()
    st.title("People")
    st.caption("For live-action videos: Screen Time finds the faces by itself and groups them into people. "
               "Name them once; the names carry over to the next videos of this project.")
    with common.friendly("finding people"):
        p = common.project()
        v = common.video_picker(p, "Video")
        if v is None:
            common.no_project_videos(p)
            return
        if msg := st.session_state.pop("flash", None):
            st.success(msg, icon=":material/check_circle:")
        pp = ProjectPeople(p)
        r = pp.result(v)
        find_ui(pp, v, r is not None)
        photo_ui(pp, v)
        if r is None:
            st.info("Not looked at yet: press Find people.", icon=":material/info:")
            return
        if len(r.faces) == 0:
            st.info("No faces were found in this video. If people are small or turned away, choose Thorough or "
                    "look more often, then look again.", icon=":material/face_retouching_off:")
            return
        for m in r.messages:
            st.caption(m)
        groups, results = st.tabs(["Groups", "Results"])
        with groups:
            galleries_ui(pp, r)
        with results:
            results_ui(r, v)


people_ui()
