"""app.py (AppTest): navigation, the project picker and new projects in the sidebar."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest
from test_app_helpers import ROOT, dirs  # noqa: F401

from core.project import Project, list_projects

APP = str(ROOT / "app.py")
# The sidebar alone (AppTest drops a form's submit click when st.navigation reruns to its default page).
SIDEBAR = """
import streamlit as st
from pages import common
common.sidebar_projects()
st.title(common.project().name)
"""


def test_app_opens_demo_and_switches_projects(dirs):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Video"  # the default page
    picker = at.sidebar.selectbox(key="project_picker")
    demo = picker.value
    assert demo.startswith("demo")
    assert any("Big Buck Bunny" in c.value for c in at.sidebar.caption)  # the film's credit
    # (the picker itself is exercised in test_new_project_from_the_sidebar and the browser test: AppTest
    # keeps no sidebar after a rerun of an st.navigation app)
    Project.create("Season 1")
    at.session_state["project"] = "season-1"
    at.run()
    assert not at.exception
    assert any("no video yet" in i.value for i in at.info)


def test_new_project_from_the_sidebar(dirs):
    at = AppTest.from_string(SIDEBAR, default_timeout=60).run()
    assert at.title[0].value.startswith("Demo")
    at.sidebar.text_input[0].input("Season 1")
    next(b for b in at.sidebar.button if b.label == "Create project").click()
    at.run()
    assert not at.exception
    assert [n for _, n in list_projects()] == ["Demo - Big Buck Bunny", "Season 1"]
    assert at.session_state["project"] == "season-1" and at.title[0].value == "Season 1"
    at.sidebar.text_input[0].input("   ")
    next(b for b in at.sidebar.button if b.label == "Create project").click()
    at.run()
    assert not at.exception and "needs a name" in at.error[0].value
    p2 = Project.create("Season 2")
    at.run()
    at.sidebar.selectbox(key="project_picker").select(p2.slug)
    at.run()
    assert at.title[0].value == "Season 2"
    at.sidebar.text_input[0].input("season 1")
    next(b for b in at.sidebar.button if b.label == "Create project").click()
    at.run()
    assert "exists already" in at.error[0].value
