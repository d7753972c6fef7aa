r"""The spatial head's settings on every protocol of ``accuracy.py`` (issue 11, "Spatial heads").

The product's head (:mod:`core.spatial`) on the product's cell features, through ``accuracy.py``'s pipeline
(the same label masks, seeds and scoring as ``protocols-efflite0-cells-288x512.md``), once per variant: its two
parts alone (the cells' multiple-instance regression, the pooled one), the cells that make a frame's score
(``TOP_K``), the rounds of re-choosing a positive frame's cells (``ROUNDS``; 0: every cell of a positive frame
stays a positive), the regularisation ``C``, the two-state smoothing, thresholds chosen by cross-validation,
self-training, mirrored copies of the labelled frames (their features computed from the frames flipped left
to right by ``core.mirrored``, cached in ``CACHE/mirrored``), zoomed copies beside them (``CACHE/zoomed``), and a
positive frame's lowest cells as negatives. Random labels, and suggested ones for the variants
named by ``--suggested``:

    PYTHONPATH=. .venv/bin/python benchmarks/mil_head.py --cache /work/acc-cache --suggested "C 0.3" \
        "mirrored copies of the labelled frames"

Writes ``benchmarks/results/mil_head.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

import accuracy as acc  # the same folder as this script
import numpy as np


@dataclass(frozen=True)
class Variant:
    """One setting of the head; the defaults are the product's."""

    parts: tuple[str, ...] = ("cells", "pooled")
    top_k: int = 2
    rounds: int = 2
    C: float = 0.1
    typical_run_s: float = 0.0  # the two-state smoothing's prior (0: off, the product's default)
    threshold: str = "0.5"  # or "cv": one per character, chosen on out-of-fold probabilities (6x the fits)
    self_train: float = 0.0  # > 0: confident unlabelled moments join the labels (accuracy.Candidate)
    background: float = 0.0  # share of a positive frame's lowest cells taken as negatives (spatial.BACKGROUND_SHARE)
    mirrored: bool = False  # the labelled frames' mirror images are learned from too (the product's default now)
    zoom: float = 0.0  # > 0 (with mirrored): also the frames zoomed in on their centre to this share of each side

    def pipeline(self, base: dict[str, Any], dim: int) -> acc.Pipeline:
        """``accuracy.py``'s pipeline for this variant on the product's classifier settings ``base`` and
        features of ``dim`` values (a mirrored variant's moments carry their mirror's ``dim`` values beside)."""
        from core import Smoothing, config

        clf: dict[str, Any] = {**base, "C": self.C}
        if self.threshold == "cv":
            clf.update(threshold="cv", n_folds=config.CV_FOLDS)
        smoothing = Smoothing(typical_run_s=self.typical_run_s)
        return acc.Candidate(clf, settings=smoothing, self_train=self.self_train,
                             mirror_dim=dim if self.mirrored else 0)


VARIANTS: dict[str, Variant] = {
    "defaults (cells + pooled, top 2, 2 rounds, C 0.1, no HMM)": Variant(),
    "cells alone": Variant(parts=("cells",)),
    "pooled alone": Variant(parts=("pooled",)),
    "HMM 2.5 s": Variant(typical_run_s=2.5),
    "cells alone, HMM 2.5 s": Variant(parts=("cells",), typical_run_s=2.5),
    "pooled alone, HMM 2.5 s": Variant(parts=("pooled",), typical_run_s=2.5),
    "top 1 cell": Variant(top_k=1),
    "top 4 cells": Variant(top_k=4),
    "0 rounds (every cell of a positive frame positive)": Variant(rounds=0),
    "C 0.03": Variant(C=0.03),
    "C 0.3": Variant(C=0.3),
    "thresholds by CV": Variant(threshold="cv"),
    "self-training at 0.9": Variant(self_train=0.9),
    "mirrored copies of the labelled frames": Variant(mirrored=True),
    "mirrored copies and zoomed ones (the centre 80 %)": Variant(mirrored=True, zoom=0.8),
    "background: lowest half of a positive frame's cells as negatives": Variant(background=0.5),
    "background: lowest 90 % of a positive frame's cells as negatives": Variant(background=0.9),
}


