"""Probing and sampling videos: exact frame rates, decoder timestamps, and one clear error per bad file."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from synth import make_video

from core import config
from core.errors import VideoError
from core.video import SampleReader, probe_video, read_frame_at


@pytest.mark.parametrize("fps, expected", [
    pytest.param(10, Fraction(10), id="10fps"),
    pytest.param(25, Fraction(25), id="25fps"),
    pytest.param(30000 / 1001, Fraction(30000, 1001), id="29.97fps-stays-30000/1001"),
    pytest.param(24000 / 1001, Fraction(24000, 1001), id="23.976fps"),
])
def test_frame_rate_is_an_exact_fraction(tmp_path: Path, fps: float, expected: Fraction) -> None:
    info = probe_video(make_video(tmp_path / "v.mp4", {}, 3.0, fps=fps))
    assert info.fps == expected
    assert (info.width, info.height) == (192, 108)
    assert info.frame_count == round(3.0 * fps)


def test_samples_are_at_every_step_with_decoder_timestamps(tmp_path: Path) -> None:
    path = make_video(tmp_path / "v.mp4", {"Red": [(0, 12)]}, 12.0, fps=10)
    reader = SampleReader(path, every=1.0)
    samples = list(reader)
    assert [s.time_s for s in samples] == [float(t) for t in range(12)]
    assert all(abs(s.frame_time_s - s.time_s) < 1e-6 for s in samples)
    assert samples[0].frame.shape == (108, 192, 3) and samples[0].frame.dtype == np.uint8
    assert reader.end_s == pytest.approx(12.0)
    assert reader.frames_decoded == 120


def test_half_second_steps(tmp_path: Path) -> None:
    path = make_video(tmp_path / "v.mp4", {}, 5.0, fps=10)
    assert [s.time_s for s in SampleReader(path, every=0.5)] == [k * 0.5 for k in range(10)]


def test_ntsc_rate_takes_the_frame_on_screen(tmp_path: Path) -> None:
    """At 30000/1001 fps the frame on screen at t = 1 s is frame 29 (0.968 s), not frame 30 (1.001 s).
    120 frames last 4.004 s, so t = 4 s is still inside the video (frame 119)."""
    path = make_video(tmp_path / "v.mp4", {}, 4.0, fps=30000 / 1001)
    times = [round(s.frame_time_s, 4) for s in SampleReader(path, every=1.0)]
    assert times == [round(i * 1001 / 30000, 4) for i in (0, 29, 59, 89, 119)]


@pytest.mark.parametrize("every, t, grey", [
    pytest.param(1.0, 5.0, 50, id="10fps-part"),
    pytest.param(1.0, 9.0, 90, id="2fps-part-on-a-frame"),
    pytest.param(1.0, 15.0, 150, id="5fps-part"),
    pytest.param(0.25, 7.75, 77, id="between-frames-takes-the-one-on-screen"),
    pytest.param(0.25, 9.25, 90, id="inside-a-held-frame"),
    pytest.param(0.25, 14.5, 144, id="5fps-between"),
    pytest.param(0.25, 8.25, 80, id="where-frames-slow-down-the-frame-still-on-screen"),
    pytest.param(0.25, 14.25, 142, id="where-frames-speed-up-not-the-frame-before"),
])
def test_variable_frame_rate_uses_timestamps(vfr_video: Path, every: float, t: float, grey: int) -> None:
    """A frame-counting reader would put 9 s at frame 90 of a 10 fps stream, i.e. at 8 + 10/2... = wrong."""
    samples = {s.time_s: s for s in SampleReader(vfr_video, every=every)}
    assert int(samples[t].frame[5, 5, 0]) == pytest.approx(grey, abs=1)


def test_variable_frame_rate_length(vfr_video: Path) -> None:
    reader = SampleReader(vfr_video, every=1.0)
    assert len(list(reader)) == 20
    assert reader.end_s == pytest.approx(20.0)


def test_frames_nothing_refers_to_are_not_decoded_and_the_samples_are_unchanged() -> None:
    """The demo clip is H.264 with B-frames. Sampling it once a second decodes far fewer frames than it has,
    and every sample is the very frame a decoder reading every frame shows at that moment."""
    clip = Path(__file__).resolve().parent.parent / "demo" / "bbb_demo.mp4"
    reader = SampleReader(clip, every=1.0)
    samples = list(reader)
    info = reader.info
    assert len(samples) == 60 and reader.end_s == pytest.approx(60.0)
    assert reader.frames_decoded < 0.7 * info.frame_count
    cap = cv2.VideoCapture(str(clip))
    every_frame = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        every_frame.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    assert len(every_frame) == info.frame_count
    for s in samples:
        on_screen = every_frame[int(s.time_s * 24 + 1e-6)]   # 24 fps, first frame at 0
        assert s.frame_time_s == pytest.approx(s.time_s)
        assert np.array_equal(s.frame, on_screen), f"sample at {s.time_s} s differs from the frame on screen"


@pytest.mark.parametrize("clip, every", [
    pytest.param(Path(__file__).parent / "data" / "vfr.mp4", 0.25, id="variable-frame-rate"),
    pytest.param(Path(__file__).parent / "data" / "short_hamilton_clip.mp4", 0.5, id="29.97fps-late-start"),
])
def test_one_frame_read_by_seeking_is_the_sampled_frame(clip: Path, every: float) -> None:
    """The Label page shows read_frame_at(t): it must be the frame the moment was sampled (and embedded) from."""
    for s in SampleReader(clip, every):
        assert np.array_equal(read_frame_at(clip, s.time_s), s.frame), f"differs at {s.time_s} s"


def test_reading_a_frame_of_a_text_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="not a video we can read"):
        read_frame_at(_text(tmp_path / "notes.mp4"), 1.0)


def _text(p: Path) -> Path:
    p.write_text("this is not a video\n" * 50)
    return p


def _empty(p: Path) -> Path:
    p.write_bytes(b"")
    return p


def _no_frames(p: Path) -> Path:
    w = cv2.VideoWriter(str(p.with_suffix(".avi")), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64))
    w.release()
    return p.with_suffix(".avi")


def _truncated_mp4(p: Path) -> Path:
    full = make_video(p.with_name("full.mp4"), {}, 10.0)
    p.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return p


def _truncated_avi(p: Path) -> Path:
    full = make_video(p.with_name("full.avi"), {}, 20.0, fourcc="MJPG")
    out = p.with_suffix(".avi")
    out.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return out


def _missing(p: Path) -> Path:
    return p.with_name("no-such-file.mp4")


def _folder(p: Path) -> Path:
    p.mkdir()
    return p


@pytest.mark.parametrize("make, words", [
    pytest.param(_text, "not a video", id="text-file-named-mp4"),
    pytest.param(_empty, "empty (0 bytes)", id="zero-length"),
    pytest.param(_no_frames, "no video frames", id="container-without-frames"),
    pytest.param(_truncated_mp4, "incomplete", id="truncated-mp4-without-index"),
    pytest.param(_truncated_avi, "truncated", id="truncated-avi"),
    pytest.param(_missing, "There is no file", id="missing"),
    pytest.param(_folder, "is a folder", id="folder"),
])
def test_bad_files_raise_one_clear_error(tmp_path: Path, make, words: str) -> None:
    path = make(tmp_path / "bad.mp4")
    with pytest.raises(VideoError) as err:
        info = probe_video(path)
        list(SampleReader(path, 1.0, info))
    msg = str(err.value)
    assert words in msg
    assert "\n" not in msg and msg.endswith(".")


def test_huge_file_is_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_video(tmp_path / "v.mp4", {}, 2.0)
    monkeypatch.setattr(config, "MAX_VIDEO_BYTES", 1000)
    with pytest.raises(VideoError, match="larger than"):
        probe_video(path)


def test_every_must_be_positive(two_video: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        SampleReader(two_video, every=0)


def _encode(path: Path, codec: str, params: str, frames: int = 192, fps: int = 24) -> Path:
    """A moving, noisy 64x48 clip with keyframes every 10 frames and B-frames: any frame decoded from the
    wrong references shows different pixels."""
    import av

    rng = np.random.default_rng(7)
    ramp = np.linspace(0, 200, 64)[None, :, None]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {f"{codec[3:]}-params": f"keyint=10:min-keyint=10:scenecut=0:bframes=2:{params}"}
        for i in range(frames):
            img = np.clip(np.roll(ramp + rng.integers(0, 50, (48, 64, 3)), 2 * i, axis=1), 0, 255)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _every_frame_on_screen(path: Path, times: list[float]) -> list[np.ndarray]:
    """The frame shown at each time, by a decoder that decodes every frame."""
    import av

    shown, out = None, []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            while (shown is not None and len(out) < len(times)
                   and float(frame.pts * stream.time_base) > times[len(out)] + 1e-3):
                out.append(shown.to_ndarray(format="rgb24"))
            shown = frame
    return out + [shown.to_ndarray(format="rgb24")] * (len(times) - len(out))


@pytest.mark.parametrize("codec, params, clean", [
    pytest.param("libx264", "", True, id="h264-closed-gops"),
    pytest.param("libx264", "open-gop=1", False, id="h264-open-gops"),
    pytest.param("libx265", "open-gop=0:log-level=none", True, id="hevc-closed-gops"),
    pytest.param("libx265", "open-gop=1:log-level=none", False, id="hevc-open-gops"),
])
def test_frames_after_the_last_sample_of_a_gop_are_not_decoded_when_the_next_starts_clean(
        tmp_path: Path, codec: str, params: str, clean: bool) -> None:
    """Before an IDR keyframe nothing later refers back, so the frames after a GOP's last needed one are left
    out. An open GOP (frames shown before its keyframe decode from the GOP before) keeps them. Either way every
    sample is the frame a decoder reading every frame shows."""
    path = _encode(tmp_path / "v.mp4", codec, params)
    reader = SampleReader(path, every=1.3)
    samples = list(reader)
    assert [s.time_s for s in samples] == pytest.approx([k * 1.3 for k in range(7)])
    for s, expected in zip(samples, _every_frame_on_screen(path, [s.time_s for s in samples])):
        assert np.array_equal(s.frame, expected), f"sample at {s.time_s} s differs from the frame on screen"
    assert reader.end_s == pytest.approx(8.0)
    # 7 samples in GOPs of 10 frames: at most 7 GOPs' beginnings are decoded when GOPs start clean.
    assert (reader.frames_decoded <= 7 * 10) == clean, reader.frames_decoded
