"""What every page shares: the page list, the open project, friendly errors, progress with time left, the
one-heavy-job-per-server lock, the background jobs' progress (sidebar and page), navigation hints, character
pictures.

Not a page itself (app.py's navigation does not list it).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import streamlit as st

from core import ScreenTimeError, Timeline, mmss, train_project
from core.demo import first_project
from core.export import report_dict, screen_time_csv, segments_csv, srt
from core.jobs import not_mirrored, training_estimate_s
from core.progress import ProgressCallback, report
from core.project import Character, ModelRecord, Project, Video, list_projects
from pages import jobs

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
    PageSpec("Start", "pages/start.py", ":material/home:", "start"),
    PageSpec("Video", "pages/video.py", ":material/movie:", "video"),
    PageSpec("Label", "pages/label.py", ":material/label:", "label"),
    PageSpec("Train", "pages/train.py", ":material/model_training:", "train"),
    PageSpec("Results", "pages/results.py", ":material/bar_chart:", "results"),
    PageSpec("Series", "pages/series.py", ":material/video_library:", "series"),
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
        caller = Path(inspect.stack()[1].filename).name
        st.session_state["_bookmark"] = next((p.url_path for p in PAGES if Path(p.path).name == caller), "")
        st.switch_page("app.py")  # app.py then opens the bookmarked page (see bookmarked_page)


def bookmarked_page() -> Optional[str]:
    """The url_path of the page a bookmark asked for before app.py took over (see page_setup), once."""
    return st.session_state.pop("_bookmark", None) or None


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
    st.session_state["uploads"] = st.session_state.get("uploads", 0) + 1  # an empty upload box in the new project


def _create_project() -> None:
    """The 'Create project' button: make it, open it, close the popover, say so."""
    try:
        newp = Project.create(st.session_state.get("new_project_name", ""))
    except ScreenTimeError as exc:
        st.session_state["new_project_error"] = str(exc)
        return
    if st.session_state.get("start_kind") in KINDS:  # the Start page's answer, cartoon or live action
        newp.set_setting("kind", st.session_state["start_kind"])
    st.session_state["project"] = newp.slug
    st.session_state.pop("video_id", None)
    st.session_state["uploads"] = st.session_state.get("uploads", 0) + 1
    st.session_state["new_project_name"] = ""
    st.session_state["projects_created"] = st.session_state.get("projects_created", 0) + 1  # the popover closes
    st.session_state["project_flash"] = f"Created the project {newp.name}. Add its first video on the Video page."
    st.session_state["_created"] = True


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
            # Its open state stays in the browser (a stateful popover opened on the default page's first run
            # closed again at once: the first click did nothing); a created project gives it a new key, so
            # it comes back closed.
            with st.popover("New project", icon=":material/add:", width="stretch",
                            key=f"new_project_{st.session_state.get('projects_created', 0)}"), \
                    st.form("new_project", border=False):
                st.text_input("Name of the new project", placeholder="e.g. Season 1", key="new_project_name")
                st.form_submit_button("Create project", type="primary", on_click=_create_project)
            if err := st.session_state.pop("new_project_error", None):  # below the button: the box may close
                st.error(err, icon=":material/error:")
            if msg := st.session_state.pop("project_flash", None):
                st.success(msg, icon=":material/check_circle:")
            if st.session_state.pop("_created", False) and _in_app():  # a new project starts with a video
                st.session_state["project_flash"] = msg
                st.switch_page(PAGE_PATHS["Video"])
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

    STAGES = jobs.STAGES  # the same words as the background jobs'

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


# ---- the way in: what a newcomer does next (the Start page) ------------------------------------------------
KINDS = {"characters": "Cartoon, puppets or animals: characters I teach it",
         "people": "Live action: real people, found by their faces"}
STEPS = {
    "characters": ["**Add a video** and let Screen Time look at it, one frame a second.",
                   "**Teach it who is who**: tick who is visible in a few dozen frames, then press Train.",
                   "**Read the minutes**: screen time per character, when they appear, and files to download."],
    "people": ["**Add a video**.",
               "**Let it find the faces** and group them into people; name each group (or give a photo).",
               "**Read the minutes**: screen time per person, when they appear, and files to download."],
}


def next_click(p: Project, kind: str) -> tuple[str, str]:
    """Where a newcomer goes from here: (sentence, page)."""
    videos = p.videos()
    if not videos:
        return "Step 1: add your video on the Video page", "Video"
    if kind == "people":
        return "Step 2: find the people on the People page", "People"
    if not any(v.has_features for v in videos):
        return "Step 1: let Screen Time look at your video on the Video page", "Video"
    if p.label_counts().frames < 8 or not p.characters():
        return "Step 2: name the characters and tick who is visible on the Label page", "Label"
    m = p.latest_model()
    if m is None or p.changed_since(m):
        return "Step 2: train the model on the Train page", "Train"
    return "Step 3: see the screen time on the Results page", "Results"


# ---- background jobs: their progress on every page --------------------------------------------------------
REFRESH_S = 1.0  # how often a running job's progress is redrawn
SHOW_END_S = 300.0  # how long the pages keep saying how the last job ended (unless dismissed)


def _job_live(p: Project, job_id: int, where: str) -> None:
    """The progress bar and Cancel button of a running job; when it ends, the whole page reruns to show
    what it made."""
    job = jobs.current(p)
    if job is None or job.id != job_id or not job.running:
        st.rerun()
    assert job is not None
    st.progress(job.fraction(), text=f"**{job.title}** · {job.text()}")
    if job.cancel_requested.is_set():
        st.caption("Stopping at the next step...")
    else:
        st.button("Cancel", key=f"cancel_job_{where}", icon=":material/stop_circle:", on_click=jobs.cancel,
                  args=(p,), help="Stops this job; nothing half-done is kept.")


def job_box(p: Project, kinds: tuple[str, ...] = (), where: str = "page") -> Optional[jobs.Job]:
    """Show the project's background job (all kinds, or only ``kinds``): live progress while it runs, its
    closing sentence for a few minutes after (in the sidebar until OK is pressed or its own page has said
    it). Returns the running job, if any."""
    job = jobs.current(p)
    if job is None or (kinds and job.kind not in kinds):
        return None
    if job.running:
        st.fragment(run_every=REFRESH_S, key=f"job_{where}")(_job_live)(p, job.id, where)
        return job
    dismissed: set[int] = st.session_state.setdefault("jobs_dismissed", set())
    seen_by_page: set[int] = st.session_state.setdefault("jobs_seen_page", set())
    if job.id in dismissed or time.monotonic() - job.finished > SHOW_END_S:
        return None
    if where == "sidebar" and job.id in seen_by_page:  # its own page has said it
        return None
    if where == "page":
        seen_by_page.add(job.id)
    {jobs.DONE: st.success, jobs.CANCELLED: st.warning}.get(job.state, st.error)(job.message, icon=":material/info:")
    if where == "sidebar":
        st.button("OK", key="dismiss_job", type="tertiary", on_click=dismissed.add, args=(job.id,))
    return None


def dismiss_job(p: Project) -> None:
    """The user acted on the page since the project's last job ended: its closing sentence has been read."""
    job = jobs.current(p)
    if job is not None and not job.running:
        st.session_state.setdefault("jobs_dismissed", set()).add(job.id)


