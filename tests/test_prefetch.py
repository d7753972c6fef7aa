"""Frames decoded ahead of the network in a child process: the same frames as sampling in place, errors
that keep their one sentence, and a decoder that stops when it is no longer wanted."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from synth import make_video

from core.errors import VideoError
from core.pictures import Scaler
from core.prefetch import FramePrefetcher
from core.video import SampleReader, probe_video

SIZE = (32, 48)  # height, width


def _in_place(path: Path, every: float) -> list[tuple[float, np.ndarray]]:
    to_input = Scaler(SIZE)
    return [(t, to_input(frame)) for _, t, _, frame in SampleReader(path, every).decoded()]


def test_the_child_process_gives_the_frames_of_sampling_in_place(two_video: Path, tmp_path: Path) -> None:
    expected = _in_place(two_video, 1.0)
    with FramePrefetcher(probe_video(two_video), 1.0, SIZE, thumbs=tmp_path) as frames:
        assert frames._proc is not None, "decoding should run in a child process"
        got = list(frames)
    assert [t for t, _ in got] == [t for t, _ in expected]
    for (_, a), (_, b) in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    assert frames.end_s == pytest.approx(SampleReader(two_video, 1.0).info.duration_s)
    assert len(list(tmp_path.glob("*.jpg"))) == len(expected)


def test_relative_paths_are_the_callers(two_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(two_video.parent)
    (tmp_path / "thumbs").mkdir()
    monkeypatch.chdir(tmp_path)
    local = Path("two.mp4")
    local.symlink_to(two_video)
    with FramePrefetcher(probe_video(local), 1.0, SIZE, thumbs=Path("thumbs")) as frames:
        assert len(list(frames)) == 60
    assert len(list((tmp_path / "thumbs").glob("*.jpg"))) == 60


def test_held_frames_come_without_pixels_and_keep_their_thumbnail(vfr_video: Path, tmp_path: Path) -> None:
    with FramePrefetcher(probe_video(vfr_video), 0.25, SIZE, thumbs=tmp_path) as frames:
        got = dict(frames)
    assert len(got) == 80
    assert got[8.0] is not None and got[8.25] is None  # 2 fps part: 8.25 shows the frame of 8.0 again
    assert len(list(tmp_path.glob("*.jpg"))) == 80  # every moment has its evidence picture
    assert (tmp_path / "000033.jpg").read_bytes() == (tmp_path / "000032.jpg").read_bytes()
    assert (tmp_path / "000034.jpg").read_bytes() != (tmp_path / "000033.jpg").read_bytes()


@pytest.mark.parametrize("refusal", [OSError("no processes in this sandbox"),
                                     ValueError("pass_fds not supported on Windows")], ids=["sandbox", "windows"])
def test_without_processes_a_thread_does_the_same(two_video: Path, monkeypatch: pytest.MonkeyPatch,
                                                  refusal: Exception) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise refusal

    monkeypatch.setattr(subprocess, "Popen", no_processes)
    with FramePrefetcher(probe_video(two_video), 1.0, SIZE) as frames:
        assert frames._proc is None
        got = list(frames)
    assert [t for t, _ in got] == [t for t, _ in _in_place(two_video, 1.0)]


def test_a_bad_video_keeps_its_one_sentence(tmp_path: Path) -> None:
    full = make_video(tmp_path / "full.avi", {}, 20.0, fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(VideoError, match="truncated") as err, FramePrefetcher(probe_video(cut), 1.0, SIZE) as frames:
        list(frames)
    assert "\n" not in str(err.value)


def test_leaving_early_ends_the_child(tmp_path: Path) -> None:
    video = make_video(tmp_path / "long.mp4", {}, 60.0, fps=10)
    with FramePrefetcher(probe_video(video), 0.5, SIZE, depth=2) as frames:
        first = next(iter(frames))
        proc = frames._proc
    assert first[0] == 0.0
    assert proc is not None and proc.poll() is not None


def test_a_child_that_dies_is_one_clear_error(tmp_path: Path) -> None:
    video = make_video(tmp_path / "long.mp4", {}, 60.0, fps=10)
    with pytest.raises(RuntimeError, match="decoding process ended"), \
            FramePrefetcher(probe_video(video), 0.5, SIZE, depth=2) as frames:
        it = iter(frames)
        next(it)
        assert frames._proc is not None
        frames._proc.kill()
        frames._proc.wait()
        for _ in it:
            pass
