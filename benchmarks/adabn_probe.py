r"""Probe: does re-estimating EfficientNet-Lite0's batch-norm statistics on each video help (issue 11)?

A benchmark only (nothing of the product changes). The network's batch-norm layers normalise with ImageNet's
statistics. Another part of a film, another episode, has other light and colours, and every layer's inputs
shift with them. Re-estimating those statistics on the frames of the video being embedded (AdaBN: no labels
needed) is a cheap adaptation: a pass over the video's sampled frames before its features are computed.

For each video (the film, or one of its two parts for the cross-part protocol, or one synthetic clip), the
sampled frames are decoded and scaled by the product's own extraction (:func:`core.extract_features` with a
backbone factory of this file that keeps the frames), then:

1. every batch-norm layer's running statistics are reset and re-estimated on that video's frames (shuffled,
   in batches of :data:`BATCH`, the layers in training mode, a cumulative average);
2. the product's cell features (:meth:`core.effnet.EfficientNetLite0Backbone._cells`) are computed with those
   statistics.

The sparse protocol's features come from statistics of the whole film; the cross-part ones from each part's
own (part A's labelled frames embedded with A's, part B's scored frames with B's, and the other way round);
each synthetic clip from its own. The product's pipeline without mirror images (``accuracy.Pipeline``, the
spatial head) is scored on them and on the product's features, on the same label masks:

    cd /work/main && PYTHONPATH=. nice -n 5 .venv/bin/python benchmarks/adabn_probe.py --cache /work/acc-cache

Writes ``benchmarks/results/adabn_probe.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy as acc  # noqa: E402  (the same folder as this script)
import numpy as np  # noqa: E402

#: Frames per batch while the statistics are re-estimated (the layers normalise by each batch's statistics).
BATCH = 32
GRAB_KEY = "frames-288x512-grab"


class FrameGrabber:
    """A backbone (and its own factory) that keeps the frames the extraction gives it, scaled as the product
    scales them for EfficientNet-Lite0, and returns one zero per frame as its features."""

    def __init__(self) -> None:
        from core import effnet

        self.default_spec = effnet.CELL_SPEC
        self.input_size = effnet.CELL_SPEC.input_size
        self.weights = "none"
        self.key = GRAB_KEY
        self.dim = 1
        self.frames: list[np.ndarray] = []

    def __call__(self, spec: Any, weights: Optional[str]) -> FrameGrabber:
        return self

    def candidate_keys(self, spec: Any, weights: Optional[str]) -> list[str]:
        return [GRAB_KEY]

    def embed(self, batch: np.ndarray) -> np.ndarray:
        self.frames.append(np.array(batch, np.uint8))
        return np.zeros((len(batch), 1), np.float32)


def video_frames(video: Path, cache: Path) -> np.ndarray:
    """(T, 288, 512, 3) uint8: every sampled moment's frame of ``video`` at 1 fps, decoded once into ``cache``."""
    from core import extract_features
    from core.cache import FeatureCache

    cache.mkdir(parents=True, exist_ok=True)
    out = cache / f"{video.stem}.npy"
    if out.exists():
        return np.load(out)
    grab = FrameGrabber()
    with tempfile.TemporaryDirectory() as tmp:
        fs = extract_features(video, 1.0, None, None, cache=FeatureCache(Path(tmp)), keep_thumbs=False,
                              backbone_factory=grab)
    frames = np.concatenate(grab.frames)
    if len(frames) != len(fs):
        raise RuntimeError(f"{video}: {len(frames)} frames kept for {len(fs)} moments")
    np.save(out, frames)
    return frames


