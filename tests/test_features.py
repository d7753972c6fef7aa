"""The feature stage: every moment embedded once, cached by content, atomic on interruption."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from fakes import Factory
from synth import make_video

import core.features
from core.backbone import FeatureSpec
from core.cache import FeatureCache
from core.errors import VideoError
from core.features import extract_features
from core.hashing import file_sha256

SPEC = FeatureSpec(input_size=(32, 32))


def _cache(tmp_path: Path) -> FeatureCache:
    return FeatureCache(tmp_path / "cache")


def test_each_moment_is_embedded_once_and_cached(tmp_path: Path, two_video: Path) -> None:
    cache = _cache(tmp_path)
    f1 = Factory()
    events: list[tuple[str, int, int]] = []
    fs = extract_features(two_video, 1.0, SPEC, cache=cache, backbone_factory=f1,
                          progress=lambda *e: events.append(e))
    assert len(fs) == 60 and fs.features.shape == (60, 8)
    assert fs.computed == 60 and f1.embedded == 60
    assert fs.times.tolist() == [float(t) for t in range(60)]
    assert fs.duration_s == pytest.approx(60.0)
    assert events[-1] == ("features", 60, 60)
    assert fs.thumb_path(59) is not None and fs.thumb_path(60) is None

    f2 = Factory()
    again = extract_features(two_video, 1.0, SPEC, cache=cache, backbone_factory=f2)
    assert again.computed == 0 and f2.built == []  # not even a network was built
    np.testing.assert_array_equal(again.features, fs.features)


def test_other_step_is_another_cache_entry(tmp_path: Path, two_video: Path) -> None:
    cache = _cache(tmp_path)
    extract_features(two_video, 1.0, SPEC, cache=cache, backbone_factory=Factory())
    f = Factory()
    fs = extract_features(two_video, 2.0, SPEC, cache=cache, backbone_factory=f)
    assert len(fs) == 30 and f.embedded == 30


def test_changed_file_never_reuses_stale_features(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    path = make_video(tmp_path / "v.mp4", {"Red": [(0, 10)]}, 10.0)
    first = extract_features(path, 1.0, SPEC, cache=cache, backbone_factory=Factory())
    make_video(path, {"Blue": [(0, 10)]}, 10.0)  # same name, new content
    f = Factory()
    second = extract_features(path, 1.0, SPEC, cache=cache, backbone_factory=f)
    assert f.embedded == 10 and second.video_sha256 != first.video_sha256
    assert not np.allclose(first.features, second.features)


def test_interrupted_run_leaves_no_entry_that_looks_complete(tmp_path: Path, two_video: Path) -> None:
    cache = _cache(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        extract_features(two_video, 1.0, SPEC, cache=cache, backbone_factory=Factory(fail_after=32))
    assert not list((tmp_path / "cache").rglob("features.npz"))
    assert not list((tmp_path / "cache").rglob("*.jpg"))
    f = Factory()
    fs = extract_features(two_video, 1.0, SPEC, cache=cache, backbone_factory=f)
    assert f.embedded == 60 and len(fs) == 60


def test_damaged_cache_entry_is_computed_again(tmp_path: Path, two_video: Path) -> None:
    cache = _cache(tmp_path)
    extract_features(two_video, 1.0, SPEC, cache=cache, backbone_factory=Factory())
    (npz,) = list((tmp_path / "cache").rglob("features.npz"))
    npz.write_bytes(b"garbage")
    f = Factory()
    extract_features(two_video, 1.0, SPEC, cache=cache, backbone_factory=f)
    assert f.embedded == 60


def test_held_frames_of_variable_frame_rate_are_embedded_once(tmp_path: Path, vfr_video: Path) -> None:
    f = Factory()
    fs = extract_features(vfr_video, 0.25, SPEC, cache=_cache(tmp_path), backbone_factory=f)
    assert len(fs) == 80
    # At 2 fps the frame of 8.0 s serves 8.0 and 8.25, the frame of 8.5 s serves 8.5 and 8.75: one embedding
    # each, two identical rows each
    row = {t: fs.features[list(fs.times).index(t)] for t in (8.0, 8.25, 8.5, 8.75)}
    np.testing.assert_array_equal(row[8.0], row[8.25])
    np.testing.assert_array_equal(row[8.5], row[8.75])
    assert not np.array_equal(row[8.25], row[8.5])
    assert f.embedded < 80


def test_bad_video_raises_before_any_network_is_built(tmp_path: Path) -> None:
    p = tmp_path / "notes.mp4"
    p.write_text("hello")
    f = Factory()
    with pytest.raises(VideoError):
        extract_features(p, 1.0, SPEC, cache=_cache(tmp_path), backbone_factory=f)
    assert f.built == []


def test_copy_of_a_video_shares_its_cache(tmp_path: Path, two_video: Path) -> None:
    cache = _cache(tmp_path)
    extract_features(two_video, 1.0, SPEC, cache=cache, backbone_factory=Factory())
    copy = tmp_path / "renamed copy.mp4"
    shutil.copy(two_video, copy)
    f = Factory()
    assert extract_features(copy, 1.0, SPEC, cache=cache, backbone_factory=f).computed == 0


def test_vgg16_is_built_once_per_process_for_each_spec_and_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second video (or a second dashboard job) gets the loaded network: no second TensorFlow build, and no
    second ImageNet download attempt that cannot succeed offline."""
    import core.backbone
    from core.features import VGG16Factory

    built: list[tuple[FeatureSpec, object]] = []

    class Counting:
        def __init__(self, spec: FeatureSpec, weights: object) -> None:
            built.append((spec, weights))
            self.weights = "hed-bsds500"

    monkeypatch.setattr(core.backbone, "VGG16Backbone", Counting)
    factory = VGG16Factory()
    small = FeatureSpec(input_size=(64, 64))
    first = factory(FeatureSpec(), "hed")
    assert factory(FeatureSpec(), "hed") is first and factory(FeatureSpec(), "hed-bsds500") is first
    assert factory(small, "hed") is not first
    assert len(built) == 2



