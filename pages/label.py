"""Label page: tick who is visible in sampled frames; every click is saved at once."""

from __future__ import annotations

from typing import Optional

import numpy as np
import streamlit as st
from PIL import Image

from core import ScreenTimeError, read_frame_at, where
from core.project import Character, ModelRecord, Project, Video
from core.suggest import suggest
from core.video import moment_ms
from pages import common, keys

NOBODY = "Nobody"
PER_PAGE = 12
COLUMNS = 4
VIEWS = ["Grid", "One by one", "Suggested"]


def apply_selection(p: Project, vid: int, t: float, shown: list[str], new: list[str],
                    chars: list[Character]) -> None:
    """Store one click on the pills of a frame: the change from what this tab showed (``shown``) to ``new``,
    and nothing else, so that a tick made meanwhile in another tab (which this tab does not show) survives.
    Nobody says on purpose that none of the characters is visible; unticking the last pill forgets the frame
    unless another tab has ticked someone there."""
    by_name = {c.name: c.id for c in chars}
    old_set, new_set = set(shown or []), set(new or [])
    added, removed = new_set - old_set, old_set - new_set
    if NOBODY in added:
        p.set_frame(vid, t, [])
        return
    for n in sorted(added - {NOBODY}):
        if n in by_name:
            p.set_present(vid, t, by_name[n], True)
    for n in sorted(removed - {NOBODY}):
        if n in by_name:
            p.set_present(vid, t, by_name[n], False)
    if not new_set and not {moment_ms(k): ids for k, ids in p.frame_labels(vid).items()}.get(moment_ms(t)):
        p.clear_frame(vid, t)


def _on_pills(p: Project, vid: int, t: float, key: str, chars: list[Character]) -> None:
    with common.friendly("saving a label"):
        apply_selection(p, vid, t, st.session_state.get(f"shown_{key}") or [], st.session_state.get(key) or [],
                        chars)


def frame_cell(p: Project, v: Video, t: float, chars: list[Character], labels_ms: dict[int, set[int]],
               prefix: str, picture: Optional[np.ndarray] = None) -> None:
    """One thumbnail with its time and the pills to tick who is on screen (none before there are characters).
    The pills show what the store holds now; what they showed is kept to tell what a click changed."""
    thumb = p.thumb(v, t)
    ids = labels_ms.get(moment_ms(t))
    state = "not labelled yet" if ids is None else ("nobody" if not ids else "labelled")
    if picture is not None:
        st.image(picture, width="stretch")
    elif thumb is not None:
        st.image(str(thumb), width="stretch")
    st.caption(f"**{common.thumb_caption(t)}** · {state}")
    if not chars:
        return
    key = f"{prefix}_{v.id}_{moment_ms(t)}"
    sel = None if ids is None else ([c.name for c in chars if c.id in ids] or [NOBODY])
    st.session_state[key] = sel or []
    st.session_state[f"shown_{key}"] = sel or []
    st.pills(f"Who is visible at {common.thumb_caption(t)}?", [c.name for c in chars] + [NOBODY],
             selection_mode="multi", key=key, label_visibility="collapsed",
             on_change=_on_pills, args=(p, v.id, t, key, chars))


def _add_character(p: Project) -> None:
    try:
        c = p.add_character(st.session_state.get("new_character", ""))
    except ScreenTimeError as exc:
        st.session_state["character_error"] = str(exc)
        return
    st.session_state["new_character"] = ""
    st.session_state["characters_open"] = False  # the panel folds away; the box stays for the next one
    st.session_state["character_flash"] = f"Added {c.name}. Add the next one, or tick who is visible below."


def add_character_ui(p: Project) -> None:
    """The one-line box to add a character, always in view (the list of characters folds away)."""
    with st.form("add_character", border=False):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.text_input("New character", placeholder="e.g. Tom", key="new_character")
        c2.form_submit_button("Add", type="primary", width="stretch", on_click=_add_character, args=(p,))
    if err := st.session_state.pop("character_error", None):
        st.error(err, icon=":material/error:")
    if msg := st.session_state.pop("character_flash", None):
        st.success(msg, icon=":material/check_circle:")