class Adapted:
    """The product's EfficientNet-Lite0 backbone whose batch-norm statistics can be re-estimated on frames."""

    def __init__(self) -> None:
        import torch

        from core import effnet

        self.bb = effnet.EfficientNetLite0Backbone(effnet.CELL_SPEC)
        self.torch = torch
        self.net = self.bb._net
        self.norms = [m for m in self.net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        self.imagenet = [(m.running_mean.clone(), m.running_var.clone()) for m in self.norms]

    def reset(self) -> None:
        """ImageNet's statistics back."""
        for m, (mean, var) in zip(self.norms, self.imagenet):
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)

    def adapt(self, frames: np.ndarray, seed: int = 0) -> None:
        """Every batch-norm layer's statistics re-estimated on ``frames`` (the layers up to the last block, the
        ones the cell features pass through; the head's are unused)."""
        torch, net = self.torch, self.net
        for m in self.norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the batches
        order = np.random.default_rng(seed).permutation(len(frames))
        for m in self.norms:
            m.train()
        try:
            with torch.no_grad():
                for start in range(0, len(order) - BATCH // 2, BATCH):  # no small last batch
                    batch = frames[np.sort(order[start:start + BATCH])]
                    self.bb._maps(batch)
        finally:
            net.eval()
            for m in self.norms:
                m.momentum = 0.1

    def cells(self, frames: np.ndarray) -> np.ndarray:
        """(T, cells x 432) float16 cell features of ``frames`` with the current statistics."""
        out = [self.bb.embed(frames[s:s + 16]) for s in range(0, len(frames), 16)]
        return np.concatenate(out)


def adapted_features(ad: Adapted, frames: np.ndarray, groups: Sequence[np.ndarray]) -> np.ndarray:
    """Cell features of every frame, each group (a boolean mask) embedded with statistics of its own frames."""
    out = np.zeros((len(frames), ad.bb.dim), np.float16)
    for g in groups:
        ad.adapt(frames[g])
        out[g] = ad.cells(frames[g])
    ad.reset()
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    from core import config

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("/work/acc-cache"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=acc.ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    os.environ["SCREENTIME_CACHE"] = str(args.cache)
    t0 = time.perf_counter()
    acc.NETWORK = acc.parse_network(config.BACKBONE)
    times, names, Y = acc.load_truth()
    fs = acc.load_features()
    idx = np.rint(times).astype(int)
    X = fs.features[idx]
    synth, _, _ = acc.synthetic_data(args.cache / "synth-hard")
    store = args.cache / "adabn"
    ad = Adapted()
    info: dict[str, Any] = {}

    frames = video_frames(acc.VIDEO, store / "frames")
    check = ad.cells(frames[idx[:8]])
    info["imagenet statistics reproduce the product's features (max |diff|)"] = float(
        np.abs(check.astype(np.float32) - X[:8].astype(np.float32)).max())
    t1 = time.perf_counter()
    everything = np.ones(len(frames), bool)
    moment = np.arange(len(frames))
    whole = adapted_features(ad, frames, [everything])[idx]
    info["seconds to adapt and embed the film"] = round(time.perf_counter() - t1, 1)
    split = adapted_features(ad, frames, [moment < acc.SPLIT_S, moment >= acc.SPLIT_S])[idx]
    adapted_synth = {}
    for video, _truth in acc.synthetic_clips(args.cache / "synth-hard"):
        seed = int(video.stem.rsplit("-", 1)[1])
        f = video_frames(video, store / "frames")
        F = adapted_features(ad, f, [np.ones(len(f), bool)])
        sel = np.rint(synth[seed][2]).astype(int)
        adapted_synth[seed] = (F[sel], synth[seed][1], synth[seed][2])

    pipe = acc.Pipeline(acc.product_settings(fs.backbone))
    seeds = range(args.seeds)
    a = times < acc.SPLIT_S
    parts = (~a).astype(int)
    everywhere = np.ones(len(times), bool)
    results: dict[str, dict[str, float]] = {}
    details = []
    for name, (sparse_X, cross_X, clips) in {
            "ImageNet statistics (the product, no mirror images)": (X, X, synth),
            "statistics re-estimated on each video": (whole, split, adapted_synth)}.items():
        rows = acc.protocol_rows(pipe, sparse_X, Y, times, names, everywhere, everywhere, acc.SPARSE_BUDGETS,
                                 seeds, ["random"], "sparse")
        for protocol, pool in (("cross A->B", a), ("cross B->A", ~a)):
            rows += acc.protocol_rows(pipe, cross_X, Y, times, names, pool, ~pool, acc.CROSS_BUDGETS, seeds,
                                      ["random"], protocol, parts)
        rows += acc.synthetic_protocol(pipe, clips, acc.SYNTH_NAMES, seeds, ["random"])
        results[name] = acc.headline(rows, names)
        details.append(f"### {name}\n\n" + acc.protocol_details(rows, names, acc.SYNTH_NAMES))
    took = time.perf_counter() - t0
    text = ("# Batch-norm statistics re-estimated on each video (`benchmarks/adabn_probe.py`)\n\n"
            f"Features `{fs.backbone}`; {args.seeds} seeds, random labels, no mirror images; {took:.0f} s in all. "
            + "; ".join(f"{k}: {v}" for k, v in info.items()) + ".\n\n"
            + acc.headline_table(results, "macro F1 on unlabelled moments; synthetic: lowest character") + "\n"
            + "\n".join(details))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "adabn_probe.md").write_text(text)
    (args.out / "adabn_probe.json").write_text(json.dumps({"meta": {"backbone": fs.backbone, "seeds": args.seeds,
                                                                     **info}, "headline": results}, indent=1)
                                               .replace("NaN", "null"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
