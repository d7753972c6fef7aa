"""Train page: one button (training runs in the background); then how well the model does, in words (never
"good" on a handful of frames: core/verdict.py), whether retraining helped, and the frames it got wrong; and a
word when labels or characters changed since."""

from __future__ import annotations

import time
from typing import Optional

import streamlit as st

from core import mmss
from core.jobs import training_estimate_s
from core.labels import ENOUGH_RULE
from core.project import ModelRecord, Project
from core.validation import Scores
from core.verdict import change, verdict
from pages import common, jobs

WRONG_SHOWN = 12


def in_words(s: Scores) -> str:
    """Recall and precision as two sentences a casting agent reads at a glance."""
    if s.support == 0:
        return f"No labelled frame shows {s.character}, so this cannot be checked yet."
    found, right = round(10 * s.recall), round(10 * s.precision)
    return (f"Finds {s.character} in **{found} of 10** seconds they are on screen. "
            f"When it says {s.character} is there, it is right **{right} times in 10**.")


_VERDICT_LOOK = {"good": ("green", "check_circle"), "fair": ("orange", "warning"), "weak": ("red", "cancel"),
                 "unchecked": ("orange", "warning")}
_CHANGE_LOOK = {"up": ("green", "trending_up"), "down": ("red", "trending_down"), "same": ("gray", "trending_flat"),
                "new": ("gray", "fiber_new")}


def verdict_markdown(s: Scores, n_labelled: int) -> str:
    """The verdict of :func:`core.verdict.verdict` in colour; "so far" is never green."""
    v = verdict(s, n_labelled)
    colour, icon = _VERDICT_LOOK[v.level]
    if v.level == "good" and not v.sure:
        colour, icon = "orange", "hourglass_top"
    return f":{colour}[:material/{icon}: {v.words()}]"


def change_markdown(now: Scores, before: Optional[Scores]) -> str:
    c = change(now, before)
    colour, icon = _CHANGE_LOOK[c.direction]
    return f":{colour}[:material/{icon}: {c.words()}]"


def _relabel(vid: int, t: float) -> None:
    st.session_state["video_id"] = vid
    st.session_state["relabel"] = t


def report_ui(p: Project, m: ModelRecord) -> None:
    when = time.strftime("%d %b %Y, %H:%M", time.localtime(m.created))
    st.subheader("How well the model does")
    st.caption(f"Trained {when} on {m.n_labelled} labelled frames. Each frame was checked by a model that had "
               "not seen it (nor the seconds around it) while learning, so these figures are honest.")
    current = {c.name for c in p.characters()}
    gone = [n for n in m.characters if n not in current]
    if gone:
        st.caption("No longer characters of this project (removed or renamed): " + ", ".join(gone) + ".")
    before = p.previous_model(m)
    if before is not None:
        then = time.strftime("%d %b, %H:%M", time.localtime(before.created))
        st.caption(f"Compared with the model trained before it ({then}, on {before.n_labelled} labelled frames): "
                   "each measured on the labels it had.")
    for name in [n for n in m.characters if n in current]:
        s = m.scores.get(name)
        with st.container(border=True):
            c1, c2 = st.columns([3, 2])
            c1.markdown(f"**{name}** — " + (in_words(s) if s else "not checked: too few labelled frames."))
            if s:
                without = m.n_labelled - s.support
                trend = f"  \n{change_markdown(s, before.scores.get(name))}" if before is not None else ""
                c2.markdown(f"{verdict_markdown(s, m.n_labelled)}{trend}  \n<small>precision {s.precision:.0%} · "
                            f"recall {s.recall:.0%} · F1 {s.f1:.2f} · {s.support} frames with {name}, {without} "
                            "without</small>", unsafe_allow_html=True)
    if m.skipped:
        st.warning("Not learned yet: " + ", ".join(m.skipped) + f". Each character needs {ENOUGH_RULE}.",
                   icon=":material/warning:")
    if m.wrong is None:
        st.info("Press Train to see which labelled frames the model gets wrong.", icon=":material/info:")
    elif m.wrong:
        st.subheader(f"Frames it got wrong ({len(m.wrong)})")
        st.caption("Check these: either the model needs more examples like them, or the tick was a mistake. "
                   "Click Relabel to open the frame on the Label page.")
        videos = {v.id: v for v in p.videos()}
        shown = [w for w in m.wrong if w.video_id in videos and w.character in current][:WRONG_SHOWN]
        cols = st.columns(4)
        for k, w in enumerate(shown):
            v = videos[w.video_id]
            with cols[k % 4], st.container(border=True):
                thumb = p.thumb(v, w.time_s)
                if thumb is not None:
                    st.image(str(thumb), width="stretch")
                said = "missed" if w.labelled_present else "wrongly saw"
                st.caption(f"**{common.thumb_caption(w.time_s)}**" + (f" · {v.name}" if len(videos) > 1 else "") +
                           f"  \nIt {said} **{w.character}** ({common.sure_words(w.probability)})")
                clicked = st.button("Relabel", key=f"relabel_{k}", icon=":material/label:", on_click=_relabel,
                                    args=(w.video_id, w.time_s))
                if clicked and st.session_state.get("_in_app"):
                    st.switch_page(common.PAGE_PATHS["Label"])
    else:
        st.success("In validation it got every labelled frame right.", icon=":material/target:")


def train_ui() -> None:
    common.page_setup()
    st.title("Train")
    st.caption("Screen Time learns from your ticks what each character looks like, then measures the whole "
               "video. Train again whenever you have labelled more.")
    with common.friendly("training"):
        p = common.project()
        counts = p.label_counts()
        sampled = [v for v in p.videos() if v.has_features]
        st.markdown(f"**{counts.frames} labelled frames** in {len(sampled)} sampled "
                    f"video{'s' if len(sampled) != 1 else ''} · " +
                    " · ".join(f"{n}: {k}" for n, k in counts.per_character.items()))
        busy = jobs.current(p)
        st.caption(f"Takes about {mmss(training_estimate_s(p))} on this computer, in the background: you can "
                   "go on labelling meanwhile.")
        if st.button("Train", type="primary", icon=":material/model_training:", key="train",
                     disabled=busy is not None and busy.running):
            common.start_training(p)
            st.rerun()
        common.job_box(p, ("train",))
        m = p.latest_model()
        if m is None:
            st.info("No model yet: label some frames of each character (with and without them), then press "
                    "Train.", icon=":material/info:")
            return
        if not common.out_of_date_ui(p, m, "train_again"):
            common.next_step("See the screen time on the Results page", "Results", icon=":material/bar_chart:")
        report_ui(p, m)


train_ui()
