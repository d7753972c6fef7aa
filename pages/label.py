"""Label page: tick who is visible in sampled frames; every click is saved at once."""

from __future__ import annotations

from typing import Optional

import numpy as np
import streamlit as st

from core import read_frame_at
from core.project import Character, Project, Video
from core.suggest import suggest
from pages import common

NOBODY = "Nobody"
PER_PAGE = 12
COLUMNS = 4
VIEWS = ["Grid", "One by one", "Suggested"]


def _ms(t: float) -> int:
    return int(round(float(t) * 1000))


def current_names(p: Project, vid: int, t: float, chars: list[Character]) -> Optional[list[str]]:
    """Who is ticked at a moment: None when unlabelled, [Nobody] for nobody."""
    ids = {_ms(k): v for k, v in p.frame_labels(vid).items()}.get(_ms(t))
    if ids is None:
        return None
    names = [c.name for c in chars if c.id in ids]
    return names or [NOBODY]


def apply_selection(p: Project, vid: int, t: float, new: list[str], chars: list[Character]) -> None:
    """Store a new selection of the pills of one frame, changing only what changed."""
    by_name = {c.name: c.id for c in chars}
    old = current_names(p, vid, t, chars)
    new_set = set(new or [])
    if NOBODY in new_set and (old is None or NOBODY not in old):
        p.set_frame(vid, t, [])
    elif not new_set:
        p.clear_frame(vid, t)
    else:
        new_set.discard(NOBODY)
        old_set = set(old or []) - {NOBODY}
        for n in sorted(new_set - old_set):
            p.set_present(vid, t, by_name[n], True)
        for n in sorted(old_set - new_set):
            p.set_present(vid, t, by_name[n], False)


def _on_pills(p: Project, vid: int, t: float, key: str, chars: list[Character]) -> None:
    with common.friendly("saving a label"):
        apply_selection(p, vid, t, st.session_state.get(key) or [], chars)


def frame_cell(p: Project, v: Video, t: float, chars: list[Character], labels_ms: dict[int, set[int]],
               prefix: str) -> None:
    """One thumbnail with its time and the pills to tick who is on screen."""
    thumb = p.thumb(v, t)
    ids = labels_ms.get(_ms(t))
    state = "not labelled yet" if ids is None else ("nobody" if not ids else "labelled")
    if thumb is not None:
        st.image(str(thumb), width="stretch")
    st.caption(f"**{common.thumb_caption(t)}** · {state}")
    key = f"{prefix}_{v.id}_{_ms(t)}"
    sel = None if ids is None else ([c.name for c in chars if c.id in ids] or [NOBODY])
    st.session_state[key] = sel or []
    st.pills(f"Who is visible at {common.thumb_caption(t)}?", [c.name for c in chars] + [NOBODY],
             selection_mode="multi", key=key, label_visibility="collapsed",
             on_change=_on_pills, args=(p, v.id, t, key, chars))


def characters_ui(p: Project, chars: list[Character]) -> None:
    open_ = len(chars) < 2 or bool(st.session_state.get("characters_open"))
    with st.expander("Characters" + (f" ({len(chars)})" if chars else ""), expanded=open_, icon=":material/group:"):
        with st.form("add_character", clear_on_submit=True, border=False):
            c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
            name = c1.text_input("New character", placeholder="e.g. Tom", key="new_character")
            if c2.form_submit_button("Add", type="primary", width="stretch"):
                with common.friendly("adding a character"):
                    p.add_character(name)
                    st.session_state["characters_open"] = True
                    st.rerun()
        for i, c in enumerate(chars):
            c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
            new = c1.text_input(f"Key {i + 1}" if i < 9 else "Name", value=c.name, key=f"rename_{c.id}")
            if c2.button("Rename", key=f"do_rename_{c.id}", width="stretch") and new != c.name:
                with common.friendly("renaming a character"):
                    p.rename_character(c.id, new)
                    st.session_state["characters_open"] = True
                    st.rerun()
            if c3.button("Remove", key=f"remove_{c.id}", width="stretch",
                         help=f"Removes {c.name} and all their ticks from every video."):
                st.session_state["confirm_remove_character"] = c.id
        rid = st.session_state.get("confirm_remove_character")
        if rid in {c.id for c in chars}:
            name = next(c.name for c in chars if c.id == rid)
            st.warning(f"Remove {name} and all their ticks? This cannot be undone.")
            a, b = st.columns(2)
            if a.button(f"Yes, remove {name}", key="confirm_remove_yes", type="primary"):
                p.remove_character(rid)
                st.session_state.pop("confirm_remove_character", None)
                st.rerun()
            if b.button("Keep", key="confirm_remove_no"):
                st.session_state.pop("confirm_remove_character", None)
                st.rerun()


