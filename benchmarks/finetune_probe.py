r"""Probe: does fine-tuning the top of EfficientNet-Lite0 (the stride-32 blocks) help, against the frozen cells?

A benchmark only (nothing of the product changes). For every moment of Big Buck Bunny the film protocols use,
the network's map *before* the trainable top is cached once: the output of the last stride-16 stage (18x32x112
at 288x512), of the frame and of the frame flipped left to right (a forward pass of its own), computed through
the product's own extraction (:func:`core.extract_features`: FFmpeg decoding and scaling in the prefetcher)
with a backbone factory of this file, float16, under ``--cache`` (default ``/work/acc-cache/finetune``).

Then, for each protocol run of ``accuracy.py`` (the same label masks, seeds and scoring, through
``accuracy.protocol_rows``), a copy of the pretrained top (blocks 11..15: the stride-32 stage of 192 channels
and the last block of 320) and a per-character multiple-instance head are fine-tuned on the labelled frames
only: per-cell logits of the last block's output, a frame's cell logit = mean of its top-2 cells, plus an
average-pooled linear logit, the frame logit is their mean; BCE with per-character class balancing; augmented
by the mirrored map, random crops of the map resized back, feature noise and channel dropout. The frozen
defaults (the product's cells and spatial head through ``accuracy.Pipeline``) run in the same process on the
same masks.

    cd /work/main && OMP_NUM_THREADS=1 PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/finetune_probe.py

Writes ``benchmarks/results/finetune_probe.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy as acc  # noqa: E402  (the same folder as this script)
import numpy as np  # noqa: E402

CACHE = Path("/work/acc-cache/finetune")
MAP_KEY = "efflite0-imagenet-stage16map-288x512"


# ---- 1. the cached maps before the trainable top ----------------------------------------------------------
class MapBackbone:
    """EfficientNet-Lite0 up to its last stride-16 block: ``embed`` gives that map (H/16 x W/16 x 112),
    flattened, float16; ``mirrored``: of the frames flipped left to right."""

    def __init__(self, mirrored: bool = False) -> None:
        import torch

        from core import effnet

        self._bb = effnet.EfficientNetLite0Backbone(effnet.CELL_SPEC)
        torch.set_num_threads(1)
        self._torch = torch
        self.mirrored = mirrored
        self.input_size = self._bb.input_size
        self.weights = self._bb.weights
        self.mid = self._bb._mid
        h, w = self.input_size
        self.map_shape = (-(-h // 16), -(-w // 16), int(self._bb._net._blocks[self.mid]._project_conv.out_channels))
        self.dim = int(np.prod(self.map_shape))
        self.key = MAP_KEY + ("-mirrored" if mirrored else "")

    @property
    def net(self) -> Any:
        return self._bb._net

    def embed(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        if self.mirrored:
            batch = batch[:, :, ::-1]
        net = self.net
        with torch.no_grad():
            x = (torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float() - 127.0) / 128.0
            h = net._swish(net._bn0(net._conv_stem(x)))
            for block in net._blocks[:self.mid + 1]:
                h = block(h)
        return h.permute(0, 2, 3, 1).reshape(len(batch), -1).half().numpy()


class MapFactory:
    """A backbone factory (:class:`core.features.BackboneFactory`) for :class:`MapBackbone`."""

    def __init__(self, mirrored: bool = False) -> None:
        from core import effnet

        self.mirrored = mirrored
        self.default_spec = effnet.CELL_SPEC
        self._built: Optional[MapBackbone] = None

    def __call__(self, spec: Any, weights: Optional[str]) -> MapBackbone:
        if self._built is None:
            self._built = MapBackbone(self.mirrored)
        return self._built

    def candidate_keys(self, spec: Any, weights: Optional[str]) -> list[str]:
        return [MAP_KEY + ("-mirrored" if self.mirrored else "")]


def cached_maps(cache: Path, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(maps (T, 18, 32, 112) float16, mirrored maps, info) of the film's moments ``times``."""
    from core import extract_features
    from core.features import FeatureCache

    store = FeatureCache(cache)
    idx = np.rint(times).astype(int)
    out, info = [], {}
    for mirrored in (False, True):
        t0 = time.perf_counter()
        fs = extract_features(acc.VIDEO, 1.0, None, None, cache=store, keep_thumbs=False,
                              backbone_factory=MapFactory(mirrored))
        out.append(fs.features[idx].reshape(len(idx), 18, 32, 112))
        name = "mirrored" if mirrored else "plain"
        entry = store.entry_dir(fs.video_sha256, 1.0, fs.backbone) / "features.npz"
        info[name] = {"key": fs.backbone, "frames": len(fs), "computed": fs.computed,
                      "seconds": round(time.perf_counter() - t0, 1), "file_mb": entry.stat().st_size / 1e6,
                      "mb_per_hour_1fps": fs.features[0].nbytes * 3600 / 1e6}
    return out[0], out[1], info


