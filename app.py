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
# (by PAGES' url_path: Streamlit gives the default page the url_path "")
target = next((pg for spec, pg in zip(common.PAGES, ALL) if spec.url_path == wanted), None)
if target is not None and target.url_path != page.url_path:
    st.switch_page(target)
page.run()
common.sidebar_jobs()
