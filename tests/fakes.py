"""The one stand-in feature network of the tests, for everything around VGG16 (cache, pipeline, classifier,
dashboard).

Its features are real ones that find the synthetic characters of ``synth.py`` from a few labels: eight
whole-frame colour statistics (how much of the frame is strongly red or strongly blue, whether any of it is,
and the mean and spread of the colours), and the same per cell of a 4x4 grid for the maps of where the model
looks (``core/where.py``). It counts every frame it embeds, so tests can check that nothing
is embedded twice. ``conftest.py`` registers it as the backbone family ``colour``
(:func:`core.features.register_backbone`), so a project whose ``backbone`` setting is ``colour`` samples
with it and needs no TensorFlow.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from core.backbone import FeatureSpec

FAMILY = "colour"
KEY = "colour-test-32x32"


class ColourBackbone:
    weights = "test-colour"
    key = KEY
    dim = 8

    def __init__(self, spec: FeatureSpec, weights: Optional[str] = None, fail_after: Optional[int] = None) -> None:
        self.input_size = spec.input_size
        self.embedded = 0
        self.fail_after = fail_after

    def embed(self, batch: np.ndarray) -> np.ndarray:
        if self.fail_after is not None and self.embedded >= self.fail_after:
            raise KeyboardInterrupt("killed halfway")
        self.embedded += len(batch)
        return _stats(batch.astype(np.float32))

    def maps(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same statistics per cell of a :data:`GRID` grid, as :meth:`core.backbone.VGG16Backbone.maps`
        gives (the two "whether anywhere" values count as maxima; the spread of the colours is the whole frame's,
        the same in every cell)."""
        self.embedded += len(batch)
        n, h, w, _ = batch.shape
        rows, cols = GRID
        x = batch[:, :h - h % rows, :w - w % cols].astype(np.float32)
        cells = x.reshape(n, rows, h // rows, cols, w // cols, 3).transpose(0, 1, 3, 2, 4, 5)
        out = _stats(cells.reshape(n * rows * cols, h // rows, w // cols, 3)).reshape(n, rows, cols, self.dim)
        out[..., 7] = _stats(batch.astype(np.float32))[:, None, None, 7]  # the spread is the whole frame's
        return out, np.array([False] * 5 + [True, True, False])


#: Cells of the stand-in's maps (rows, columns).
GRID = (4, 4)


def _stats(x: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) float RGB -> (N, 8): the stand-in's colour statistics."""
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    red = ((r > 170) & (g < 90) & (b < 90)).mean(axis=(1, 2))
    blue = ((b > 170) & (r < 90) & (g < 110)).mean(axis=(1, 2))
    return np.stack([red * 10, blue * 10, r.mean((1, 2)) / 255, g.mean((1, 2)) / 255, b.mean((1, 2)) / 255,
                     red > 0.002, blue > 0.002, x.std((1, 2, 3)) / 128], axis=1).astype(np.float32)


class Factory:
    """Backbone factory (:class:`core.features.BackboneFactory`) that remembers the backbones it built."""

    def __init__(self, fail_after: Optional[int] = None) -> None:
        self.built: list[ColourBackbone] = []
        self.fail_after = fail_after

    def __call__(self, spec: FeatureSpec, weights: Optional[str]) -> ColourBackbone:
        b = ColourBackbone(spec, weights, self.fail_after)
        self.built.append(b)
        return b

    def candidate_keys(self, spec: FeatureSpec, weights: Optional[str]) -> list[str]:
        return [KEY]

    @property
    def embedded(self) -> int:
        return sum(b.embedded for b in self.built)