# ---- 2. the fine-tuned top and its multiple-instance head ---------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    """How a top is fine-tuned (the settings of this probe; ``epochs`` chosen by :func:`choose_epochs`)."""

    epochs: int = 16
    batch: int = 16
    lr_top: float = 1e-4
    lr_head: float = 1e-3
    weight_decay: float = 1e-4
    crop: tuple[int, int] = (14, 25)  # the smallest random crop (rows, columns) of the 18x32 map, resized back
    noise: float = 0.1  # Gaussian noise, in per-channel standard deviations of the labelled maps
    channel_dropout: float = 0.1
    top_k: int = 2


def build_top(net: Any, mid: int, n_out: int) -> Any:
    """A trainable copy of the pretrained blocks after ``mid`` and a head of ``n_out`` characters: per-cell
    logits (1x1 convolution) of the last block's standardised output, a frame's = the mean of its top-k cells;
    and a linear logit of the output averaged over the grid."""
    import copy

    import torch
    from torch import nn

    class Top(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList(copy.deepcopy(b) for b in net._blocks[mid + 1:])
            c = int(self.blocks[-1]._project_conv.out_channels)
            self.register_buffer("mean", torch.zeros(1, c, 1, 1))
            self.register_buffer("scale", torch.ones(1, c, 1, 1))
            self.cell = nn.Conv2d(c, n_out, 1)
            self.pool = nn.Linear(c, n_out)
            for layer in (self.cell, self.pool):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
            self.top_k = 2

        def features(self, x: Any) -> Any:
            for b in self.blocks:
                x = b(x)
            return x

        def forward(self, x: Any) -> tuple[Any, Any]:
            z = (self.features(x) - self.mean) / self.scale
            cells = self.cell(z).flatten(2)  # (N, C, cells)
            top = cells.topk(self.top_k, dim=2).values.mean(2)
            return top, self.pool(z.mean((2, 3)))

    return Top()


def _augment(x: Any, r: Recipe, ch_std: Any, gen: Any) -> Any:
    """Random crop of each map (at least ``r.crop``) resized back to the map's size, noise, channel dropout."""
    import torch
    import torch.nn.functional as F

    n, c, h, w = x.shape
    out = []
    for i in range(n):
        ch = int(torch.randint(r.crop[0], h + 1, (1,), generator=gen))
        cw = int(torch.randint(r.crop[1], w + 1, (1,), generator=gen))
        y0 = int(torch.randint(0, h - ch + 1, (1,), generator=gen))
        x0 = int(torch.randint(0, w - cw + 1, (1,), generator=gen))
        piece = x[i:i + 1, :, y0:y0 + ch, x0:x0 + cw]
        out.append(piece if (ch, cw) == (h, w) else F.interpolate(piece, size=(h, w), mode="bilinear",
                                                                   align_corners=False))
    x = torch.cat(out)
    if r.noise:
        x = x + torch.randn(x.shape, generator=gen) * ch_std * r.noise
    if r.channel_dropout:
        keep = (torch.rand((n, c, 1, 1), generator=gen) >= r.channel_dropout).float()
        x = x * keep / (1 - r.channel_dropout)
    return x


def _tensor(maps: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(maps)).float().permute(0, 3, 1, 2)


class TopTrainer:
    """Fits a :func:`build_top` on labelled maps (and their mirrors) and predicts presence probabilities."""

    def __init__(self, net: Any, mid: int, recipe: Recipe) -> None:
        self.net, self.mid, self.recipe = net, mid, recipe

    def fit(self, maps: np.ndarray, mirrors: np.ndarray, Y: np.ndarray, seed: int,
            checkpoints: Sequence[int] = (), on_checkpoint: Any = None) -> Any:
        """Train on ``maps``/``mirrors`` (N, 18, 32, 112) with labels ``Y`` (N, C) in {0, 1}; calls
        ``on_checkpoint(epoch, model)`` after each epoch of ``checkpoints``."""
        import torch
        import torch.nn.functional as F

        torch.set_num_threads(1)
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        r = self.recipe
        model = build_top(self.net, self.mid, Y.shape[1])
        model.top_k = r.top_k
        model.eval()  # batch norms keep their pretrained statistics (batches of 16 frames are too few)
        X, Xm = _tensor(maps), _tensor(mirrors)
        with torch.no_grad():
            both = torch.cat([X, Xm])
            feats = torch.cat([model.features(both[i:i + 32]) for i in range(0, len(both), 32)])
            model.mean.copy_(feats.mean((0, 2, 3), keepdim=True))
            model.scale.copy_(feats.std((0, 2, 3), keepdim=True).clamp_min(1e-3))
            ch_std = both.std((0, 2, 3), keepdim=True)
        T = torch.from_numpy(np.asarray(Y, np.float32))
        pos = T.sum(0).clamp_min(1)
        neg = (len(T) - T.sum(0)).clamp_min(1)
        w_pos, w_neg = 0.5 * len(T) / pos, 0.5 * len(T) / neg  # both classes weigh half, per character
        head = list(model.cell.parameters()) + list(model.pool.parameters())
        if r.lr_top == 0:  # the control: the pretrained top stays as it is
            model.blocks.requires_grad_(False)
        opt = torch.optim.AdamW([{"params": model.blocks.parameters(), "lr": r.lr_top},
                                 {"params": head, "lr": r.lr_head}], weight_decay=r.weight_decay)
        last = max([r.epochs, *checkpoints])
        for epoch in range(1, last + 1):
            order = torch.randperm(len(T), generator=gen)
            for s in range(0, len(order), r.batch):
                b = order[s:s + r.batch]
                flip = torch.rand(len(b), generator=gen) < 0.5
                x = torch.where(flip[:, None, None, None], Xm[b], X[b])
                x = _augment(x, r, ch_std, gen)
                top, pooled = model(x)
                t = T[b]
                wt = torch.where(t == 1, w_pos, w_neg)
                loss = 0.5 * (F.binary_cross_entropy_with_logits(top, t, weight=wt)
                              + F.binary_cross_entropy_with_logits(pooled, t, weight=wt))
                opt.zero_grad()
                loss.backward()
                opt.step()
            if epoch in checkpoints and on_checkpoint is not None:
                on_checkpoint(epoch, model)
        return model

    @staticmethod
    def predict(model: Any, maps: np.ndarray, batch: int = 32) -> np.ndarray:
        """(N, C) probabilities: the mean of the top-k cells' and the pooled logit's sigmoids."""
        import torch

        out = []
        with torch.no_grad():
            for s in range(0, len(maps), batch):
                top, pooled = model(_tensor(maps[s:s + batch]))
                out.append(0.5 * (torch.sigmoid(top) + torch.sigmoid(pooled)))
        return torch.cat(out).numpy()


@dataclass
class FineTuned(acc.Pipeline):
    """``accuracy.py``'s pipeline with a fine-tuned top instead of the frozen spatial head. The moments' "features"
    are their indices into ``maps``; ``tta``: probabilities averaged with those of the mirrored maps. Fits are
    shared between the plain and the ``tta`` pipeline (``fits``: one per labelled mask)."""

    maps: Any = None
    mirrors: Any = None
    trainer: Any = None
    tta: bool = False
    fits: dict = field(default_factory=dict)
    timings: list = field(default_factory=list)

    def fit_predict(self, X: np.ndarray, Y: np.ndarray, times: np.ndarray, names: Sequence[str],
                    mask: np.ndarray, segments: Optional[np.ndarray] = None
                    ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        from core import Smoothing
        from core.smoothing import smooth_probs

        idx = np.rint(X[:, 0]).astype(int)
        Yl = Y[mask]
        cols = acc.trainable_columns(Yl)
        probs = np.zeros(Y.shape, np.float32)
        present = np.zeros(Y.shape, bool)
        if not cols:
            return probs, present, cols
        key = (np.flatnonzero(mask).tobytes(), tuple(cols))
        if key not in self.fits:
            lab = idx[mask]
            seed = int(np.flatnonzero(mask).sum()) % (2 ** 31)
            t0 = time.perf_counter()
            model = self.trainer.fit(self.maps[lab], self.mirrors[lab], Yl[:, cols], seed)
            took = time.perf_counter() - t0
            p_plain = TopTrainer.predict(model, self.maps[idx])
            p_mirror = TopTrainer.predict(model, self.mirrors[idx])
            self.timings.append({"labelled": int(mask.sum()), "epochs": self.trainer.recipe.epochs,
                                 "train_s": took, "predict_s": time.perf_counter() - t0 - took,
                                 "predicted": int(len(idx))})
            print(f"  fit on {int(mask.sum())} labels: train {took:.1f} s, predict {self.timings[-1]['predict_s']:.1f}"
                  f" s", flush=True)
            self.fits[key] = (p_plain, p_mirror)
        p_plain, p_mirror = self.fits[key]
        p = 0.5 * (p_plain + p_mirror) if self.tta else p_plain
        probs[:, cols] = p
        seg = np.zeros(len(X), int) if segments is None else np.asarray(segments)
        thr = np.full(len(cols), 0.5)
        for s_id in np.unique(seg):
            rows = seg == s_id
            present[np.ix_(rows, cols)] = smooth_probs(p[rows], thr, 1.0, self.settings or Smoothing())
        return probs, present, cols


# ---- 3. protocols, epochs by internal validation, the report ---------------------------------------------
PROTOCOLS = ("sparse", "cross A->B", "cross B->A")


def protocol_setup(protocol: str, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """(pool, evaluate, segments) of one of ``accuracy.film_protocols``' protocols, exactly as it sets them."""
    everything = np.ones(len(times), bool)
    if protocol == "sparse":
        return everything, everything, None
    a = times < acc.SPLIT_S
    parts = (~a).astype(int)
    pool = a if protocol == "cross A->B" else ~a
    return pool, ~pool, parts


def load_all(cache: Path) -> dict[str, Any]:
    """Truth, the product's frozen cell features of the film, and the cached maps."""
    from core import config

    os.environ.setdefault("SCREENTIME_CACHE", "/work/acc-cache")
    acc.NETWORK = acc.parse_network(config.BACKBONE)
    times, names, Y = acc.load_truth()
    fs = acc.load_features()
    maps, mirrors, info = cached_maps(cache, times)
    return {"times": times, "names": names, "Y": Y, "frozen": fs.features[np.rint(times).astype(int)],
            "backbone": fs.backbone, "maps": maps, "mirrors": mirrors, "cache_info": info}


def check_maps(d: dict[str, Any], bb: MapBackbone, n: int = 8) -> dict[str, float]:
    """The product's cells recomputed from the cached maps (pretrained top, 2x2 max-pool): how close they are
    to the product's cached features (float16 rounding of the map is the only difference expected)."""
    import torch

    from core import effnet

    net = bb.net
    idx = np.linspace(0, len(d["maps"]) - 1, n).astype(int)
    with torch.no_grad():
        mid = _tensor(d["maps"][idx])
        h = mid
        for block in net._blocks[bb.mid + 1:]:
            h = block(h)
        gh, gw = h.shape[2], h.shape[3]
        pooled = mid[:, :, :2 * gh, :2 * gw].reshape(n, mid.shape[1], gh, 2, gw, 2).amax((3, 5))
        cells = torch.cat([pooled, h], 1).permute(0, 2, 3, 1).reshape(n, -1).numpy()
    ref = np.asarray(d["frozen"][idx], np.float32)
    assert cells.shape == ref.shape and ref.shape[1] == 144 * effnet.CELL_DIM
    return {"max_abs_diff": float(np.abs(cells - ref).max()), "ref_abs_max": float(np.abs(ref).max()),
            "corr": float(np.corrcoef(cells.ravel(), ref.ravel())[0, 1])}


def choose_epochs(d: dict[str, Any], bb: MapBackbone, recipe: Recipe, checkpoints: Sequence[int],
                  folds: int = 3) -> dict[str, Any]:
    """Epochs by internal validation on the sparse protocol's labelled frames only (seed 0, 100 labels): the
    labelled frames in time order cut into ``folds`` contiguous blocks (neighbouring seconds look alike, so a
    random split would reward memorising), each block predicted by a top trained on the others; macro F1 at
    threshold 0.5 of the out-of-fold predictions at each checkpoint. No scored moment is used."""
    from core.validation import scores

    times, Y, names = d["times"], d["Y"], d["names"]
    mask = acc.choose_random(len(times), 100, np.random.default_rng([0, 100]), np.ones(len(times), bool))
    lab = np.flatnonzero(mask)  # already in time order
    blocks = np.array_split(np.arange(len(lab)), folds)
    oof = {e: np.zeros((len(lab), Y.shape[1])) for e in checkpoints}
    trainer = TopTrainer(bb.net, bb.mid, recipe)
    t0 = time.perf_counter()
    for k, held in enumerate(blocks):
        train = np.setdiff1d(np.arange(len(lab)), held)
        Yt = Y[lab[train]]
        cols = [j for j in range(Y.shape[1]) if 2 <= Yt[:, j].sum() <= len(Yt) - 2]

        def keep(epoch: int, model: Any, held: np.ndarray = held, cols: list[int] = cols) -> None:
            oof[epoch][np.ix_(held, cols)] = TopTrainer.predict(model, d["maps"][lab[held]])

        trainer.fit(d["maps"][lab[train]], d["mirrors"][lab[train]], Yt[:, cols], 1000 + k, checkpoints, keep)
        print(f"  fold {k}: {time.perf_counter() - t0:.0f} s", flush=True)
    f1 = {}
    for e in checkpoints:
        per = [scores(n, Y[lab, j] == 1, oof[e][:, j] >= 0.5).f1 for j, n in enumerate(names)]
        f1[e] = {"macro": float(np.mean(per)), **{n: float(v) for n, v in zip(names, per)}}
    best = max(checkpoints, key=lambda e: (round(f1[e]["macro"], 3), -e))
    return {"folds": folds, "checkpoints": list(checkpoints), "oof_f1": f1, "chosen": best,
            "seconds": time.perf_counter() - t0}


def run_jobs(d: dict[str, Any], bb: MapBackbone, recipe: Recipe, jobs: Sequence[tuple[str, int, int]],
             out_dir: Path, tta: bool, method: str = "finetuned") -> None:
    """Each (protocol, budget, seed): the fine-tuned top's rows (and the TTA variant's) and the frozen defaults',
    written to ``out_dir`` as one JSON each."""
    times, Y, names = d["times"], d["Y"], d["names"]
    frozen = acc.Pipeline(acc.product_settings(d["backbone"]))
    ft = FineTuned(maps=d["maps"], mirrors=d["mirrors"], trainer=TopTrainer(bb.net, bb.mid, recipe))
    ft_tta = FineTuned(maps=d["maps"], mirrors=d["mirrors"], trainer=ft.trainer, tta=True, fits=ft.fits,
                       timings=ft.timings)
    index = np.arange(len(times), dtype=np.float64)[:, None]
    out_dir.mkdir(parents=True, exist_ok=True)
    for protocol, budget, seed in jobs:
        pool, evaluate, segments = protocol_setup(protocol, times)
        res: dict[str, Any] = {"protocol": protocol, "budget": budget, "seed": seed, "recipe": recipe.__dict__}
        t0 = time.perf_counter()
        res["frozen"] = acc.protocol_rows(frozen, d["frozen"], Y, times, names, pool, evaluate, [budget], [seed],
                                          ["random"], protocol, segments)
        res["frozen_s"] = time.perf_counter() - t0
        n_before = len(ft.timings)
        res[method] = acc.protocol_rows(ft, index, Y, times, names, pool, evaluate, [budget], [seed],
                                             ["random"], protocol, segments)
        if tta:
            res[method + "_tta"] = acc.protocol_rows(ft_tta, index, Y, times, names, pool, evaluate, [budget],
                                                     [seed], ["random"], protocol, segments)
        res["timings"] = ft.timings[n_before:]
        ft.fits.clear()
        fr = np.mean([res["frozen"][0]["scores"][n]["f1"] for n in names])
        fi = np.mean([res[method][0]["scores"][n]["f1"] for n in names])
        print(f"{protocol} {budget} seed {seed}: frozen {fr:.3f}, {method} {fi:.3f}", flush=True)
        name = f"{protocol.replace(' ', '').replace('->', '-')}-{budget}-{seed}.json"
        (out_dir / name).write_text(json.dumps(res, indent=1, default=str).replace("NaN", "null"))


def _macro(rows: list[dict[str, Any]], names: Sequence[str]) -> np.ndarray:
    return np.array([np.mean([r["scores"][n]["f1"] for n in names]) for r in rows])


def report(out_dir: Path, names: Sequence[str], extra: dict[str, Any], results: Path) -> str:
    """Merge every job of ``out_dir`` into ``finetune_probe.md`` and ``.json`` under ``results``."""
    parts = [json.loads(p.read_text()) for p in sorted(out_dir.glob("*.json"))]
    for extra_dir in sorted(out_dir.parent.glob(out_dir.name + "-*")):  # e.g. parts-headonly: other methods
        if "provisional" in extra_dir.name:
            continue
        for p in sorted(extra_dir.glob("*.json")):
            other = json.loads(p.read_text())
            same = [q for q in parts if (q["protocol"], q["budget"], q["seed"]) ==
                    (other["protocol"], other["budget"], other["seed"])]
            for m in ("headonly", "headonly_tta"):
                if m in other and same:
                    same[0][m] = other[m]
                    same[0].setdefault("timings_" + m, other["timings"])
    methods = [m for m in ("frozen", "finetuned", "finetuned_tta", "headonly") if any(m in p for p in parts)]
    label = {"frozen": "frozen defaults (product cells + spatial head)",
             "finetuned": "fine-tuned top (blocks 11-15) + MIL head",
             "finetuned_tta": "fine-tuned, + mirrored test-time average",
             "headonly": "control: same head and augmentation, top frozen (lr 0)"}
    groups = sorted({(p["protocol"], p["budget"]) for p in parts}, key=lambda g: (PROTOCOLS.index(g[0]), g[1]))
    lines = ["| method | protocol | labels | seeds | macro F1 | " + " | ".join(names)
             + " | worst char mean abs err % |", "|---" * (6 + len(names)) + "|"]
    table: dict[str, Any] = {}
    for m in methods:
        for protocol, b in groups:
            rows = [r for p in parts if p["protocol"] == protocol and p["budget"] == b and m in p for r in p[m]]
            seeds = sorted(r["seed"] for r in rows)
            if not rows:
                continue
            mac = _macro(rows, names)
            per = {n: float(np.mean([r["scores"][n]["f1"] for r in rows])) for n in names}
            err = {n: float(np.nanmean([abs(r["scores"][n]["error_pct"]) for r in rows])) for n in names}
            worst = max(err, key=lambda n: err[n])
            table[f"{m} | {protocol} {b}"] = {"seeds": seeds, "macro_f1": float(mac.mean()),
                                             "macro_f1_std": float(mac.std()), "per_character_f1": per,
                                             "abs_error_pct": err, "worst": [worst, err[worst]]}
            lines.append(f"| {label[m]} | {protocol} | {b} | {len(seeds)} | {mac.mean():.3f} ± {mac.std():.3f} | "
                         + " | ".join(f"{per[n]:.3f}" for n in names) + f" | {err[worst]:.1f} ({worst}) |")
        for b in sorted({g[1] for g in groups if g[0].startswith("cross")}):
            rows = [r for p in parts if p["protocol"].startswith("cross") and p["budget"] == b and m in p
                    for r in p[m]]
            if {r["protocol"] for r in rows} != {"cross A->B", "cross B->A"}:
                continue
            head = acc.headline(rows, names)
            mac = _macro(rows, names)
            per = {n: float(np.mean([r["scores"][n]["f1"] for r in rows])) for n in names}
            key = f"cross random {b} worst |err| %"
            table[f"{m} | cross both {b}"] = {"runs": len(rows), "macro_f1": head[f"cross random {b}"],
                                             "per_character_f1": per, **({key: head[key]} if key in head else {})}
            err = {n: float(np.nanmean([abs(r["scores"][n]["error_pct"]) for r in rows])) for n in names}
            worst = max(err, key=lambda n: err[n])
            lines.append(f"| {label[m]} | **cross, both ways** | {b} | {len(rows)} runs | "
                         f"**{head[f'cross random {b}']:.3f}** ± {mac.std():.3f} | "
                         + " | ".join(f"{per[n]:.3f}" for n in names) + f" | {err[worst]:.1f} ({worst}) |")
    timings = [t for p in parts for t in p.get("timings", [])]
    by_n: dict[int, list[float]] = {}
    for t in timings:
        by_n.setdefault(t["labelled"], []).append(t["train_s"])
    extra = {**extra, "fit_seconds": {str(k): {"mean": float(np.mean(v)), "max": float(np.max(v)), "fits": len(v)}
                                      for k, v in sorted(by_n.items())},
             "predict_seconds_mean": float(np.mean([t["predict_s"] for t in timings])) if timings else None}
    results.mkdir(parents=True, exist_ok=True)
    (results / "finetune_probe.json").write_text(json.dumps({"meta": extra, "table": table, "parts": parts},
                                                            indent=1, default=str).replace("NaN", "null"))
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=("choose", "run", "time", "report", "all"))
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--jobs", nargs="*", default=None, metavar="PROTOCOL:BUDGET:SEED",
                    help="e.g. 'cross A->B:100:0' (default: sparse, cross both ways at 100, seeds 0-2)")
    ap.add_argument("--epochs", type=int, default=None, help="default: the chosen ones (step choose)")
    ap.add_argument("--checkpoints", type=int, nargs="+", default=[3, 6, 10, 15, 20])
    ap.add_argument("--lr-top", type=float, default=Recipe.lr_top,
                    help="0: the control, the top frozen (its results are stored as method 'headonly')")
    ap.add_argument("--tta", action="store_true", help="also score the mirrored test-time average")
    ap.add_argument("--parts", type=Path, default=None, help="where each job's JSON goes (default CACHE/parts)")
    ap.add_argument("--out", type=Path, default=acc.ROOT / "benchmarks" / "results")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    parts_dir = a.parts or a.cache / "parts"
    chosen_file = a.cache / "epochs.json"
    d = load_all(a.cache)
    bb = MapBackbone()
    torch.set_num_threads(1)
    if a.step in ("choose", "all"):
        res = choose_epochs(d, bb, Recipe(), a.checkpoints)
        chosen_file.write_text(json.dumps(res, indent=1))
        print("epochs:", json.dumps(res, indent=1))
    if a.step in ("run", "all"):
        epochs = a.epochs or json.loads(chosen_file.read_text())["chosen"]
        jobs = [(p, b, s) for p in PROTOCOLS for b in (100,) for s in range(3)] if a.jobs is None else [
            (j.rsplit(":", 2)[0], int(j.rsplit(":", 2)[1]), int(j.rsplit(":", 2)[2])) for j in a.jobs]
        print("check of the cached maps:", check_maps(d, bb), flush=True)
        run_jobs(d, bb, Recipe(epochs=epochs, lr_top=a.lr_top), jobs, parts_dir, a.tta,
                 "headonly" if a.lr_top == 0 else "finetuned")
    if a.step == "time":  # one fit on 300 random labels of the film (the product's budget), timed
        epochs = a.epochs or json.loads(chosen_file.read_text())["chosen"]
        mask = acc.choose_random(len(d["times"]), 300, np.random.default_rng([0, 300]))
        Yl = d["Y"][mask]
        t0 = time.perf_counter()
        TopTrainer(bb.net, bb.mid, Recipe(epochs=epochs)).fit(d["maps"][mask], d["mirrors"][mask], Yl, 0)
        res = {"labelled": 300, "epochs": epochs, "train_s": time.perf_counter() - t0, "threads": 1}
        print(res)
        (a.cache / "time300.json").write_text(json.dumps(res))
    if a.step in ("report", "all"):
        chosen = json.loads(chosen_file.read_text()) if chosen_file.exists() else None
        t300 = a.cache / "time300.json"
        extra = {"cache": d["cache_info"], "map_check": check_maps(d, bb), "epoch_choice": chosen,
                 "fit_300_labels": json.loads(t300.read_text()) if t300.exists() else None,
                 "frozen_backbone": d["backbone"], "torch_threads": torch.get_num_threads(),
                 "cpu_count": os.cpu_count()}
        table = report(parts_dir, d["names"], extra, a.out)
        meta = json.loads((a.out / "finetune_probe.json").read_text())["meta"]
        c = d["cache_info"]
        fits = ", ".join(f"{k} labels: {v['mean']:.0f} s (max {v['max']:.0f}, {v['fits']} fits)"
                         for k, v in meta["fit_seconds"].items())
        t3 = meta["fit_300_labels"]
        md = ("# Fine-tuning the top of EfficientNet-Lite0: a probe (`benchmarks/finetune_probe.py`)\n\n"
              f"Macro F1 on unlabelled moments (accuracy.py's masks, seeds, thresholds 0.5 and default smoothing), "
              f"random labels, mean ± std over runs; worst character: its mean |screen-time error| % over the runs."
              f"\n\n{table}\n"
              f"* Cache of the maps before the top (stride-16 output, 18x32x112, float16): "
              f"{c['plain']['mb_per_hour_1fps']:.0f} MB per hour of video at 1 fps, "
              f"{c['plain']['mb_per_hour_1fps'] + c['mirrored']['mb_per_hour_1fps']:.0f} MB with the mirrored maps "
              f"(the film: {c['plain']['file_mb']:.0f} + {c['mirrored']['file_mb']:.0f} MB for {c['plain']['frames']} "
              f"moments). Recomputing the product's cells from the cached maps: max |diff| "
              f"{meta['map_check']['max_abs_diff']:.4f} (values up to {meta['map_check']['ref_abs_max']:.0f}).\n"
              f"* Epochs chosen by internal validation (3 contiguous folds of the sparse protocol's 100 labelled "
              f"frames of seed 0; out-of-fold macro F1 "
              + ", ".join(f"{e}: {v['macro']:.3f}" for e, v in (meta["epoch_choice"] or {}).get("oof_f1", {}).items())
              + f"): **{(meta['epoch_choice'] or {}).get('chosen')}**.\n"
              f"* Training time per fit, 1 thread (another 1-thread job ran on the second core): {fits}; "
              f"prediction of the 491 moments (plain + mirrored) {meta['predict_seconds_mean']:.0f} s."
              + (f" One fit on 300 labels ({t3['epochs']} epochs): {t3['train_s']:.0f} s." if t3 else "") + "\n")
        print(md)
        (a.out / "finetune_probe.md").write_text(md)  # the prose is added by hand after reading the figures
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
