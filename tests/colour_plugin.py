"""A plugin module for ``SCREENTIME_PLUGINS`` (what a user writes for a feature network of their own): importing
it registers the tests' stand-in backbone, family ``colour`` (``fakes.py``), in that process, Ray workers
included. ``COLOUR_DELAY_S``, when set, makes every batch of frames take that many seconds more, so that a test
can kill a batch halfway."""

from __future__ import annotations

import os
import time
from typing import Optional

import fakes
import numpy as np

from core.backbone import FeatureSpec
from core.features import register_backbone


class SlowFactory(fakes.Factory):
    def __call__(self, spec: FeatureSpec, weights: Optional[str]) -> fakes.ColourBackbone:
        backbone = super().__call__(spec, weights)
        delay = float(os.environ.get("COLOUR_DELAY_S") or 0)
        if delay:
            embed = backbone.embed

            def slow(batch: np.ndarray) -> np.ndarray:
                time.sleep(delay)
                return embed(batch)

            backbone.embed = slow  # type: ignore[method-assign]
        return backbone


register_backbone(fakes.FAMILY, SlowFactory())
