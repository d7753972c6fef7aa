"""Start page: what Screen Time does in three steps, "cartoon or live action?", and the next click."""

from __future__ import annotations

import streamlit as st

from core.project import Project
from pages import common
from pages.common import KINDS, STEPS, next_click


def _picked_kind(p: Project) -> None:
    with common.friendly("saving the kind of video"):
        p.set_setting("kind", st.session_state["start_kind"])


def start_ui() -> None:
    common.page_setup()
    st.title("Start")
    st.markdown("#### How long is every character or actor on screen in your video?")
    with common.friendly("opening the project"):
        p = common.project()
        kind = p.get_setting("kind") or "characters"
        st.session_state["start_kind"] = kind if kind in KINDS else "characters"
        st.radio("Is your video a cartoon or live action?", list(KINDS), format_func=KINDS.get, key="start_kind",
                 on_change=_picked_kind, args=(p,), horizontal=True)
        kind = st.session_state["start_kind"]
        cols = st.columns(3)
        for k, (col, text) in enumerate(zip(cols, STEPS[kind])):
            with col, st.container(border=True):
                st.markdown(f"### {k + 1}\n{text}")
        if p.get_setting("demo") == "1":
            st.info("This is the demo project. For your own video, create a project first (sidebar: **New "
                    "project**); it opens on the Video page.", icon=":material/add:")
        else:
            sentence, page = next_click(p, kind)
            common.next_step(sentence, page)
        st.caption(f"You are working in the project **{p.name}** (sidebar: choose another or create a new one; "
                   "everything is saved at once).")
        chars = p.characters()
        if chars and kind == "characters":
            st.subheader(f"The characters of {p.name}")
            common.character_cards(p, chars)


start_ui()
