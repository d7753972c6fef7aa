"""Speed of the batch on Ray (``python -m core batch``): how to split the work on this machine's cores, and
what Ray itself costs.

It cuts 4 clips of Big Buck Bunny 720p (``--seconds`` each, default 30, at 1, 2, 3 and 4 minutes in) with
PyAV (``core.media.cut_clip``), trains a throw-away model on the VGG16 features of the first (the labels do
not matter for speed), then runs the whole batch (decode, VGG16, classifier, files) over the 4 clips with an
empty feature cache in each of these splits, each in a fresh local Ray:

* 1 video at a time with 1 thread (the reference),
* 1 video at a time with every core (TensorFlow's threads = the cores),
* as many videos at once as there are cores, 1 thread each.

It also measures Ray's start-up and its per-task overhead (empty tasks: a round trip one at a time, and many
at once). Prints a table and writes ``benchmarks/results/batch_speed.json``. Run it alone: it uses every core.

    python benchmarks/batch_speed.py
    python benchmarks/batch_speed.py --seconds 60 --video /work/shared/data/big_buck_bunny_720p.mp4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIDEO = Path("/work/shared/data/big_buck_bunny_720p.mp4")


def _noop() -> int:
    return 1


def ray_overhead(ray: object, n_seq: int = 50, n_par: int = 400) -> dict[str, float]:
    """Per-task cost of Ray: an empty task's round trip, one at a time and many at once (ms per task)."""
    import ray as _ray

    task = _ray.remote(num_cpus=1)(_noop)
    _ray.get([task.remote() for _ in range(20)])  # workers started
    t0 = time.perf_counter()
    for _ in range(n_seq):
        _ray.get(task.remote())
    seq = (time.perf_counter() - t0) / n_seq
    t0 = time.perf_counter()
    _ray.get([task.remote() for _ in range(n_par)])
    par = (time.perf_counter() - t0) / n_par
    return {"round_trip_ms": round(1000 * seq, 2), "many_at_once_ms_per_task": round(1000 * par, 2)}


def make_clips(src: Path, folder: Path, seconds: float) -> list[Path]:
    from core.media import cut_clip

    folder.mkdir(parents=True, exist_ok=True)
    return [cut_clip(src, folder / f"ep{k}.mp4", start_s=60.0 * k, length_s=seconds, crf=23, preset="veryfast")
            for k in range(1, 5)]


def make_model(clip: Path, folder: Path) -> Path:
    """A model on the HED VGG16 features of ``clip``: "A" on screen at every even second (speed only)."""
    import numpy as np

    from core.cache import FeatureCache
    from core.features import extract_features
    from core.jobs import train_model
    from core.labels import LabelSet

    fs = extract_features(clip, 1.0, cache=FeatureCache(folder / "train-cache"))
    vals = (np.arange(len(fs)) % 2 == 0).astype(np.uint8)[:, None]
    train_model([(fs, LabelSet(fs.times, ("A",), vals))], folder / "model", kind="linear")
    return folder / "model"


def one_split(clips: list[Path], model: Path, out: Path, cache: Path, workers: int, threads: int) -> dict[str, float]:
    import ray

    from core.batch import BatchSettings, RayEngine, run_batch

    env = {"SCREENTIME_CACHE": str(cache), "TF_CPP_MIN_LOG_LEVEL": "3"}
    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": env})
    start_s = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        res = run_batch(clips, out, BatchSettings(model_dir=model), RayEngine(workers=workers, threads=threads))
        wall = time.perf_counter() - t0
    finally:
        ray.shutdown()
    assert res.count("done") == len(clips), [o.reason for o in res.failed]
    moments = sum(o.moments for o in res.outcomes)
    return {"workers": workers, "threads": threads, "ray_start_s": round(start_s, 2), "wall_s": round(wall, 2),
            "moments": moments, "moments_per_s": round(moments / wall, 2),
            "task_s": [round(o.seconds, 2) for o in res.outcomes],
            "mean_task_s": round(statistics.mean(o.seconds for o in res.outcomes), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", type=Path, default=VIDEO)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of each of the 4 clips")
    a = ap.parse_args()
    cores = os.cpu_count() or 1
    splits = [(1, 1), (1, cores), (cores, 1)]
    with tempfile.TemporaryDirectory(prefix="batch-speed-") as tmp:
        t = Path(tmp)
        os.environ["SCREENTIME_CACHE"] = str(t / "train-cache")
        clips = make_clips(a.video, t / "clips", a.seconds)
        model = make_model(clips[0], t)
        results = []
        for k, (workers, threads) in enumerate(splits):
            r = one_split(clips, model, t / f"out{k}", t / f"cache{k}", workers, threads)
            results.append(r)
            print(json.dumps(r), flush=True)
        import ray

        ray.init(address="local", num_cpus=cores, include_dashboard=False, log_to_driver=False)
        try:
            overhead = ray_overhead(ray)
        finally:
            ray.shutdown()
    ref = results[0]["wall_s"]
    print(f"\n4 clips of {a.seconds:g} s of {a.video.name} (720p), every 1 s, HED VGG16, {cores} cores\n")
    print("| split | Ray start (s) | batch wall time (s) | moments/s | mean time per video (s) | speed-up |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['workers']} video(s) at once x {r['threads']} thread(s) | {r['ray_start_s']} | {r['wall_s']} | "
              f"{r['moments_per_s']} | {r['mean_task_s']} | {ref / r['wall_s']:.2f} x |")
    print(f"\nRay per task: {overhead['round_trip_ms']} ms round trip one at a time, "
          f"{overhead['many_at_once_ms_per_task']} ms per task when many are queued")
    out = ROOT / "benchmarks" / "results" / "batch_speed.json"
    out.write_text(json.dumps({"video": str(a.video), "clip_s": a.seconds, "cores": cores, "splits": results,
                               "ray_overhead": overhead}, indent=1) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