def characters_ui(p: Project, chars: list[Character]) -> None:
    add_character_ui(p)
    if not chars:
        return
    open_ = bool(st.session_state.get("characters_open"))
    with st.expander(f"Characters ({len(chars)}): pictures, rename, remove", expanded=open_,
                     icon=":material/group:"):
        common.character_cards(p, chars)
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
        ids = labels_ms.get(moment_ms(t))
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
    key = f"page_{prefix}_{v.id}"
    if paged and pages > 1:
        if int(st.session_state.get(key, 1)) > pages:  # fewer frames match the filters now
            st.session_state[key] = pages
        page = st.columns([1, 4])[0].number_input(f"Page (of {pages})", 1, pages, key=key)
    chunk = times[(page - 1) * PER_PAGE: page * PER_PAGE]
    pictures = where_pictures(p, v, chunk)
    for row in range(0, len(chunk), COLUMNS):
        cols = st.columns(COLUMNS)
        for col, t in zip(cols, chunk[row:row + COLUMNS]):
            with col, st.container(border=True):
                frame_cell(p, v, t, chars, labels_ms, prefix, pictures.get(t))
    if paged and pages > 1:  # the page switcher again below the grid, where the eyes are after labelling
        a, b, c = st.columns([1, 2, 1], vertical_alignment="center")
        a.button("← Previous page", key=f"{key}_prev", disabled=page <= 1, on_click=_turn, args=(key, -1, pages),
                 width="stretch")
        b.markdown(f"<div style='text-align:center'>Page {page} of {pages}</div>", unsafe_allow_html=True)
        c.button("Next page →", key=f"{key}_next", disabled=page >= pages, on_click=_turn, args=(key, 1, pages),
                 width="stretch")


def _turn(key: str, step: int, pages: int) -> None:
    st.session_state[key] = min(max(int(st.session_state.get(key, 1)) + step, 1), pages)


def _focus_index(times: list[float]) -> int:
    focus = st.session_state.get("focus_t")
    return int(np.argmin([abs(t - focus) for t in times])) if focus is not None else 0


def one_action(p: Project, v: Video, times: list[float], chars: list[Character], action: str,
               shown_on: Optional[bool] = None) -> None:
    """One step of the one-by-one view, from a button or a key (the same rule for both), on the frame in
    focus: ``toggle:<id>`` (a character on/off: the opposite of what the button showed, or for a key of what
    the store holds now, so quick presses build on each other), ``nobody`` (and on to the next frame),
    ``prev``, ``next``, ``clear``."""
    if not times:
        return
    i = _focus_index(times)
    t = times[i]
    with common.friendly("saving a label"):
        if action.startswith("toggle:"):
            cid = int(action.split(":", 1)[1])
            if shown_on is None:
                labelled = {moment_ms(k): ids for k, ids in p.frame_labels(v.id).items()}
                shown_on = cid in labelled.get(moment_ms(t), set())
            p.set_present(v.id, t, cid, not shown_on)
        elif action == "nobody":
            p.set_frame(v.id, t, [])
            st.session_state["focus_t"] = times[min(i + 1, len(times) - 1)]
        elif action == "prev":
            st.session_state["focus_t"] = times[max(i - 1, 0)]
        elif action == "next":
            st.session_state["focus_t"] = times[min(i + 1, len(times) - 1)]
        elif action == "clear":
            p.clear_frame(v.id, t)


def key_action(chars: list[Character], key: str) -> Optional[str]:
    """What a key does in the one-by-one view: 1-9 a character, N nobody, arrows move."""
    if key.isdigit() and 1 <= int(key) <= min(len(chars), 9):
        return f"toggle:{chars[int(key) - 1].id}"
    return {"n": "nobody", "ArrowLeft": "prev", "ArrowRight": "next"}.get(key)


WHERE_HELP = ("From the latest model: a box around where it sees each character it finds in the frame (or, when it "
              "finds nobody, where the likeliest one would be). The first time, the network looks at each frame "
              "again.")




