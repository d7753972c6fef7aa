"""What every page shares: the page list, the open project, friendly errors, progress with time left, the
one-heavy-job-per-server lock, navigation hints.

Not a page itself (app.py's navigation does not list it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

import streamlit as st

from core import ScreenTimeError, Timeline, mmss
from core.demo import first_project
from core.export import report_dict, screen_time_csv, segments_csv, srt
from core.progress import ProgressCallback, report
from core.project import Project, Video, list_projects

log = logging.getLogger("screentime.dashboard")


@dataclass(frozen=True)
class PageSpec:
    """One page of the dashboard: the navigation (app.py) and the page links are made from this list."""

    title: str
    path: str
    icon: str
    url_path: str


#: Every page, in the order of the navigation; the first is the default.
PAGES = (
    PageSpec("Video", "pages/video.py", ":material/movie:", "video"),
    PageSpec("Label", "pages/label.py", ":material/label:", "label"),
    PageSpec("Train", "pages/train.py", ":material/model_training:", "train"),
    PageSpec("Results", "pages/results.py", ":material/bar_chart:", "results"),
    PageSpec("People", "pages/people.py", ":material/face:", "people"),
)
PAGE_PATHS = {p.title: p.path for p in PAGES}

#: One heavy job (sampling a video, finding faces) at a time per server process: two at once on 2 cores
#: would each take twice as long and hold twice the memory. Others wait their turn (and may cancel).
HEAVY_JOB = threading.Lock()


@contextlib.contextmanager
def heavy_job(progress: Optional[ProgressCallback] = None) -> Iterator[None]:
    """Wait for the server's heavy-job lock (reporting "waiting", so the callback may cancel), hold it."""
    while not HEAVY_JOB.acquire(timeout=0.5):
        report(progress, "waiting", 0, 0)
    try:
        yield
    finally:
        HEAVY_JOB.release()
UNEXPECTED = ("Something went wrong that Screen Time did not expect. Your labels are saved: reload the page "
              "and try again, and if it happens again, tell whoever set up Screen Time for you.")


@contextlib.contextmanager
def friendly(what: str = "") -> Iterator[None]:
    """Show an engine error as its one sentence (st.error), an unexpected one as a calm general sentence; the
    details go to the server log, never to the page."""
    try:
        yield
    except ScreenTimeError as exc:
        st.error(str(exc), icon=":material/error:")
    except Exception:  # noqa: BLE001 - the user must never see a traceback (st.rerun etc. are BaseException)
        log.exception("unexpected error%s", f" while {what}" if what else "")
        st.error(UNEXPECTED, icon=":material/error:")


def page_setup() -> None:
    """Call first on every page. A server's very first request for a page URL (e.g. a bookmark of /label)
    runs that page file alone, in Streamlit's old pages-folder mode; send it through app.py instead, so the
    sidebar and navigation are there."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state.get("_in_app"):
        st.switch_page("app.py")


def project() -> Project:
    """The project this browser session works on (the demo on a fresh start)."""
    slug = st.session_state.get("project")
    if slug:
        try:
            return Project.open(slug)
        except ScreenTimeError:
            st.session_state.pop("project", None)
    p = first_project()
    st.session_state["project"] = p.slug
    return p


def _picked_project() -> None:
    st.session_state["project"] = st.session_state["project_picker"]
    st.session_state.pop("video_id", None)


def sidebar_projects() -> None:
    """Project picker and 'new project' form in the sidebar (shown on every page)."""
    with friendly("opening the project"):
        p = project()
        found = list_projects()
        slugs = [s for s, _ in found]
        names = dict(found)
        with st.sidebar:
            st.markdown("### :material/movie: Screen Time")
            st.session_state["project_picker"] = p.slug  # the project in use wins over a stale browser value
            st.selectbox("Project", slugs, format_func=lambda s: names.get(s, s), key="project_picker",
                         on_change=_picked_project,
                         help="Everything you do is saved in the project at once. Several projects can live "
                              "side by side.")
            with st.popover("New project", icon=":material/add:", width="stretch"), \
                    st.form("new_project", clear_on_submit=True, border=False):
                name = st.text_input("Name of the new project", placeholder="e.g. Season 1")
                if st.form_submit_button("Create project", type="primary"):
                    with friendly("creating a project"):
                        newp = Project.create(name)
                        st.session_state["project"] = newp.slug
                        st.session_state.pop("video_id", None)
                        if _in_app():  # a new project starts with a video
                            st.switch_page(PAGE_PATHS["Video"])
                        st.rerun()
            if p.get_setting("demo") == "1":
                st.caption("This demo uses a minute of *Big Buck Bunny* (c) 2008 Blender Foundation, "
                           "www.bigbuckbunny.org, CC-BY 3.0. Create a new project for your own videos.")


def video_picker(p: Project, label: str = "Video", only_sampled: bool = False,
                 container: Optional[st.delta_generator.DeltaGenerator] = None) -> Optional[Video]:
    """A select box of the project's videos, remembered across pages; None when there is none."""
    vids = [v for v in p.videos() if v.has_features or not only_sampled]
    if not vids:
        return None
    ids = [v.id for v in vids]
    names = {v.id: v.name for v in vids}
    if st.session_state.get("video_id") not in ids:
        st.session_state["video_id"] = ids[0]
    if len(vids) == 1:
        return vids[0]
    key = f"pick_video_{label}"
    st.session_state[key] = st.session_state["video_id"]  # the video in use wins over a stale browser value
    (container or st).selectbox(label, ids, format_func=lambda i: names[i], key=key, on_change=_picked_video,
                                args=(key,))
    return next(v for v in vids if v.id == st.session_state["video_id"])


