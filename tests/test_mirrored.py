"""Mirror images of labelled frames (core.mirrored): the very frames sampled, flipped, cached moment by moment,
learned from beside their moments and never scored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from synth import make_video

from core import jobs
from core.cache import FeatureCache
from core.classifier import ScreenTimeClassifier
from core.errors import VideoError
from core.features import backbone_factory, extract_features
from core.labels import LabelSet
from core.mirrored import frames_on_screen, labelled_copies, mirrored_features, mirrored_key
from core.pictures import Scaler
from core.video import SampleReader

SIZE = (24, 40)


def _clip(path: Path, codec: str, n: int = 72, fps: int = 12) -> Path:
    """Frames whose grey level counts them (3 apart), encoded by PyAV with B-frames where the codec has them."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        if codec in ("libx264", "mpeg2video"):
            stream.codec_context.gop_size = 12
            stream.codec_context.max_b_frames = 2
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 + 3 * i, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize("which", ["two", "vfr", "mp4-h264", "ts-h264", "mpg-mpeg2", "mkv-h264"])
@pytest.mark.parametrize("every", [1.0, 0.33])
def test_the_frame_found_again_is_the_frame_sampled(which: str, every: float, two_video: Path, vfr_video: Path,
                                                    tmp_path: Path) -> None:
    if which in ("two", "vfr"):
        video = two_video if which == "two" else vfr_video
    else:
        container, codec = which.split("-")
        video = _clip(tmp_path / f"clip.{container}", {"h264": "libx264", "mpeg2": "mpeg2video"}[codec])
    to_input = Scaler(SIZE)
    sampled = {t: to_input(frame) for _, t, _, frame in SampleReader(video, every).decoded()}
    moments = sorted(sampled)
    # Out of order, repeated, near each other (decoded on) and far apart (a seek back and forth), the last ones.
    times = [moments[-1], moments[2], moments[3], moments[3], moments[0], moments[len(moments) // 2],
             moments[-2], moments[1]]
    got = [(t, to_input(frame)) for t, frame in frames_on_screen(video, times, every)]
    assert [t for t, _ in got] == sorted(times)
    for t, img in got:
        np.testing.assert_array_equal(img, sampled[t], err_msg=f"{which} at {t} s")


def test_the_network_sees_the_frame_flipped_left_to_right(two_video: Path) -> None:
    from core.mirrored import _flipped_inputs

    to_input = Scaler(SIZE)
    sampled = {t: to_input(frame) for _, t, _, frame in SampleReader(two_video, 1.0).decoded()}
    flipped = list(_flipped_inputs(two_video, [9.0, 4.0], 1.0, SIZE))
    for t, img in zip([4.0, 9.0], flipped):
        assert not np.array_equal(sampled[t], sampled[t][:, ::-1])  # the frame is not symmetric
        np.testing.assert_array_equal(img, sampled[t][:, ::-1])


def _features(video: Path, cache: FeatureCache):  # type: ignore[no-untyped-def]
    return extract_features(video, 1.0, None, cache=cache, keep_thumbs=False,
                            backbone_factory=backbone_factory("colour"))


def test_mirrored_features_are_computed_once_per_moment_and_kept(tmp_path: Path, two_video: Path) -> None:
    cache = FeatureCache(tmp_path / "cache")
    fs = _features(two_video, cache)
    factory = backbone_factory("colour")
    before = factory.embedded  # type: ignore[attr-defined]
    events: list[tuple[str, int, int]] = []
    first = mirrored_features(fs, fs.times[[9, 4, 30]], cache, lambda *e: events.append(e))
    # The stand-in's colour statistics do not change when a frame is flipped: the rows are the frames' own.
    np.testing.assert_allclose(first, fs.features[[9, 4, 30]], atol=1e-5)
    assert factory.embedded - before == 3 and events[-1] == ("mirroring", 3, 3)  # type: ignore[attr-defined]
    again = mirrored_features(fs, fs.times[[30, 5, 9]], cache)
    assert factory.embedded - before == 4  # type: ignore[attr-defined]  # only 5 s was new
    np.testing.assert_allclose(again, fs.features[[30, 5, 9]], atol=1e-5)
    entry = cache.load(fs.video_sha256, 1.0, mirrored_key(fs.backbone))
    assert entry is not None and entry["times"].tolist() == [4.0, 5.0, 9.0, 30.0]


def test_an_entry_of_another_width_is_computed_again(tmp_path: Path, two_video: Path) -> None:
    cache = FeatureCache(tmp_path / "cache")
    fs = _features(two_video, cache)
    mirrored_features(fs, fs.times[[1, 2]], cache)
    entry = cache.load(fs.video_sha256, 1.0, mirrored_key(fs.backbone))
    assert entry is not None
    cache.store(fs.video_sha256, 1.0, mirrored_key(fs.backbone), entry["meta"],
                {"times": entry["times"], "features": np.zeros((2, 5), np.float32)})
    rows = mirrored_features(fs, fs.times[[1, 3]], cache)
    np.testing.assert_allclose(rows, fs.features[[1, 3]], atol=1e-5)


def test_a_kill_while_mirroring_leaves_the_entry_before_it(tmp_path: Path, two_video: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cache = FeatureCache(tmp_path / "cache")
    fs = _features(two_video, cache)
    mirrored_features(fs, fs.times[[1, 2]], cache)
    monkeypatch.setattr(backbone_factory("colour"), "fail_after", 0)
    with pytest.raises(KeyboardInterrupt):
        mirrored_features(fs, fs.times[[3]], cache)
    entry = cache.load(fs.video_sha256, 1.0, mirrored_key(fs.backbone))
    assert entry is not None and entry["times"].tolist() == [1.0, 2.0]


def test_a_moved_or_changed_video_is_said_in_one_sentence(tmp_path: Path, two_video: Path) -> None:
    cache = FeatureCache(tmp_path / "cache")
    copy = tmp_path / "clip.mp4"
    shutil.copy(two_video, copy)
    fs = _features(copy, cache)
    make_video(copy, {"Red": [(0, 3)]}, 6.0)
    with pytest.raises(VideoError, match=r"^clip.mp4 has changed since it was sampled, so its labelled frames "
                                         r"cannot be mirrored: sample it again\.$"):
        mirrored_features(fs, fs.times[[1]], cache)
    copy.unlink()
    with pytest.raises(VideoError, match=r"^clip.mp4 is no longer where its features were computed .*: put it "
                                         r"back there\.$"):
        mirrored_features(fs, fs.times[[1]], cache)


def _labels(fs, rows: list[int]) -> LabelSet:  # type: ignore[no-untyped-def]
    red = fs.features[rows, 0] > 0.05
    return LabelSet(fs.times[rows], ("Red",), red[:, None].astype(np.uint8))


def test_copies_are_learned_from_and_never_scored(tmp_path: Path, two_video: Path) -> None:
    cache = FeatureCache(tmp_path / "cache")
    fs = _features(two_video, cache)
    rows = list(range(0, 60, 2))
    pairs = [(fs, _labels(fs, rows))]
    X, Y, T = jobs.training_matrix(pairs, ("Red",))
    mirrors = labelled_copies([(fs, idx) for fs, idx, _ in jobs.labelled_moments(pairs, ("Red",))], cache)
    assert mirrors.copy_of.tolist() == list(range(len(rows))) and mirrors.not_mirrored == ()
    clf = ScreenTimeClassifier(kind="linear").fit(X, Y, T, ["Red"], mirrors.features, mirrors.copy_of)
    assert clf.n_train_ == len(rows) and clf.oof_proba_ is not None and clf.oof_proba_.shape == (len(rows), 1)
    # The final model learned from both: the same as fitting the moments and their copies as moments.
    both = ScreenTimeClassifier(kind="linear").fit(np.vstack([X, mirrors.features]), np.vstack([Y, Y]),
                                                   np.r_[T, T], ["Red"])
    np.testing.assert_allclose(clf.predict_proba(X), both.predict_proba(X), atol=1e-5)
    with pytest.raises(ValueError, match="copy_of names a moment that X does not hold"):
        ScreenTimeClassifier(kind="linear").fit(X, Y, T, ["Red"], mirrors.features, mirrors.copy_of + len(rows))
    with pytest.raises(ValueError, match="copies and copy_of go together"):
        ScreenTimeClassifier(kind="linear").fit(X, Y, T, ["Red"], mirrors.features)


def test_a_copy_trains_only_where_its_moment_does(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (60, 4)).astype(np.float32)
    X[:, 0] = np.arange(60)  # each row names its moment
    Y = ((np.arange(60) // 4) % 2)[:, None].astype(np.uint8)
    T = np.arange(60, dtype=float) * 3
    copies = X.copy()
    copies[:, 0] += 1000  # a copy names its moment + 1000
    seen: list[np.ndarray] = []
    fit_one = ScreenTimeClassifier._fit_one

    def spy(self, kind, Xt, Yt):  # type: ignore[no-untyped-def]
        seen.append(np.asarray(Xt))
        return fit_one(self, kind, Xt, Yt)

    monkeypatch.setattr(ScreenTimeClassifier, "_fit_one", spy)
    clf = ScreenTimeClassifier(kind="linear", n_folds=5).fit(X, Y, T, ["Red"], copies, np.arange(60))
    assert clf.n_folds_ == 5 and len(seen) == 6 and len(seen[-1]) == 120  # 5 folds, then all of it
    for rows in seen[:-1]:
        moments = {int(r[0]) for r in rows if r[0] < 500}
        copied = {int(r[0]) - 1000 for r in rows if r[0] >= 500}
        assert 30 <= len(moments) < 60
        assert copied == moments  # every copy of a moment the fold learns from, none of one it scores


def test_a_video_that_cannot_be_mirrored_is_trained_on_without_its_copies(
        tmp_path: Path, two_video: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = FeatureCache(tmp_path / "cache")
    copy = tmp_path / "clip.mp4"
    shutil.copy(two_video, copy)
    fs = _features(copy, cache)
    rows = list(range(0, 60, 2))
    monkeypatch.setattr(jobs, "uses_mirrors", lambda settings: True)
    res = jobs.train_model([(fs, _labels(fs, rows))], tmp_path / "m", cache=cache)
    assert res.n_mirrored == len(rows) and res.not_mirrored == ()
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["mirrored"] == {"moments": len(rows), "not_mirrored": []}
    ScreenTimeClassifier.load(tmp_path / "m")  # the model folder's schema takes the new field

    copy.unlink()
    more = rows + [1, 3]  # moments never mirrored before: the video is needed again
    res = jobs.train_model([(fs, _labels(fs, more))], tmp_path / "m2", cache=cache)
    assert res.n_mirrored == 0 and res.n_labelled == len(more)
    assert len(res.not_mirrored) == 1
    assert "clip.mp4 is no longer where its features were computed" in res.not_mirrored[0]


def test_only_the_spatial_head_learns_from_mirror_images() -> None:
    assert jobs.uses_mirrors(jobs.classifier_settings("efflite0-imagenet-stage16+block-cells-288x512"))
    assert not jobs.uses_mirrors(jobs.classifier_settings("efflite0-imagenet-stage16+head-avgmax-288x512"))


def test_decoding_ahead_hands_its_error_over_and_stops_when_the_consumer_does() -> None:
    from core.mirrored import _ReadAhead

    def failing():  # type: ignore[no-untyped-def]
        yield np.zeros(1)
        raise VideoError("clip.mp4 cannot be decoded near a labelled moment")

    with _ReadAhead(failing()) as items:
        assert next(items).shape == (1,)
        with pytest.raises(VideoError, match="cannot be decoded near a labelled moment"):
            next(items)
    made: list[int] = []

    def endless():  # type: ignore[no-untyped-def]
        while True:
            made.append(1)
            yield np.zeros(1)

    reader = _ReadAhead(endless(), depth=4)
    with reader as items:
        next(items)
    assert not reader._thread.is_alive() and len(made) <= 7


def test_the_training_estimate_counts_only_frames_not_mirrored_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    from test_app_helpers import sampled_project

    monkeypatch.setenv("SCREENTIME_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SCREENTIME_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(jobs, "uses_mirrors", lambda settings: True)
    p, v = sampled_project(tmp_path)  # 15 labelled frames
    speed = jobs.measured_speed("colour")
    before = jobs.training_estimate_s(p)
    assert before == pytest.approx(15 * (speed["train_s_per_frame"] + speed["mirror_s_per_frame"]))
    fs = p.features(v)
    assert fs is not None
    mirrored_features(fs, fs.times[[0, 2, 4]], p.cache)  # three of the labelled moments
    assert jobs.training_estimate_s(p) == pytest.approx(before - 3 * speed["mirror_s_per_frame"])
    jobs.train_project(p)  # mirrors the other 12 and remembers how long that took per frame
    measured = jobs.measured_speed("colour")
    assert measured["mirror_s_per_frame"] != speed["mirror_s_per_frame"]
    assert jobs.training_estimate_s(p) == pytest.approx(max(1.0, 15 * measured["train_s_per_frame"]))
