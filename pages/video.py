"""Video page: add a video (streamed to disk), see what it is, sample it (in the background) and look at its
frames."""

from __future__ import annotations

import streamlit as st

from core import mmss, predict_project, sample_video
from core.features import FeatureSet
from core.jobs import features_ready, sampling_estimate_s
from core.project import VIDEO_EXTENSIONS, Project, Video
from pages import common, jobs


def upload_ui(p: Project) -> None:
    n = st.session_state.setdefault("uploads", 0)
    up = st.file_uploader("Add a video to this project", type=list(VIDEO_EXTENSIONS), key=f"uploader_{p.slug}_{n}",
                          help=f"MP4, MOV, MKV, AVI or WEBM, up to {upload_limit()}. A browser upload is held in "
                               "memory while it arrives: add a larger file from this computer's disk below. "
                               "Episodes of one series can share a project.")
    from_disk_ui(p)
    if up is None:
        return
    token = f"{up.file_id}:{up.name}:{up.size}"
    if st.session_state.get("uploaded_token") == token:
        return
    st.session_state["uploaded_token"] = token
    with common.friendly("adding a video"):
        before = {x.id for x in p.videos()}
        bar = common.Progress("Saving the video...")
        v = p.import_video(up, up.name, progress=bar, size=up.size)
        bar.done("Saved.")
        st.session_state["uploads"] = n + 1  # an empty upload box for the next video
        added(p, v, v.id in before, up.name)


def upload_limit() -> str:
    """The browser upload limit in words, from `.streamlit/config.toml` (server.maxUploadSize, megabytes)."""
    mb = int(st.get_option("server.maxUploadSize"))
    return f"{mb / 1024:g} GB" if mb >= 1024 else f"{mb} MB"


def from_disk_ui(p: Project) -> None:
    """The way in for a film too large to upload: a path on the computer that runs Screen Time, copied to the
    project in chunks (a browser upload is held whole in the server's memory first)."""
    with st.expander("Or add a video that is already on this computer (any size)"):
        with st.form(f"from_disk_{p.slug}", clear_on_submit=True, border=False):
            path = st.text_input("Full path of the video", placeholder="/home/me/Videos/episode-01.mp4")
            if not st.form_submit_button("Add", icon=":material/add:"):
                return
        with common.friendly("adding a video"):
            before = {x.id for x in p.videos()}
            bar = common.Progress("Copying the video...")
            v = p.import_file(path, progress=bar)
            bar.done("Copied.")
            added(p, v, v.id in before, path)


def added(p: Project, v: Video, known: bool, given: str) -> None:
    """Open the video just added and say what happened (nothing is added twice)."""
    st.session_state["video_id"] = v.id
    if known:
        st.session_state["flash_info"] = (f"{given} is already in this project (as {v.name}, the same file): "
                                          "nothing was added.")
    elif p.get_setting("kind") == "people":  # live action: the faces are found on the People page
        st.session_state["flash"] = f"Added {v.name}. Next: find the people in it on the People page."
    else:
        st.session_state["flash"] = f"Added {v.name}. Choose how often to look at it below, then press Sample."
    st.rerun()


def start_sampling(p: Project, v: Video, every: float) -> None:
    """Sample in the background; the sidebar and this page show how far it is."""
    estimate, _ = sampling_estimate_s(p, v.id, every)

    def finish(fs: FeatureSet) -> str:
        m = p.latest_model()
        if m is not None:
            predict_project(p, m)
        return f"{v.name} is ready: {len(fs)} frames. Go to Label and tick who is visible in some of them."

    jobs.start(p, "sample", f"Sampling {v.name}",
               lambda progress: sample_video(p, v.id, every, progress=progress), finish, estimate)


def estimate_words(p: Project, v: Video, every: float) -> str:
    n = max(1, int(v.duration_s / every))
    if features_ready(p, v.id, every):
        return (f"That is about {n:,} frames. This computer has looked at this video before (in this or another "
                "project), so it is ready in a moment.")
    seconds, measured = sampling_estimate_s(p, v.id, every)
    how = "measured on this computer" if measured else "a first guess: it is measured on the first video"
    return (f"That is about {n:,} frames and takes about {mmss(seconds)} ({how}). It runs in the background: "
            "you can go on to other pages meanwhile, and it is never done twice for the same video.")


def video_ui() -> None:
    common.page_setup()
    st.title("Video")
    st.caption("Add a video, then let Screen Time look at it every second or so. "
               "Next you will tick who is on screen in some of those frames.")
    with common.friendly("opening the project"):
        p = common.project()
        if msg := st.session_state.pop("flash", None):
            st.success(msg, icon=":material/check_circle:")
        if msg := st.session_state.pop("flash_info", None):
            st.info(msg, icon=":material/info:")
        upload_ui(p)
        v = common.video_picker(p, "Video to work on")
        if v is None:
            st.info("This project has no video yet: add one above.", icon=":material/movie:")
            return
        st.subheader(v.name)
        c = st.columns(4)
        c[0].metric("Length", mmss(v.duration_s))
        c[1].metric("Frame rate", f"{v.fps:.3g} per second")
        c[2].metric("Picture size", f"{v.width} x {v.height}")
        c[3].metric("File size", f"{v.size_bytes / 1e6:,.1f} MB")

        moments = p.moments(v)
        if moments is not None:
            st.success(f"Ready: {len(moments)} frames, one every {v.every:g} s.", icon=":material/check_circle:")
            first = p.thumb(v, 0.0)
            if first is not None:
                st.image(str(first), width=320, caption="The first sampled frame")
        else:
            st.info("Not sampled yet: choose how often to look at the video and press Sample.", icon=":material/info:")

        with st.container(border=True):
            st.markdown("**How often should Screen Time look at the video?**")
            every = st.select_slider("One frame every", options=[0.5, 1.0, 2.0, 3.0, 5.0],
                                     value=float(v.every or 1.0), format_func=lambda s: f"{s:g} s", key="every",
                                     help="Every second is right for most videos. Look less often for long films.")
            st.caption(estimate_words(p, v, every))
            busy = jobs.current(p)
            label = "Sample again" if moments is not None and v.every == every else "Sample"
            if st.button(label, type="primary", key="sample", icon=":material/play_arrow:",
                         disabled=busy is not None and busy.running):
                start_sampling(p, v, every)
                st.rerun()
            common.job_box(p, ("sample",))

        if p.get_setting("kind") == "people":
            common.next_step("Next: find the people on the People page", "People")
        elif moments is not None:
            common.next_step("Next: tick who is on screen on the Label page", "Label")

        with st.expander("All videos of this project"):
            rows = [{"Video": x.name, "Length": mmss(x.duration_s), "Frames": x.n_moments or 0,
                     "Sampled": f"every {x.every:g} s" if x.every else "not yet"} for x in p.videos()]
            st.dataframe(rows, hide_index=True, width="stretch")
            sure = st.checkbox(f"I want to remove {v.name} and its labels from this project", key="confirm_remove")
            if sure and st.button("Remove this video", key="remove_video"):
                p.remove_video(v.id)
                st.session_state.pop("video_id", None)
                st.session_state["flash"] = f"Removed {v.name}."
                st.rerun()


video_ui()