def _drawn(p: Project, m: ModelRecord, wm: where.WhereMap, image: np.ndarray) -> tuple[np.ndarray, str]:
    names, sees = where.project_drawn(p, m, wm)
    caption = ("Where the model sees " + ", ".join(names)) if sees else \
        f"The model sees nobody here; the likeliest, {names[0]}, is shown where it would be."
    return where.draw_where(image, wm, names), caption


def where_pictures(p: Project, v: Video, times: list[float]) -> dict[float, np.ndarray]:
    """The grid's thumbnails with where the model sees each character, when the toggle is on (it shows once
    there is a model); empty otherwise."""
    m = p.latest_model()
    if m is None or not times or not st.toggle(common.WHERE, key="label_where", help=WHERE_HELP):
        return {}
    st.caption("On each frame: where the latest model sees each character it finds there (a box each), or where "
               "the likeliest one would be when it finds nobody.")
    out: dict[float, np.ndarray] = {}
    with common.friendly("finding where the model looks"):
        for wm in common.where_maps(p, m, v, times):
            thumb = p.thumb(v, wm.time_s)
            if thumb is not None:
                out[wm.time_s] = _drawn(p, m, wm, np.asarray(Image.open(thumb).convert("RGB")))[0]
    return out


def where_frame(p: Project, v: Video, t: float, frame: np.ndarray) -> None:
    """The frame in focus; with the toggle on (once there is a model), a box around each character the latest
    model sees there (or the likeliest one, with its heat map)."""
    m = p.latest_model()
    if m is None or not st.toggle(common.WHERE, key="label_where", help=WHERE_HELP):
        st.image(frame, width="stretch")
        return
    with common.friendly("finding where the model looks"):
        picture, caption = _drawn(p, m, common.where_maps(p, m, v, [t])[0], frame)
        st.image(picture, width="stretch", caption=caption)
        return
    st.image(frame, width="stretch")  # the map could not be made: the frame as it is


def one_by_one(p: Project, v: Video, times: list[float], chars: list[Character],
               labels_ms: dict[int, set[int]]) -> None:
    if not times:
        st.info("No frame matches these filters.", icon=":material/search:")
        return

    def on_key(key: str) -> None:
        action = key_action(chars, key)
        if action is not None:
            one_action(p, v, times, chars, action)

    keys.listen("label_keys", on_key)
    i = _focus_index(times)
    t = times[i]
    st.session_state["focus_t"] = t
    ids = labels_ms.get(moment_ms(t))
    left, right = st.columns([3, 2])
    with left:
        try:
            frame = read_frame_at(p.video_path(v), t)
        except Exception:  # noqa: BLE001 - fall back to the thumbnail
            frame = None
            thumb = p.thumb(v, t)
            if thumb is not None:
                st.image(str(thumb), width="stretch")
        if frame is not None:
            where_frame(p, v, t, frame)
    with right:
        state = "not labelled yet" if ids is None else (
            "nobody" if not ids else ", ".join(c.name for c in chars if c.id in ids))
        st.markdown(f"### {common.thumb_caption(t)}  \nframe {i + 1} of {len(times)} · **{state}**")
        st.caption("Keys: number = a character on/off, N = nobody (and on to the next frame), ← → = previous / "
                   "next frame. Press as fast as you like: every press counts.")
        args = (p, v, times, chars)
        for k, c in enumerate(chars):
            on = ids is not None and c.id in ids
            st.button(f"{k + 1} · {c.name}" + (" ✓" if on else "") if k < 9 else c.name + (" ✓" if on else ""),
                      key=f"one_{c.id}", width="stretch", type="primary" if on else "secondary",
                      on_click=one_action, args=(*args, f"toggle:{c.id}", on))
        st.button("N · " + NOBODY + (" ✓" if ids == set() else ""), key="one_nobody", width="stretch",
                  type="primary" if ids == set() else "secondary", on_click=one_action, args=(*args, "nobody"))
        a, b = st.columns(2)
        a.button("← Previous", key="one_prev", width="stretch", disabled=i == 0, on_click=one_action,
                 args=(*args, "prev"))
        b.button("Next →", key="one_next", width="stretch", disabled=i == len(times) - 1, on_click=one_action,
                 args=(*args, "next"))
        if ids is not None:
            st.button("Forget this frame's label", key="one_clear", type="tertiary", on_click=one_action,
                      args=(*args, "clear"))