class _ZoomedBackbone:
    """A backbone's features of its frames zoomed in on their centre (``share`` of each side, scaled back up to
    the input size), under a key of their own."""

    def __init__(self, inner: Any, share: float) -> None:
        self._inner, self._share = inner, share
        self.key = f"{inner.key}-zoom{round(share * 100)}"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def embed(self, batch: np.ndarray) -> np.ndarray:
        import cv2

        n, h, w, _ = batch.shape
        ch, cw = round(h * self._share), round(w * self._share)
        y, x = (h - ch) // 2, (w - cw) // 2
        out = np.stack([cv2.resize(img[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_LINEAR) for img in batch])
        return self._inner.embed(out)


class _ZoomedFactory:
    """:func:`core.features.backbone_factory`'s factory of ``family``, its backbones zoomed."""

    def __init__(self, family: str, share: float) -> None:
        from core.features import backbone_factory

        self._inner, self._share = backbone_factory(family), share
        self.default_spec = self._inner.default_spec

    def __call__(self, spec: Any, weights: Optional[str]) -> _ZoomedBackbone:
        return _ZoomedBackbone(self._inner(spec, weights), self._share)

    def candidate_keys(self, spec: Any, weights: Optional[str]) -> list[str]:
        return [f"{key}-zoom{round(self._share * 100)}" for key in self._inner.candidate_keys(spec, weights)]


def with_zoomed(X: np.ndarray, synth: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]], times: np.ndarray,
                cache: Path, share: float) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """:func:`accuracy.with_copies` of the zoomed frames (computed by the product's extraction into a cache of
    their own, ``cache / "zoomed"``)."""
    from core import extract_features
    from core.features import FeatureCache

    family, spec = acc.NETWORK
    store = FeatureCache(cache / "zoomed")

    def zoomed(video: Path) -> np.ndarray:
        return extract_features(video, 1.0, spec, None, cache=store, keep_thumbs=False,
                                backbone_factory=_ZoomedFactory(family, share)).features

    return acc.with_copies(X, synth, times, cache, zoomed)


@contextmanager
def head_settings(v: Variant) -> Iterator[None]:
    """:mod:`core.spatial`'s module settings set to ``v``'s for the block (read by the heads fitted in it, which
    keep them), and put back after it."""
    from core import spatial

    saved = spatial.PARTS, spatial.TOP_K, spatial.ROUNDS, spatial.BACKGROUND_SHARE
    spatial.PARTS, spatial.TOP_K, spatial.ROUNDS, spatial.BACKGROUND_SHARE = v.parts, v.top_k, v.rounds, v.background
    try:
        yield
    finally:
        spatial.PARTS, spatial.TOP_K, spatial.ROUNDS, spatial.BACKGROUND_SHARE = saved


def main(argv: Optional[Sequence[str]] = None) -> int:
    from core import config

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/acc-cache"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), metavar="NAME",
                    help="the variants to run (default: all)")
    ap.add_argument("--suggested", nargs="*", default=[], choices=list(VARIANTS), metavar="NAME",
                    help="variants also measured with suggested labels (6x slower)")
    ap.add_argument("--out", type=Path, default=acc.ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    os.environ["SCREENTIME_CACHE"] = str(args.cache)
    t0 = time.perf_counter()
    acc.NETWORK = acc.parse_network(config.BACKBONE)
    if acc.NETWORK[1].pooling != "cells":
        raise SystemExit(f"The product's features ({config.BACKBONE}) are not cell features: nothing to measure.")
    times, names, Y = acc.load_truth()
    fs = acc.load_features()
    X = fs.features[np.rint(times).astype(int)]
    synth, _, _ = acc.synthetic_data(args.cache / "synth-hard")
    base = acc.product_settings(fs.backbone)
    mirrors = (acc.with_mirrors(X, synth, times, args.cache) if any(VARIANTS[n].mirrored for n in args.variants)
               else None)
    results: dict[str, dict[str, float]] = {}
    details = []
    for name in args.variants:
        v = VARIANTS[name]
        pipe = v.pipeline(base, X.shape[1])
        strategies = ["random"] + (["suggested"] if name in args.suggested else [])
        film, clips = mirrors if v.mirrored and mirrors is not None else (X, synth)
        if v.zoom:
            film, clips = with_zoomed(film, clips, times, args.cache, v.zoom)
        with head_settings(v):
            rows = acc.protocols(pipe, film, Y, times, names, clips, range(args.seeds), strategies)
        results[name] = acc.headline(rows, names)
        details.append(f"### {name}\n\n" + acc.protocol_details(rows, names, acc.SYNTH_NAMES))
    per_hour_mb = fs.features[0].nbytes * 3600 / 1e6
    took = time.perf_counter() - t0
    text = ("# The spatial head's settings on every protocol (`benchmarks/mil_head.py`)\n\n"
            f"Features `{fs.backbone}` (weights `{fs.weights}`), {per_hour_mb:.0f} MB per hour of video at 1 fps; "
            f"{args.seeds} seeds; random labels, and suggested ones for {', '.join(args.suggested) or 'none'}; "
            f"{took:.0f} s in all.\n\n"
            + acc.headline_table(results, "macro F1 on unlabelled moments; synthetic: lowest character") + "\n"
            + "\n".join(details))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mil_head.md").write_text(text)
    meta = {"backbone": fs.backbone, "weights": fs.weights, "seeds": args.seeds, "suggested": args.suggested,
            "cache_mb_per_hour": per_hour_mb, "variants": {n: asdict(VARIANTS[n]) for n in args.variants}}
    (args.out / "mil_head.json").write_text(json.dumps({"meta": meta, "headline": results}, indent=1)
                                            .replace("NaN", "null"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
