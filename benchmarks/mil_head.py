"""A spatial multiple-instance head on EfficientNet-Lite0 maps, on the synthetic suite (issue 11, "Spatial heads").

Each cell of the head's map (7x7x1280 at 224x224, 9x16 at 288x512) gets a linear score; a frame's score is
their soft maximum (log-sum-exp, sharpness 4), so one small character in a corner can count. Balanced classes,
L2, L-BFGS. Trained on one clip (random labels), scored on every second of another (the pairs of
``benchmarks/accuracy.py``). The maps come from the product's network (``core.effnet``) on the frames as
``predict`` scales them:

    PYTHONPATH=. .venv/bin/python benchmarks/mil_head.py --cache /work/acc-cache [--size 288x512]

Prints, per budget and L2, each character's mean F1 over 3 pairs x 3 seeds and the lowest, and the size of
the map cache per hour of video.
"""

import argparse
import csv
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as nnf
from speed import sampled_frames  # the same folder

from core import effnet
from core.backbone import FeatureSpec

PAIRS = ((0, 100), (1, 101), (2, 102))
SHARPNESS = 4.0


def maps(net, frames, which):
    """float16 maps (N, C, H, W) of the head (1280 channels) or of the last stride-16 stage (112 channels)."""
    out = []
    with torch.no_grad():
        for i in range(0, len(frames), 16):
            mid, head = net._maps(frames[i:i + 16])
            out.append((head if which == "head" else mid).half().numpy())
    return np.concatenate(out)


def f1(y, p):
    tp = (y & p).sum()
    return 0.0 if tp == 0 else 2 * tp / (y.sum() + p.sum())


def cells(F, mu=None, sd=None):
    n, c, hh, ww = F.shape
    X = torch.from_numpy(F.astype(np.float32)).permute(0, 2, 3, 1).reshape(n, hh * ww, c)
    if mu is None:
        mu, sd = X.reshape(-1, c).mean(0), X.reshape(-1, c).std(0) + 1e-3
    return (X - mu) / sd, mu, sd


def fit_mil(F, y, l2, iters=300):
    """A predictor of P(present) per frame: linear cell scores, soft maximum over the cells."""
    X, mu, sd = cells(F)
    yt = torch.from_numpy(y.astype(np.float32))
    w = torch.zeros(X.shape[2], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=iters, line_search_fn="strong_wolfe")
    pos = yt.mean().clamp(0.05, 0.95)
    weight = torch.where(yt > 0, 0.5 / pos, 0.5 / (1 - pos))

    def closure():
        opt.zero_grad()
        z = torch.logsumexp((X @ w + b) * SHARPNESS, 1) / SHARPNESS
        loss = (weight * nnf.binary_cross_entropy_with_logits(z, yt, reduction="none")).mean() + l2 * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)

    def predict(Fn):
        Xn, _, _ = cells(Fn, mu, sd)
        with torch.no_grad():
            return torch.sigmoid(torch.logsumexp((Xn @ w + b) * SHARPNESS, 1) / SHARPNESS).numpy()

    return predict


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", default="/tmp/acc-cache")
    ap.add_argument("--maps", default="head", choices=("head", "mid"))
    ap.add_argument("--size", default="224x224", help="the network's input, HxW")
    args = ap.parse_args()
    torch.manual_seed(0)
    h, w = (int(v) for v in args.size.split("x"))
    net = effnet.EfficientNetLite0Backbone(FeatureSpec(effnet.LAYERS, "avgmax", (h, w)))
    M, T = {}, {}
    for sd in sorted({s for pair in PAIRS for s in pair}):
        video = Path(args.cache) / "synth-hard" / f"synth-hard-{sd}.mp4"
        M[sd] = maps(net, sampled_frames(video, (h, w)), args.maps)
        with open(f"{args.cache}/synth-hard/synth-hard-{sd}.csv") as fh:
            rows = list(csv.reader(fh))
        T[sd] = np.array([[int(v) for v in r[1:]] for r in rows[1:]])
    print("maps", M[0].shape, f"{M[0].nbytes / len(M[0]) * 3600 / 1e6:.0f} MB per hour at 1 fps (float16)")
    for budget in (20, 40, 80):
        for l2 in (1e-3, 1e-2):
            per = []
            for tr, te in PAIRS:
                for seed in range(3):
                    idx = np.random.default_rng([seed, budget]).choice(len(T[tr]), budget, replace=False)
                    f = []
                    for j in range(T[tr].shape[1]):
                        y = T[tr][idx, j]
                        if y.sum() < 2 or y.sum() > budget - 2:
                            f.append(0.0)
                            continue
                        f.append(f1(T[te][:, j] == 1, fit_mil(M[tr][idx], y, l2)(M[te]) >= 0.5))
                    per.append(f)
            mean = np.array(per).mean(0)
            print(args.maps, budget, l2, "per character mean F1", mean.round(3), "min", mean.min().round(3), flush=True)


if __name__ == "__main__":
    main()