def filtered_times(times: np.ndarray, labels_ms: dict[int, set[int]], show: str, chars: list[Character],
                   span: tuple[float, float]) -> list[float]:
    out = []
    by_name = {c.name: c.id for c in chars}
    for t in times:
        t = float(t)
        if not span[0] <= t <= span[1]:
            continue
        ids = labels_ms.get(_ms(t))
        if show == "Not labelled yet" and ids is not None:
            continue
        if show == "Labelled" and ids is None:
            continue
        if show == "Nobody" and ids != set():
            continue
        if show.startswith("With ") and (ids is None or by_name.get(show[5:]) not in ids):
            continue
        out.append(t)
    return out


def grid(p: Project, v: Video, times: list[float], chars: list[Character], labels_ms: dict[int, set[int]],
         prefix: str, paged: bool = True) -> None:
    if not times:
        st.info("No frame matches these filters.", icon=":material/search:")
        return
    pages = max(1, -(-len(times) // PER_PAGE))
    page = 1
    if paged and pages > 1:
        page = st.columns([1, 4])[0].number_input(f"Page (of {pages})", 1, pages, 1, key=f"page_{prefix}_{v.id}")
    chunk = times[(page - 1) * PER_PAGE: page * PER_PAGE]
    for row in range(0, len(chunk), COLUMNS):
        cols = st.columns(COLUMNS)
        for col, t in zip(cols, chunk[row:row + COLUMNS]):
            with col, st.container(border=True):
                frame_cell(p, v, t, chars, labels_ms, prefix)


def one_by_one(p: Project, v: Video, times: list[float], chars: list[Character],
               labels_ms: dict[int, set[int]]) -> None:
    if not times:
        st.info("No frame matches these filters.", icon=":material/search:")
        return
    focus = st.session_state.get("focus_t")
    i = int(np.argmin([abs(t - focus) for t in times])) if focus is not None else 0
    t = times[i]
    st.session_state["focus_t"] = t
    ids = labels_ms.get(_ms(t))
    left, right = st.columns([3, 2])
    with left:
        try:
            st.image(read_frame_at(p.video_path(v), t), width="stretch")
        except Exception:  # noqa: BLE001 - fall back to the thumbnail
            thumb = p.thumb(v, t)
            if thumb is not None:
                st.image(str(thumb), width="stretch")
    with right:
        state = "not labelled yet" if ids is None else (
            "nobody" if not ids else ", ".join(c.name for c in chars if c.id in ids))
        st.markdown(f"### {common.thumb_caption(t)}  \nframe {i + 1} of {len(times)} · **{state}**")
        st.caption("Keys: number = a character on/off, N = nobody, ← → = previous / next frame.")
        for k, c in enumerate(chars):
            on = ids is not None and c.id in ids
            if st.button(f"{c.name}" + (" ✓" if on else ""), key=f"one_{c.id}", width="stretch",
                         type="primary" if on else "secondary", shortcut=str(k + 1) if k < 9 else None):
                with common.friendly("saving a label"):
                    p.set_present(v.id, t, c.id, not on)
                    st.rerun()
        if st.button(NOBODY + (" ✓" if ids == set() else ""), key="one_nobody", shortcut="N", width="stretch",
                     type="primary" if ids == set() else "secondary"):
            with common.friendly("saving a label"):
                p.set_frame(v.id, t, [])
                st.session_state["focus_t"] = times[min(i + 1, len(times) - 1)]
                st.rerun()
        a, b = st.columns(2)
        if a.button("← Previous", key="one_prev", shortcut="left", width="stretch", disabled=i == 0):
            st.session_state["focus_t"] = times[i - 1]
            st.rerun()
        if b.button("Next →", key="one_next", shortcut="right", width="stretch", disabled=i == len(times) - 1):
            st.session_state["focus_t"] = times[i + 1]
            st.rerun()
        if ids is not None and st.button("Forget this frame's label", key="one_clear", type="tertiary"):
            p.clear_frame(v.id, t)
            st.rerun()


def suggested(p: Project, v: Video, times: np.ndarray, chars: list[Character],
              labels_ms: dict[int, set[int]]) -> None:
    m = p.latest_model()
    run = p.run_probs(m.id, v.id) if m is not None else None
    if run is None:
        st.info("Suggestions come after a first model: label a few frames of each character, then train.",
                icon=":material/lightbulb:")
        common.next_step("Train a first model", "Train")
        return
    labelled = np.array([_ms(t) in labels_ms for t in run["times"]], bool)
    k = st.slider("How many suggestions", 4, 24, PER_PAGE, step=4, key="n_suggest")
    idx = suggest(run["probs"], labelled, run["times"], k)
    st.caption("These are the moments the model is least sure about, spread over the video. Ticking who is "
               "visible here teaches it the most; then train again.")
    grid(p, v, [float(run["times"][i]) for i in idx], chars, labels_ms, "sug", paged=False)


def label_ui() -> None:
    common.page_setup()
    st.title("Label")
    st.caption("Tick who is visible in a frame (several at once, or Nobody). Every tick is saved at once; "
               "a few dozen frames spread over the video are enough for a first model.")
    with common.friendly("opening the labels"):
        p = common.project()
        chars = p.characters()
        characters_ui(p, chars)
        if not chars:
            st.info("Add the characters you want to follow, one at a time, above.", icon=":material/group:")
            return
        if not p.videos():
            common.no_project_videos(p)
            return
        v = common.video_picker(p, "Video", only_sampled=True)
        moments = p.moments(v) if v is not None else None
        if v is None or moments is None:
            st.info("Sample a video first, so there are frames to label.", icon=":material/movie:")
            common.next_step("Sample a video on the Video page", "Video")
            return
        labels_ms = {_ms(t): ids for t, ids in p.frame_labels(v.id).items()}
        counts = p.label_counts(v.id)
        st.markdown(f"**{counts.frames} of {len(moments)} frames labelled** · " + " · ".join(
            f"{n}: {k}" for n, k in counts.per_character.items()) + f" · Nobody: {counts.nobody}")

        focus = st.session_state.pop("relabel", None)
        if focus is not None:  # from the Train page: open that frame
            st.session_state["label_view"] = "One by one"
            st.session_state["focus_t"] = focus
            st.session_state["label_show"] = "All frames"
        view = st.segmented_control("View", VIEWS, default="Grid", key="label_view") or "Grid"
        if view == "Suggested":
            suggested(p, v, moments, chars, labels_ms)
            return
        c1, c2 = st.columns([1, 2])
        show = c1.selectbox("Show", ["All frames", "Not labelled yet", "Labelled", "Nobody",
                                     *[f"With {c.name}" for c in chars]], key="label_show")
        every = float(v.every or 1.0)
        end = float(max(moments[-1], every)) if len(moments) else 1.0
        span = c2.slider("Time range", 0.0, end, (0.0, end), step=every, format="%g s", key="label_span")
        times = filtered_times(moments, labels_ms, show, chars, span)
        if view == "One by one":
            one_by_one(p, v, times, chars, labels_ms)
        else:
            grid(p, v, times, chars, labels_ms, "grid")
        if counts.frames >= 8:
            common.next_step("Next: train the model on the Train page", "Train")


label_ui()