def suggested(p: Project, v: Video, times: np.ndarray, chars: list[Character],
              labels_ms: dict[int, set[int]]) -> None:
    m = p.latest_model()
    run = p.run_probs(m.id, v.id) if m is not None else None
    if run is None:
        st.info("Suggestions come after a first model: label a few frames of each character, then train.",
                icon=":material/lightbulb:")
        common.next_step("Train a first model", "Train")
        return
    assert m is not None
    k = st.slider("How many suggestions", 4, 24, PER_PAGE, step=4, key="n_suggest")
    which = (v.id, m.id, k)
    frozen = st.session_state.get("sug_frozen")
    if frozen is None or frozen[0] != which:  # the list stays put while the user ticks (any number per frame)
        labelled = np.array([moment_ms(t) in labels_ms for t in run["times"]], bool)
        idx = suggest(run["probs"], labelled, run["times"], k)
        frozen = (which, [float(run["times"][i]) for i in idx])
        st.session_state["sug_frozen"] = frozen
    st.caption("These are the moments the model is least sure about, spread over the video. Tick who is "
               "visible in each (several at once, or Nobody): the frames stay where they are until you ask for "
               "new suggestions. Then train again.")
    grid(p, v, frozen[1], chars, labels_ms, "sug", paged=False)
    done = sum(moment_ms(t) in labels_ms for t in frozen[1])
    st.button(f"Done with these ({done} of {len(frozen[1])} labelled): show new suggestions", key="sug_next",
              icon=":material/refresh:", on_click=_new_suggestions)


def _new_suggestions() -> None:
    st.session_state.pop("sug_frozen", None)


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
            st.info("Add the characters you want to follow, one at a time, above: then tick who is visible in "
                    "the frames below.", icon=":material/group:")
        if not p.videos():
            common.no_project_videos(p)
            return
        v = common.video_picker(p, "Video", only_sampled=True)
        moments = p.moments(v) if v is not None else None
        if v is None or moments is None:
            st.info("Sample a video first, so there are frames to label.", icon=":material/movie:")
            common.next_step("Sample a video on the Video page", "Video")
            return
        labels_ms = {moment_ms(t): ids for t, ids in p.frame_labels(v.id).items()}
        counts = p.label_counts(v.id)
        st.markdown(f"**{counts.frames} of {len(moments)} frames labelled** · " + " · ".join(
            f"{n}: {k}" for n, k in counts.per_character.items()) + f" · Nobody: {counts.nobody}")

        focus = st.session_state.pop("relabel", None)
        if focus is not None:  # from the Train page: open that frame
            st.session_state["label_view"] = "One by one"
            st.session_state["focus_t"] = focus
            st.session_state["label_show"] = "All frames"
        view = st.segmented_control("View", VIEWS, default="Grid", key="label_view") or "Grid"
        if view == "Suggested" and chars:
            suggested(p, v, moments, chars, labels_ms)
            return
        st.session_state.pop("sug_frozen", None)  # moving on: new suggestions next time
        c1, c2 = st.columns([1, 2])
        show = c1.selectbox("Show", ["All frames", "Not labelled yet", "Labelled", "Nobody",
                                     *[f"With {c.name}" for c in chars]], key="label_show")
        every = float(v.every or 1.0)
        end = float(max(moments[-1], every)) if len(moments) else 1.0
        span = c2.slider("Time range", 0.0, end, (0.0, end), step=every, format="%g s", key="label_span")
        times = filtered_times(moments, labels_ms, show, chars, span)
        if view == "One by one" and chars:
            one_by_one(p, v, times, chars, labels_ms)
        else:
            grid(p, v, times, chars, labels_ms, "grid")
        if counts.frames >= 8:
            common.next_step("Next: train the model on the Train page", "Train")


label_ui()
