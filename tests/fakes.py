"""The one stand-in feature network of the tests, for everything around VGG16 (cache, pipeline, classifier,
dashboard).

Its features are real ones that find the synthetic characters of ``synth.py`` from a few labels: eight
whole-frame colour statistics (how much of the frame is strongly red or strongly blue, whether any of it is,
and the mean and spread of the colours). It counts every frame it embeds, so tests can check that nothing
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
        x = batch.astype(np.float32)
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