def test_vgg16_built_with_auto_weights_is_also_the_one_of_the_weights_it_chose(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline, ``auto`` builds HED; a project's second video asks for ``hed-bsds500`` by name (the key of
    its first video's features) and must get that network, not a second build (80 s on busy cores)."""
    import core.backbone
    import core.features
    from core.backbone import HED
    from core.features import VGG16Factory

    built: list[object] = []

    class Counting:
        def __init__(self, spec: FeatureSpec, weights: object) -> None:
            built.append(weights)
            self.weights = HED  # what auto chose here

    monkeypatch.setattr(core.backbone, "VGG16Backbone", Counting)
    monkeypatch.setattr(core.features, "resolve_weights", lambda w: "auto" if w in (None, "auto") else HED)
    factory = VGG16Factory()
    first = factory(FeatureSpec(), None)
    assert factory(FeatureSpec(), HED) is first and built == [None]


def test_cancel_pressed_while_the_network_loads_stops_before_any_frame_is_embedded(
        tmp_path: Path, two_video: Path) -> None:
    """The dashboard's Cancel takes effect at the next progress step: the first one comes as soon as the network
    is ready, not after the first batch."""
    from core.errors import Cancelled

    stages: list[tuple[str, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        stages.append((stage, done))
        if stage == "features":
            raise Cancelled("stopped")

    factory = Factory()
    with pytest.raises(Cancelled):
        extract_features(two_video, 1.0, FeatureSpec(input_size=(32, 32)), cache=FeatureCache(tmp_path / "c"),
                         progress=progress, backbone_factory=factory)
    assert stages[-2:] == [("loading network", 0), ("features", 0)]
    assert factory.built[0].embedded == 0
    assert FeatureCache(tmp_path / "c").load(file_sha256(two_video), 1.0, "colour-test-32x32") is None


def test_a_network_built_for_auto_is_also_the_one_for_the_weights_it_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    """A project's second video asks for the weights the first one got ("hed-bsds500" rather than "auto"): it
    gets the same loaded network, not a second build."""
    import core.backbone
    from core.backbone import HED
    from core.features import VGG16Factory

    built: list[object] = []

    class Counting:
        weights = HED

        def __init__(self, spec: FeatureSpec, weights: object) -> None:
            built.append(weights)

    monkeypatch.setattr(core.backbone, "VGG16Backbone", Counting)
    monkeypatch.setattr(core.features, "resolve_weights", lambda w: HED if w in ("hed", HED) else "auto")
    factory = VGG16Factory()
    first = factory(FeatureSpec(), "auto")
    assert factory(FeatureSpec(), HED) is first and built == ["auto"]


def test_an_unknown_default_network_is_named_in_one_sentence(tmp_path: Path, two_video: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from core import config
    from core.errors import BackboneError

    monkeypatch.setattr(config, "BACKBONE", "nonet")
    with pytest.raises(BackboneError, match="no feature network called 'nonet'"):
        extract_features(two_video, 1.0, SPEC, cache=_cache(tmp_path))


@pytest.mark.parametrize("spec", [FeatureSpec(), FeatureSpec(("stage16", "head"), "max", (288, 512))])
@pytest.mark.parametrize("weights", ["imagenet", "hed-bsds500", "my-own-weights"])
def test_a_key_gives_back_the_weights_and_spec_it_was_made_from_for_any_family(spec: FeatureSpec,
                                                                             weights: str) -> None:
    from core.backbone import parse_key

    for family in ("vgg16", "efflite0", "newnet"):
        assert parse_key(f"{family}-{weights}-{spec.tag}") == (weights, spec)


@pytest.mark.parametrize("key", ["colour-test-32x32", "vgg16-hed-block5_conv3-avg-224", "vgg16--x-avg-224x224",
                                 "vgg16-hed-block5_conv3-median-224x224", "vgg16-hed-block5_conv3-avg-16x16"])
def test_a_key_of_another_kind_gives_nothing(key: str) -> None:
    from core.backbone import parse_key

    assert parse_key(key) is None
