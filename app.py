"""Screen Time dashboard: from a video to minutes per character, in the browser.

    python -m streamlit run app.py

Pages live in ``pages/``; every page calls ``core/`` (the project store is ``core/project.py``).
"""

from __future__ import annotations

import streamlit as st

from pages import common

st.set_page_config(page_title="Screen Time", page_icon="🎬", layout="wide")

PAGES = {
    "Your video": [
        st.Page("pages/video.py", title="Video", icon=":material/movie:", url_path="video", default=True),
        st.Page("pages/label.py", title="Label", icon=":material/label:", url_path="label"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
        st.Page("pages/results.py", title="Results", icon=":material/bar_chart:", url_path="results"),
        st.Page("pages/people.py", title="People", icon=":material/face:", url_path="people"),
    ],
}

st.session_state["_in_app"] = True
common.sidebar_projects()
st.navigation(PAGES).run()
