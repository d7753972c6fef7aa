"""Video page: add a video (streamed to disk), see what it is, sample it and look at its frames."""

from __future__ import annotations

import streamlit as st

from core import mmss, predict_project, sample_video
from core.project import VIDEO_EXTENSIONS, Project
from pages import common

FRAMES_PER_S = 6.0  # how fast this kind of computer looks at frames (VGG16 on 2 CPU cores)


def upload_ui(p: Project) -> None:
    n = st.session_state.setdefault("uploads", 0)
    up = st.file_uploader("Add a video to this project", type=list(VIDEO_EXTENSIONS), key=f"uploader_{n}",
                          help="MP4, MOV, MKV, AVI or WEBM, up to 4 GB. Episodes of one series can share a project.")
    if up is None:
        return
    token = f"{up.file_id}:{up.name}:{up.size}"
    if st.session_state.get("uploaded_token") == token:
        return
    st.session_state["uploaded_token"] = token
    with common.friendly("adding a video"):
        bar = common.Progress("Saving the video...")
        v = p.import_video(up, up.name, progress=bar, size=up.size)
        bar.done("Saved.")
        st.session_state["video_id"] = v.id
        st.session_state["uploads"] = n + 1  # an empty upload box for the next video
        st.session_state["flash"] = f"Added {v.name}. Choose how often to look at it below, then press Sample."
        st.rerun()


def video_ui() -> None:
    common.page_setup()
    st.title("Video")
    st.caption("Add a video, then let Screen Time look at it every second or so. "
               "Next you will tick who is on screen in some of those frames.")
    with common.friendly("opening the project"):
        p = common.project()
        if msg := st.session_state.pop("flash", None):
            st.success(msg, icon=":material/check_circle:")
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
            n = max(1, int(v.duration_s / every))
            st.caption(f"That is about {n:,} frames and takes about {mmss(n / FRAMES_PER_S)} on this computer "
                       "the first time (results are kept, so it never has to be done twice).")
            label = "Sample again" if moments is not None and v.every == every else "Sample"
            if st.button(label, type="primary", key="sample", icon=":material/play_arrow:"):
                bar = common.Progress("Starting...")
                with common.heavy_job(bar):
                    fs = sample_video(p, v.id, every, progress=bar)
                bar.done(f"Done: {len(fs)} frames ready.")
                m = p.latest_model()
                if m is not None:
                    predict_project(p, m)
                st.session_state["flash"] = (f"{v.name} is ready: {len(fs)} frames. "
                                             "Go to Label and tick who is visible in some of them.")
                st.rerun()

        if moments is not None:
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