def start_training(p: Project) -> None:
    """Train in the background (the Train and Results pages); the sidebar shows how far it is."""
    def finish(m: ModelRecord) -> str:
        n = len([v for v in p.videos() if v.has_features])
        return " ".join([f"The model is ready and has measured {n} video{'s' if n != 1 else ''}.",
                         *not_mirrored(m.dir)])

    jobs.start(p, "train", "Training", lambda progress: train_project(p, progress=progress), finish,
               training_estimate_s(p))


def start_finding_people(p: Project, v: Video, every: float, detector: str) -> None:
    """Find the people of a video in the background (for the People page): the same runner as sampling."""
    from core.faces.people import plural
    from core.faces.project_people import ProjectPeople  # dlib and friends only when faces are wanted

    def finish(r: Any) -> str:
        text = (f"Found {plural(len(r.faces), 'face')} in {v.name}: {plural(len(r.people), 'person', 'people')} "
                "counted" + (f", {plural(len(r.unsure), 'face')} for you to decide" if r.unsure else "") + ".")
        known = [x.name for x in r.people if x.status == "named"]
        return text + (" Recognised: " + ", ".join(known) + "." if known else "")

    jobs.start(p, "people", f"Finding the people in {v.name}",
               lambda progress: ProjectPeople(p).find(v, every, detector, progress), finish)