def _picked_video(key: str) -> None:
    st.session_state["video_id"] = st.session_state[key]


def next_step(text: str, page: str, icon: str = ":material/arrow_forward:") -> None:
    """Tell the user what to do next, with a link to the page."""
    st.page_link(PAGE_PATHS[page], label=text, icon=icon) if _in_app() else st.info(text, icon=icon)


def _in_app() -> bool:
    """True when pages are reached through app.py's navigation (page links need it)."""
    return bool(st.session_state.get("_in_app"))


class Progress:
    """A progress bar with a stage sentence and the time left, fed by the core's (stage, done, total) callback
    in the script thread."""

    STAGES = {"saving": "Saving the video", "loading network": "Getting the picture-recognition network ready",
              "features": "Looking at the frames", "decode": "Reading the video", "training": "Learning",
              "waiting": "Waiting for another job on this computer to finish"}

    def __init__(self, title: str) -> None:
        self.bar = st.progress(0.0, text=title)
        self.t0 = time.monotonic()
        self.stage = ""
        self.stage_t0 = self.t0
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != self.stage:
            self.stage, self.stage_t0 = stage, now
        if now - self.last < 0.2 and not (total and done >= total):
            return
        self.last = now
        words = self.STAGES.get(stage, stage.capitalize())
        if total and total > 0:
            frac = min(done / total, 1.0)
            left = ""
            elapsed = now - self.stage_t0
            if 0 < frac < 1 and elapsed > 1.5:
                left = f" - about {mmss(elapsed * (1 - frac) / frac)} left"
            unit = " MB" if stage == "saving" else ""
            d, t = (done / 1e6, total / 1e6) if unit else (done, total)
            self.bar.progress(frac, text=f"{words}: {d:,.0f} of {t:,.0f}{unit}{left}")
        else:
            self.bar.progress(0.0, text=f"{words}...")

    def done(self, text: str) -> None:
        self.bar.progress(1.0, text=text)


def thumb_caption(t: float) -> str:
    return mmss(t) if t == int(t) else f"{mmss(int(t))}.{int(round((t % 1) * 10))}"


def no_project_videos(p: Project) -> None:
    st.info("This project has no video yet.", icon=":material/movie:")
    next_step("Add a video on the Video page", "Video")


def downloads(tl: Timeline, meta: dict[str, Any], stem: str, key: str) -> None:
    """The four download buttons of a timeline: screen time and appearances (CSV), report (JSON), subtitles."""
    st.subheader("Download")
    d1, d2, d3, d4 = st.columns(4)
    d1.download_button("Screen time (CSV)", screen_time_csv(tl), f"{stem}_screen_time.csv", "text/csv",
                       key=f"{key}_csv", icon=":material/download:")
    d2.download_button("Appearances (CSV)", segments_csv(tl), f"{stem}_segments.csv", "text/csv",
                       key=f"{key}_seg", icon=":material/download:")
    d3.download_button("Full report (JSON)", json.dumps(report_dict(tl, meta), indent=1, default=str),
                       f"{stem}_report.json", "application/json", key=f"{key}_json", icon=":material/download:")
    d4.download_button("Subtitles (SRT)", srt(tl), f"{stem}_screen_time.srt", "text/plain", key=f"{key}_srt",
                       icon=":material/subtitles:")
