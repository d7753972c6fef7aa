"""Faults and bad input beyond the probe of issue 14: other damage to models and caches, other file formats,
other limits, other ways a file changes under a run. What the user sees in each is in docs/reliability.md."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import fakes
import numpy as np
import pytest
from synth import make_video
from test_reliability import _xy, assert_one_sentence, assert_refused_by_parser, cli, colour_model, two_orders  # noqa: F401

from core.cache import FeatureCache
from core.classifier import ScreenTimeClassifier
from core.errors import LabelError, ModelError, VideoError
from core.evaluate import evaluate_files, read_timeline_csv
from core.export import write_outputs
from core.features import extract_features
from core.labels import read_labels_csv
from core.timeline import Timeline


# ---- models ------------------------------------------------------------------------------------------------
def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _rewrite_json(d: Path, text: str | bytes) -> None:
    (d / "model.json").write_bytes(text if isinstance(text, bytes) else text.encode())


class _Boom:
    """Unpickling this would create the folder named by ``marker``: a planted pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
        return os.mkdir, (str(self.marker),)


def _pickled_weights(d: Path) -> None:
    with np.load(d / "weights.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["coef"] = np.array([_Boom(d.parent / "pickle-ran")], dtype=object)
    np.savez(d / "weights.npz", **arrays)
    meta = json.loads((d / "model.json").read_text())
    meta["weights_sha256"] = hashlib.sha256((d / "weights.npz").read_bytes()).hexdigest()
    _rewrite_json(d, json.dumps(meta))


def _meta_edit(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def apply(d: Path) -> None:
        meta = json.loads((d / "model.json").read_text())
        edit(meta)
        _rewrite_json(d, json.dumps(meta))
    return apply


@pytest.mark.parametrize("damage, words", [
    pytest.param(_pickled_weights, "is damaged (ValueError)", id="planted-pickle"),
    pytest.param(lambda d: _rewrite_json(d, '{"format": 1, "pad": "' + " " * (17 * 1024**2) + '"}'),
                 "is damaged (its model.json is larger than 16 MB)", id="model-json-of-17-MB"),
    pytest.param(lambda d: _rewrite_json(d, "[" * 100_000 + "]" * 100_000), "is damaged (RecursionError)",
                 id="model-json-nested-100000-deep"),
    pytest.param(lambda d: _rewrite_json(d, b"\xff\xfe{}"), "is damaged (UnicodeDecodeError)",
                 id="model-json-not-utf8"),
    pytest.param(lambda d: _rewrite_json(d, "[1, 2]"), "was saved by another version", id="model-json-a-list"),
    pytest.param(_meta_edit(lambda m: m.__setitem__("thresholds", [float("nan"), 0.5])),
                 "one threshold between 0 and 1 for each of its 2 characters", id="nan-threshold"),
    pytest.param(_meta_edit(lambda m: m.__setitem__("thresholds", [1.0, 0.0])),
                 "one threshold between 0 and 1 for each of its 2 characters", id="threshold-0-and-1"),
    pytest.param(_meta_edit(lambda m: m["params"].__setitem__("dropout", 1.5)),
                 "dropout must be at least 0 and below 1, got 1.5", id="setting-out-of-range"),
    pytest.param(_meta_edit(lambda m: m.__setitem__("every", 1e308)), "its sampling step (every) is 1e+308",
                 id="every-1e308"),
    pytest.param(lambda d: (d / "weights.npz").write_bytes((d / "weights.npz").read_bytes()[:200]),
                 "is a mix of two saves", id="weights-truncated"),
    pytest.param(lambda d: (d / "weights.npz").unlink(), "holds no trained model", id="weights-missing"),
])
def test_other_damage_to_a_model_is_one_sentence_and_runs_nothing(two_orders, tmp_path: Path,
                                                                  damage: Callable[[Path], None], words: str) -> None:
    d = _copy(two_orders[0], tmp_path / "m")
    damage(d)
    with pytest.raises(ModelError) as err:
        ScreenTimeClassifier.load(d)
    assert words in str(err.value), err.value
    assert not (tmp_path / "pickle-ran").exists()


def test_a_dense_model_whose_layers_do_not_fit_is_refused(tmp_path: Path) -> None:
    X, Y = _xy()
    clf = ScreenTimeClassifier(kind="dense", block_s=1e6, hidden=4, epochs=1, min_steps=1).fit(
        X, Y, np.arange(len(X), dtype=float), ["Red", "Blue"])
    clf.model_.arrays["b1"] = np.zeros(5, np.float32)  # 4 hidden units, 5 biases
    clf.save(tmp_path / "m")
    with pytest.raises(ModelError, match=r"its array b1 has shape \(5,\), which does not fit 2 character\(s\) and 8"):
        ScreenTimeClassifier.load(tmp_path / "m")


def test_a_save_interrupted_between_its_two_renames_names_the_previous_model(two_orders, tmp_path: Path) -> None:
    d = _copy(two_orders[0], tmp_path / "m")
    os.rename(d, tmp_path / ".m.old-0123456789ab")  # what a file system without an atomic exchange can leave
    with pytest.raises(ModelError, match=r"^Saving the model in .*/m was interrupted: the previous model is in "
                                         r".*/\.m\.old-0123456789ab; rename that folder to m, or train again\.$"):
        ScreenTimeClassifier.load(d)


def test_a_save_over_a_model_replaces_the_whole_folder(two_orders, tmp_path: Path) -> None:
    d = _copy(two_orders[0], tmp_path / "m")
    (d / "notes.txt").write_text("mine")
    clf, _ = ScreenTimeClassifier.load(two_orders[1])
    clf.save(d)
    assert sorted(p.name for p in d.iterdir()) == ["model.json", "weights.npz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary folder left beside it
    assert ScreenTimeClassifier.load(d)[0].names_ == ("Blue", "Red")


# ---- the feature cache ----------------------------------------------------------------------------------
def _entry(cache: Path) -> Path:
    (entry,) = list(cache.glob("features/*/*/*"))
    return entry


@pytest.mark.parametrize("damage", [
    pytest.param(lambda e: (e / "features.npz").write_bytes(b"PK\x03\x04 truncated"), id="features-not-a-zip"),
    pytest.param(lambda e: (e / "features.npz").write_bytes((e / "features.npz").read_bytes()[:-100]),
                 id="features-truncated"),
    pytest.param(lambda e: np.savez(e / "features.npz", times=np.arange(3.0), features=np.zeros((2, 8))),
                 id="times-and-features-disagree"),
    pytest.param(lambda e: np.savez(e / "features.npz", times=np.arange(8.0), features=np.full((8, 8), np.nan)),
                 id="features-not-finite"),
    pytest.param(lambda e: (e / "meta.json").write_text('{"format": 2, "video_sha256": 1'), id="meta-not-json"),
    pytest.param(lambda e: (e / "meta.json").write_text(
        json.dumps({**json.loads((e / "meta.json").read_text()), "fps": "0"})), id="meta-fps-0"),
])
def test_a_damaged_cache_entry_is_computed_again(damage: Callable[[Path], None], tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", {"Red": [(0, 4)]}, 8.0)
    first = extract_features(video, 1.0, cache=FeatureCache(tmp_path / "c"), backbone_factory=fakes.Factory())
    damage(_entry(tmp_path / "c"))
    again = extract_features(video, 1.0, cache=FeatureCache(tmp_path / "c"), backbone_factory=fakes.Factory())
    assert again.computed == first.computed > 0
    np.testing.assert_array_equal(again.features, first.features)


# ---- a video that changes under a run ----------------------------------------------------------------------
def _change_at_start(video: Path, change: Callable[[Path], None]) -> Callable[[str, int, int], None]:
    def progress(stage: str, done: int, total: int) -> None:
        if stage == "loading network":
            change(video)
    return progress


def _rewrite_same_bytes_and_mtime(p: Path) -> None:
    st = p.stat()
    p.write_bytes(p.read_bytes())
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # size and mtime as they were: only ctime tells


@pytest.mark.parametrize("change", [
    pytest.param(lambda p: p.unlink(), id="deleted"),
    pytest.param(lambda p: p.open("ab").write(b"\0" * 1000), id="grown-like-a-download-in-progress"),
    pytest.param(_rewrite_same_bytes_and_mtime, id="rewritten-with-its-mtime-put-back"),
])
def test_a_video_that_changes_while_it_is_read_is_refused(change: Callable[[Path], None], tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", {"Red": [(0, 4)]}, 8.0)
    with pytest.raises(VideoError, match=r"^v\.mp4 changed while it was being read"):
        extract_features(video, 1.0, cache=FeatureCache(tmp_path / "c"), backbone_factory=fakes.Factory(),
                         progress=_change_at_start(video, change))
    assert not list((tmp_path / "c").glob("features/*/*/*/features.npz"))
    assert not list((tmp_path / "c").glob("frames/*/.thumbs.*"))


def test_a_header_with_a_frame_rate_of_0_plays_at_ffmpegs_25_like_every_player(tmp_path: Path) -> None:
    """An AVI is timed by its header's rate alone: with 0 there, FFmpeg (and so VLC, mpv, browsers) plays it at
    25 fps. We do the same, and say so in the probe, rather than guess another rate."""
    from test_reliability import _avi_with_rate

    data = bytearray(_avi_with_rate(tmp_path, 10).read_bytes())
    strh = data.index(b"strh") + 8
    data[strh + 24:strh + 28] = (0).to_bytes(4, "little")
    avih = data.index(b"avih") + 8
    data[avih:avih + 4] = (0).to_bytes(4, "little")
    (tmp_path / "zero.avi").write_bytes(bytes(data))
    r = cli("probe", tmp_path / "zero.avi")
    assert r.returncode == 0 and r.stdout == "zero.avi: 192x108, 25 fps (25.000), 40 frames, 1.60 s\n", r


def test_a_header_claiming_5000_fps_is_one_sentence(tmp_path: Path) -> None:
    from test_reliability import _avi_with_rate

    r = cli("probe", _avi_with_rate(tmp_path, 5000))
    assert_one_sentence(r, "fast.avi claims 5000 frames per second, which no video has (at most 1000)")


# ---- labels and truth ----------------------------------------------------------------------------------
@pytest.mark.parametrize("content, words", [
    pytest.param(b"time_s,Red\n0,1\x00\n", "is not a text CSV file (it holds NUL bytes)", id="nul-bytes"),
    pytest.param(b"time_s," + b"R" * 41 + b"\n0,1\n", "that name is too long: use at most 40 letters", id="long-name"),
    pytest.param(b'time_s,"Red\tCat"\n0,1\n', "cannot contain commas, quotes, tabs or line breaks", id="tab-in-name"),
    pytest.param(b"time_s,label\n0,p_Red\n1,none\n", "'p_Red' starts with p_", id="single-label-p_"),
    pytest.param(b"time_s,Red\n0,1\n1,2\n", "Line 3: the value '2' for Red must be 0 or 1", id="value-2"),
])
def test_other_bad_labels_are_one_sentence(content: bytes, words: str, tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_bytes(content)
    with pytest.raises(LabelError, match=words.replace("(", r"\(").replace(")", r"\)")):
        read_labels_csv(tmp_path / "l.csv")


def test_a_labels_file_of_65_MB_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with open(tmp_path / "huge.csv", "wb") as f:
        f.truncate(65 * 1024**2)  # sparse: nothing is written
    with pytest.raises(LabelError, match="huge.csv is larger than 64 MB: that is not a labels file"):
        read_labels_csv(tmp_path / "huge.csv")


def _pred(tmp_path: Path) -> Path:
    tl = Timeline(np.arange(4.0), 1.0, 4.0, ("Red",), np.array([[1], [0], [1], [0]], bool))
    write_outputs(tl, tmp_path / "o", {})
    return tmp_path / "o" / "timeline.csv"


@pytest.mark.parametrize("truth, words", [
    pytest.param("time_s,Red\n0,1\n1e308,0\n", "Line 3 of the truth is at 1e+308 s, after the timeline ends (4 s)",
                 id="truth-after-the-end"),
    pytest.param("time_s,Red\n0,1\n0,0\n", "Lines 2 and 3 label the same time, 0 s, differently",
                 id="truth-in-conflict"),
])
def test_truth_that_cannot_be_compared_is_one_sentence(truth: str, words: str, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(truth)
    with pytest.raises(LabelError, match=words.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        evaluate_files(_pred(tmp_path), tmp_path / "t.csv")


def test_a_truth_character_the_timeline_lacks_counts_as_never_found(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("time_s,Red,Green\n0,1,1\n1,0,0\n2,1,1\n3,0,0\n")
    rows = evaluate_files(_pred(tmp_path), tmp_path / "t.csv")
    assert [(r.scores.character, r.scores.f1, r.scores.recall, r.predicted_s) for r in rows] == [
        ("Red", 1.0, 1.0, 2.0), ("Green", 0.0, 0.0, 0.0)]


@pytest.mark.parametrize("text", [
    pytest.param("time_s,Red,p_Red\n0,2,0.9\n", id="presence-2"),
    pytest.param("time_s,Red,p_Red\n0,0.7,0.9\n", id="presence-0.7"),
    pytest.param("time_s,Red,p_Red\nnan,1,0.9\n", id="time-nan"),
])
def test_a_timeline_with_values_we_never_write_is_refused(text: str, tmp_path: Path) -> None:
    (tmp_path / "timeline.csv").write_text(text)
    with pytest.raises(LabelError, match="Line 2 of timeline.csv is malformed"):
        read_timeline_csv(tmp_path / "timeline.csv")


def test_a_timeline_with_a_column_twice_is_not_ours(tmp_path: Path) -> None:
    (tmp_path / "timeline.csv").write_text("time_s,Red,Red\n0,1,0\n")
    with pytest.raises(LabelError, match="is not a timeline.csv written by Screen Time"):
        read_timeline_csv(tmp_path / "timeline.csv")


# ---- the command line: where results go, and other limits ------------------------------------------------------
def test_results_where_a_file_stands_are_one_sentence(colour_model, two_video: Path, tmp_path: Path) -> None:
    model, cache = colour_model
    (tmp_path / "taken").write_text("a file")
    r = cli("predict", two_video, "--model", model, "--out", tmp_path / "taken", colour=True,
            SCREENTIME_CACHE=str(cache))
    assert_one_sentence(r, "taken is a file, not a folder: choose another place for the results.")
    assert (tmp_path / "taken").read_text() == "a file"


def test_a_model_where_a_file_stands_is_one_sentence_before_any_work(two_video: Path, two_labels: Path,
                                                                     tmp_path: Path) -> None:
    (tmp_path / "m").write_text("a file")
    r = cli("train", two_video, "--labels", two_labels, "--model", tmp_path / "m" / "inside")
    assert_one_sentence(r, "m is a file, not a folder: choose another place for the model.")


def test_results_the_system_will_not_let_us_write_are_one_sentence(colour_model, two_video: Path) -> None:
    model, cache = colour_model
    r = cli("predict", two_video, "--model", model, "--out", "/sys/screentime-results", colour=True,
            SCREENTIME_CACHE=str(cache))
    assert_one_sentence(r, "(/sys/screentime-results): check the path, its permissions and the free disk space")


@pytest.mark.parametrize("option, value", [("--typical-run", "1e308"), ("--bridge-gaps", "inf"),
                                           ("--min-appearance", "-1"), ("--typical-run", "nan")])
def test_smoothing_durations_are_zero_to_a_day(option: str, value: str, two_video: Path, tmp_path: Path) -> None:
    r = cli("predict", two_video, "--model", tmp_path, "--out", tmp_path / "o", f"{option}={value}")
    assert_refused_by_parser(r, option, "a duration is 0 to 86400 seconds (a day)")


def test_a_device_given_as_the_video_is_one_sentence() -> None:
    r = cli("probe", "/dev/zero")
    assert_one_sentence(r, "/dev/zero is not a file (a device or a pipe): choose a video file.")


def test_a_folder_write_killed_halfway_is_swept_by_the_next_one(tmp_path: Path) -> None:
    """core.atomic.atomic_dir (the faces store, thumbnails): a SIGKILL while it fills its temporary folder
    leaves that folder; the next write of the same folder removes it, and never the folder of a live run."""
    import signal
    import subprocess
    import sys
    import time

    from core.atomic import atomic_dir

    final = tmp_path / "thumbs"
    started = tmp_path / "started"
    script = ("import sys, time; from pathlib import Path; from core.atomic import atomic_dir\n"
              "def fill(tmp):\n (tmp / 'half.jpg').write_bytes(b'x'); Path(sys.argv[2]).touch(); time.sleep(60)\n"
              "atomic_dir(Path(sys.argv[1]), fill)\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(final), str(started)])
    try:
        deadline = time.time() + 60
        while not started.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the child never started filling"
        live = [d for d in tmp_path.iterdir() if d.name.startswith(".thumbs.")]
        assert len(live) == 1
        other = tmp_path / "other"  # a write of another folder beside it leaves the live run's folder alone
        assert atomic_dir(other, lambda tmp: (tmp / "a").write_bytes(b"a")) and live[0].exists()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert live[0].exists() and not final.exists()  # what a kill leaves
    assert atomic_dir(final, lambda tmp: (tmp / "000000.jpg").write_bytes(b"y"))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".thumbs.")] == []
    assert [p.name for p in final.iterdir()] == ["000000.jpg"]
