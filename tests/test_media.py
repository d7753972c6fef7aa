"""Writing videos with PyAV (core.media): a cut shows at each moment the source's frame of that moment, has the
length and size asked for, bad input is one clear error, and written timestamps come back as given."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Optional

import av
import cv2
import numpy as np
import pytest

from core.errors import VideoError
from core.media import cut_clip, write_video
from core.video import SampleReader, probe_video, read_frame_at

#: Grey levels per second of ``clock_video``: 4 per frame at 10 fps, so a lossy codec's error of 1 or 2
#: cannot turn one frame into its neighbour.
GREY_PER_S = 40


def _times(path: Path) -> list[Fraction]:
    """Every frame's timestamp in seconds from the first frame, exact, as the container stores it."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        base = stream.start_time or 0
        return sorted((p.pts - base) * stream.time_base for p in container.demux(stream) if p.pts is not None)


def _grey(frame: np.ndarray) -> float:
    return float(frame.mean())


@pytest.fixture(scope="module")
def clock_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s at 10 fps, 64x48, lossless; frame k (at k/10 s) is grey 4k, so its grey level tells its time."""
    path = tmp_path_factory.mktemp("media") / "clock.mp4"
    return write_video(path, (np.full((48, 64, 3), 4 * k, np.uint8) for k in range(60)), fps=10, lossless=True)


@pytest.mark.parametrize("start, length", [
    pytest.param(0.0, 3.0, id="from-the-start"),
    pytest.param(2.0, 3.0, id="from-a-frame"),
    pytest.param(2.05, 2.0, id="from-between-frames-the-frame-on-screen-comes-first"),
    pytest.param(4.5, None, id="to-the-end"),
])
def test_each_moment_of_a_cut_shows_the_frame_the_source_shows_at_start_plus_that_moment(
        tmp_path: Path, clock_video: Path, start: float, length: Optional[float]) -> None:
    cut = cut_clip(clock_video, tmp_path / "cut.mp4", start_s=start, length_s=length)
    end = Fraction(str(start)) + Fraction(str(length)) if length is not None else Fraction(6)
    after = [Fraction(k, 10) for k in range(60) if Fraction(str(start)) < Fraction(k, 10) < end]
    assert _times(cut) == [0] + [t - Fraction(str(start)) for t in after]
    for s in SampleReader(cut, every=0.05):
        on_screen_in_source = int((start + s.time_s) * 10 + 1e-6) / 10
        assert _grey(s.frame) == pytest.approx(GREY_PER_S * on_screen_in_source, abs=1.5), f"at {s.time_s} s"


@pytest.mark.parametrize("start, length, duration", [
    pytest.param(1.0, 2.0, 2.0, id="as-asked"),
    pytest.param(4.0, None, 2.0, id="to-the-end"),
    pytest.param(5.0, 10.0, 1.0, id="more-than-there-is-ends-with-the-source"),
])
def test_a_cut_lasts_as_long_as_asked_at_the_source_frame_rate(tmp_path: Path, clock_video: Path, start: float,
                                                                length: Optional[float], duration: float) -> None:
    cut = cut_clip(clock_video, tmp_path / "cut.mp4", start_s=start, length_s=length)
    reader = SampleReader(cut, every=0.5)
    assert len(list(reader)) == round(duration * 2)
    assert reader.end_s == pytest.approx(duration)
    info = probe_video(cut)
    assert info.fps == Fraction(10) and info.frame_count == round(duration * 10)


@pytest.mark.parametrize("size, expected", [
    pytest.param(None, (64, 48), id="unscaled"),
    pytest.param((128, 96), (128, 96), id="scaled-up"),
    pytest.param((33, 25), (32, 24), id="odd-sides-become-even-as-4:2:0-needs"),
])
def test_a_cut_has_the_size_asked_for(tmp_path: Path, clock_video: Path, size: Optional[tuple[int, int]],
                                      expected: tuple[int, int]) -> None:
    cut = cut_clip(clock_video, tmp_path / "cut.mp4", start_s=1.0, length_s=1.0, size=size)
    info = probe_video(cut)
    assert (info.width, info.height) == expected
    assert _grey(read_frame_at(cut, 0.5)) == pytest.approx(GREY_PER_S * 1.5, abs=1.5)


def test_a_cut_of_a_changing_scene_matches_the_source_and_the_change_comes_on_time(tmp_path: Path,
                                                                                   two_video: Path) -> None:
    """The synthetic 60 s clip (MPEG-4 from OpenCV, moving shapes, a new scene every 4 s): cut from 10 s, it
    shows at t what the source shows at 10 + t, and the source's scene change at 12 s comes at 2 s."""
    cut = cut_clip(two_video, tmp_path / "cut.mp4", start_s=10.0, length_s=4.0)
    for t in (0.0, 1.3, 1.9, 2.0, 3.9):
        assert np.abs(read_frame_at(cut, t).astype(int) - read_frame_at(two_video, 10.0 + t)).mean() < 3.0, t
    assert np.abs(read_frame_at(cut, 2.0).astype(int) - read_frame_at(cut, 1.9)).mean() > 30


