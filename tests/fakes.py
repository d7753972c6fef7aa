"""A stand-in feature network for tests of everything around VGG16 (cache, pipeline, classifier).

It is a real feature (mean colour in a 4x4 grid, 48 values) that finds the synthetic characters, and it
counts every frame it embeds, so tests can check that nothing is embedded twice.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from core.backbone import FeatureSpec


class GridColour:
    weights = "test-grid"

    def __init__(self, spec: FeatureSpec, weights: Optional[str] = None, fail_after: Optional[int] = None) -> None:
        self.input_size = spec.input_size
        self.dim = 48
        self.key = "gridcolour-test-32x32"
        self.embedded = 0
        self.fail_after = fail_after

    def embed(self, batch: np.ndarray) -> np.ndarray:
        if self.fail_after is not None and self.embedded >= self.fail_after:
            raise KeyboardInterrupt("killed halfway")
        self.embedded += len(batch)
        h, w = self.input_size
        cells = batch.reshape(len(batch), 4, h // 4, 4, w // 4, 3).mean(axis=(2, 4))
        return cells.reshape(len(batch), 48).astype(np.float32) / 255.0


class Factory:
    """Backbone factory that remembers the backbones it built."""

    def __init__(self, fail_after: Optional[int] = None) -> None:
        self.built: list[GridColour] = []
        self.fail_after = fail_after

    def __call__(self, spec: FeatureSpec, weights: Optional[str]) -> GridColour:
        b = GridColour(spec, weights, self.fail_after)
        self.built.append(b)
        return b

    def candidate_keys(self, spec: FeatureSpec, weights: Optional[str]) -> list[str]:
        return ["gridcolour-test-32x32"]

    @property
    def embedded(self) -> int:
        return sum(b.embedded for b in self.built)
