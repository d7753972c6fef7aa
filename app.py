"""Screen Time dashboard: from a video to minutes per character, in the browser.

    python -m streamlit run app.py

Pages live in ``pages/`` (their list is ``pages/common.py``'s ``PAGES``); every page calls ``core/``.
"""

from __future__ import annotations

import streamlit as st

from pages import common

st.set_page_config(page_title="Screen Time", page_icon="🎬", layout="wide")

ALL = [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=i == 0)
       for i, p in enumerate(common.PAGES)]
PAGES = {"Your video": ALL}

st.session_state["_in_app"] = True
common.sidebar_projects()
page = st.navigation(PAGES)
wanted = common.bookmarked_page()  # a bookmark opened before the server knew app.py's pages
if wanted and wanted != page.url_path:
    st.switch_page(next(p for p in ALL if p.url_path == wanted))
page.run()
common.sidebar_jobs()