def test_a_scaled_cut_looks_like_the_scaled_source(tmp_path: Path, two_video: Path) -> None:
    cut = cut_clip(two_video, tmp_path / "cut.mp4", start_s=20.0, length_s=1.0, size=(96, 54), crf=18)
    source = cv2.resize(read_frame_at(two_video, 20.5), (96, 54), interpolation=cv2.INTER_AREA)
    assert np.abs(read_frame_at(cut, 0.5).astype(int) - source).mean() < 4.0


def _text(p: Path) -> Path:
    p.write_text("this is not a video\n" * 50)
    return p


def _empty(p: Path) -> Path:
    p.write_bytes(b"")
    return p


def _half(p: Path, video: Path) -> Path:
    p.write_bytes(video.read_bytes()[:video.stat().st_size // 2])
    return p


@pytest.mark.parametrize("make_src, start, message", [
    pytest.param(lambda d, v: d / "missing.mp4", 0.0, "There is no file", id="missing-file"),
    pytest.param(lambda d, v: _text(d / "notes.mp4"), 0.0, "not a video we can read", id="text-file"),
    pytest.param(lambda d, v: _empty(d / "empty.mp4"), 0.0, "empty", id="empty-file"),
    pytest.param(lambda d, v: _half(d / "half.mp4", v), 0.0, "damaged", id="second-half-missing"),
    pytest.param(lambda d, v: v, 7.0, "choose a start inside the video", id="start-after-the-end"),
])
def test_a_cut_of_bad_input_is_one_clear_error_and_leaves_no_file(tmp_path: Path, clock_video: Path, make_src,
                                                                   start: float, message: str) -> None:
    src = make_src(tmp_path, clock_video)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(VideoError, match=message):
        cut_clip(src, out / "cut.mp4", start_s=start)
    assert list(out.iterdir()) == []


def test_a_cut_into_a_missing_folder_says_so(tmp_path: Path, clock_video: Path) -> None:
    with pytest.raises(VideoError, match="choose a folder that exists"):
        cut_clip(clock_video, tmp_path / "no such folder" / "cut.mp4")


@pytest.mark.parametrize("kwargs", [
    pytest.param({"start_s": -1.0}, id="negative-start"),
    pytest.param({"length_s": 0.0}, id="no-length"),
    pytest.param({"size": (0, 48)}, id="no-width"),
])
def test_a_cut_with_impossible_arguments_is_a_value_error(tmp_path: Path, clock_video: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        cut_clip(clock_video, tmp_path / "cut.mp4", **kwargs)


def test_variable_timestamps_come_back_as_written(tmp_path: Path) -> None:
    """The make_vfr way: millisecond timestamps, lossless, each frame's grey level 100x its time."""
    times = [0.0, 0.1, 0.25, 1.0, 1.01, 1.5, 2.3]
    frames = [np.full((32, 48, 3), round(100 * t), np.uint8) for t in times]
    video = write_video(tmp_path / "vfr.mp4", frames, fps=10, times=times, lossless=True)
    assert _times(video) == [Fraction(round(1000 * t), 1000) for t in times]
    for t in times:
        assert _grey(read_frame_at(video, t)) == pytest.approx(round(100 * t), abs=1)
    reader = SampleReader(video, every=0.5)
    assert [s.frame_time_s for s in reader][:6] == pytest.approx([0.0, 0.25, 1.0, 1.5, 1.5, 2.3])


def test_a_constant_rate_keeps_its_exact_fraction(tmp_path: Path) -> None:
    ntsc = Fraction(30000, 1001)
    video = write_video(tmp_path / "ntsc.mp4", [np.zeros((16, 16, 3), np.uint8)] * 10, fps=ntsc)
    assert _times(video) == [i / ntsc for i in range(10)]
    assert probe_video(video).fps == ntsc


@pytest.mark.parametrize("frames, times", [
    pytest.param([], None, id="no-frames"),
    pytest.param([np.zeros((16, 16), np.uint8)], None, id="not-rgb"),
    pytest.param([np.zeros((16, 16, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)], None, id="sizes-differ"),
    pytest.param([np.zeros((16, 16, 3), np.uint8)] * 2, [0.0, 0.0], id="times-do-not-increase"),
    pytest.param([np.zeros((16, 16, 3), np.uint8)] * 2, [0.0], id="fewer-times-than-frames"),
])
def test_frames_that_cannot_make_a_video_are_a_value_error(tmp_path: Path, frames: list, times) -> None:
    with pytest.raises(ValueError):
        write_video(tmp_path / "bad.mp4", frames, fps=10, times=times)
    assert list(tmp_path.iterdir()) == []


def test_the_fallback_encoder_makes_a_cut_with_the_same_frames(tmp_path: Path, clock_video: Path) -> None:
    """MPEG-4 part 2 is what a PyAV without H.264 encoders would use; it cannot be lossless."""
    cut = cut_clip(clock_video, tmp_path / "cut.mp4", start_s=2.0, length_s=1.0, codec="mpeg4")
    with av.open(str(cut)) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"
    assert _grey(read_frame_at(cut, 0.5)) == pytest.approx(GREY_PER_S * 2.5, abs=1.5)
    with pytest.raises(VideoError, match="Lossless video needs libx264"):
        write_video(tmp_path / "x.mp4", [np.zeros((16, 16, 3), np.uint8)], fps=10, lossless=True, codec="mpeg4")