def out_of_date_ui(p: Project, m: ModelRecord, key: str) -> bool:
    """When labels or characters changed since ``m`` was trained: say so, offer to train again. Returns
    whether it is out of date."""
    if not p.changed_since(m):
        return False
    busy = jobs.current(p)
    with st.container(border=True):
        st.warning("Labels or characters have changed since this model was trained, so these figures are out "
                   "of date. Train again to bring them up to date (it runs in the background).",
                   icon=":material/update:")
        if st.button("Train again", key=key, type="primary", icon=":material/model_training:",
                     disabled=busy is not None and busy.running):
            with friendly("training"):
                start_training(p)
                st.rerun()
    return True


def sidebar_jobs() -> None:
    """Every page: the open project's background job in the sidebar (called after the page, which may have
    said how it ended already)."""
    with friendly("showing the background job"), st.sidebar:
        job_box(project(), where="sidebar")


#: What a project's results are of: the characters (from its model) and the people (from the People page).
CHARACTERS, PEOPLE = "Characters", "People"


def no_results_yet() -> None:
    """What the Results and Series pages say to a project with neither a model nor people found yet."""
    st.info("No results yet. For a cartoon: label a few frames and train a model. For live action: find "
            "the people on the People page.", icon=":material/info:")
    next_step("Train a model on the Train page", "Train")
    next_step("Find the people on the People page", "People", icon=":material/face:")


def results_source(has_model: bool, has_people: bool, key: str) -> str:
    """Which results a page shows: the characters (a model's), the people, or either with a switch when the
    project has both (call only when it has one of them)."""
    sources = ([CHARACTERS] if has_model else []) + ([PEOPLE] if has_people else [])
    if len(sources) > 1:
        return st.segmented_control("Results of", sources, default=sources[0], key=key) or sources[0]
    return sources[0]


def people_results(p: Project, videos: Sequence[Video]) -> dict[int, Any]:
    """The People page's result of each video where faces were looked for and someone is counted."""
    from core.faces.project_people import ProjectPeople  # dlib and friends only when faces are wanted

    pp = ProjectPeople(p)
    found = {v.id: pp.result(v) for v in videos}
    return {vid: r for vid, r in found.items() if r is not None and r.timeline.names}


def character_picture(p: Project, c: Character) -> Optional[Path]:
    """A thumbnail of one of the character's labelled frames (alone on screen if possible), for its card."""
    best: Optional[Path] = None
    for v in p.videos():
        for t, ids in sorted(p.frame_labels(v.id).items()):
            if c.id in ids:
                thumb = p.thumb(v, t)
                if thumb is not None and ids == {c.id}:
                    return thumb
                best = best or thumb
    return best


def character_cards(p: Project, chars: list[Character], columns: int = 6) -> None:
    """Each character with a picture from their labelled frames and how many frames show them."""
    counts = p.label_counts().per_character
    cols = st.columns(columns)
    for k, c in enumerate(chars):
        with cols[k % columns], st.container(border=True):
            pic = character_picture(p, c)
            if pic is not None:
                st.image(str(pic), width="stretch")
            else:
                st.caption(":material/image: no picture yet: tick them in a frame")
            st.markdown(f"**{c.name}**  \n<small>{counts.get(c.name, 0)} labelled frames</small>",
                        unsafe_allow_html=True)


def sure_words(probability: float) -> str:
    """How sure the model was of an answer (a wrong answer shown on the Train page is never "100% sure")."""
    sure = max(probability, 1 - probability)
    return "more than 99% sure" if sure > 0.99 else f"{sure:.0%} sure"


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


#: The toggle that shows where the model sees each character (Results' evidence frames, the Label page).
WHERE = "Show where the model sees each character"


def where_maps(p: Project, m: ModelRecord, v: Video, times: Sequence[float]) -> list[Any]:
    """The :class:`core.where.WhereMap` of ``times`` under model ``m``: the network runs, in the heavy-job
    turn and with a progress bar, only for frames it has not looked at before; the rest come from the cache."""
    from core import where

    if where.project_missing(p, m, v, times):
        bar = Progress("Looking where the model sees each character")
        with heavy_job(bar):
            maps = where.project_where(p, m, v, times, bar)
        bar.done("Done")
        return maps
    return where.project_where(p, m, v, times)

