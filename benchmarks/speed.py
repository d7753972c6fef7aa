"""Speed and memory of the character pipeline on a real film (issue: core engine, "Speed").

Measured in one run, each figure the median of ``--runs`` repetitions:

1. floor: bare inference of the feature network (``--backbone``, default the product's; ``embed``, batches
   of 16) on the sampled frames, already decoded and resized in memory, and the bare VGG16 floor beside it
   (the issue's cost target is set against VGG16's);
2. ``python -m core predict`` on the film with an empty cache (first run), as a user runs it;
3. the same again with the cache warm;
4. the tutorial's way: write every sampled frame as an image file, read each back, resize it, predict; run
   as a program of its own and timed like ``predict`` (importing TensorFlow and building the network included);
5. peak memory of the first-run ``predict`` (with its decoding process);
6. ``--training``: training on 300 labelled seconds of the film as the product trains
   (``core.jobs.train_model``: cross-validation included, and the labelled frames' mirror images, the first
   time into an empty cache and then cached; on pooled features also with the old ``kind="auto"``), on the
   film's real features of the product's network (extracted first if they are not cached, untimed) and its
   truth (``benchmarks/bbb_truth.csv``).

The model used by ``predict`` is the product's head for the network's features (the spatial head on cell
features, :func:`core.jobs.classifier_settings`) fitted to random features of the right size: prediction costs
the same whatever its weights, and making a real one would need the film's features first.

    python benchmarks/speed.py                       # the whole film, 3 runs (about 20 minutes on 2 cores)
    python benchmarks/speed.py --seconds 60 --runs 1 # a quick look on the first minute
    python benchmarks/speed.py --training --runs 3   # training on 300 labels only
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

FILM = ROOT.parent / "shared" / "data" / "big_buck_bunny_720p.mp4"


def cut(video: Path, seconds: float, out: Path) -> Path:
    """The first ``seconds`` of the video stream, its packets copied with PyAV (no ``ffmpeg`` program, and no
    re-encoding, so each frame costs as much to decode as in the film); no sound. Packets are copied in decode
    order while their decode time is before the end (as ``ffmpeg -t S -c copy`` did), so every frame has the frames
    it refers to; the few frames past the end that some of them need come along."""
    import av

    with av.open(str(video)) as src, av.open(str(out), "w", format="mp4") as dst:
        stream = src.streams.video[0]
        copy = dst.add_stream_from_template(stream)
        stop = (stream.start_time or 0) + round(Fraction(seconds) / stream.time_base)
        for packet in src.demux(stream):
            if packet.dts is None or packet.dts >= stop:
                break
            packet.stream = copy
            dst.mux(packet)
    return out


def make_model(model_dir: Path, backbone_key: str, weights: str, dim: int, spec=None) -> None:
    from core.backbone import FeatureSpec
    from core.classifier import ScreenTimeClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, dim)).astype(np.float32)
    Y = (rng.random((60, 2)) > 0.5).astype(np.uint8)
    spec = spec or FeatureSpec()
    from core.jobs import classifier_settings

    clf = ScreenTimeClassifier(**classifier_settings(backbone_key)).fit(X, Y, np.arange(60.0), ["A", "B"])
    clf.save(model_dir, extra={"backbone": backbone_key, "weights": weights, "every": 1.0,
                               "features": {"layers": list(spec.layers), "pooling": spec.pooling,
                                            "input_size": list(spec.input_size)}})


def sampled_frames(video: Path, size: tuple[int, int]) -> np.ndarray:
    """The network's input for every moment, as ``predict`` makes it."""
    from core.pictures import Scaler
    from core.video import SampleReader

    to_input = Scaler(size)
    return np.stack([to_input(frame) for _, _, _, frame in SampleReader(video, 1.0).decoded()])


def floor(backbone, frames: np.ndarray, batch: int = 16) -> float:
    backbone.embed(frames[:batch])  # warm-up: graph tracing is not inference
    t = time.perf_counter()
    for i in range(0, len(frames), batch):
        backbone.embed(frames[i:i + batch])
    return time.perf_counter() - t


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants now, from /proc (0 once it has ended)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += next((int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:")), 0)
    return total


def predict_cli(video: Path, model: Path, out: Path, cache: Path) -> tuple[float, float, dict]:
    """Wall seconds, peak memory in MB and the report of one ``python -m core predict`` in a child process.

    Memory is the larger of the process's own peak RSS (``VmHWM``, which starts afresh at ``exec``) and the peak
    of the RSS of it and its decoding process together, sampled every 0.1 s. (Neither ``ru_maxrss`` of the
    child, which Linux carries over from the forked parent's pages, nor ``RUSAGE_CHILDREN``, which counts
    TensorFlow's forked helper the same way, measures the child alone.)"""
    env = dict(os.environ, SCREENTIME_CACHE=str(cache))
    code = ("import runpy, sys, time; t = time.perf_counter(); sys.argv = ['core'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('core', run_name='__main__')\n"
            "except SystemExit as e:\n    rc = e.code\n"
            "hwm = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0]\n"
            "print('BENCH', time.perf_counter() - t, hwm, rc, file=sys.stderr)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, "predict", str(video), "--model", str(model), "--out",
                             str(out), "--quiet"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    peak_kb = 0
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.append(proc.stderr.read()), daemon=True)
    reader.start()
    while proc.poll() is None:
        peak_kb = max(peak_kb, _tree_rss_kb(proc.pid))
        time.sleep(0.1)
    reader.join()
    err = "".join(stderr)
    line = [ln for ln in err.splitlines() if ln.startswith("BENCH")]
    if not line or line[0].split()[3] != "0":
        raise RuntimeError(f"predict failed: {err[-2000:]}")
    _, secs, rss_kb, _ = line[0].split()
    report = json.loads((out / "report.json").read_text())
    return float(secs), max(int(rss_kb), peak_kb) / 1024, report


def tutorial_way(video: Path, backbone, workdir: Path) -> None:
    """The tutorial: save each sampled frame as a JPEG, then read every file back, resize and predict."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frame_id = 0
    names = []
    while True:
        ok, frame = cap.read()  # the tutorial decodes and converts every frame
        if not ok:
            break
        if frame_id % int(round(fps)) == 0:  # its `frameId % math.floor(frameRate) == 0`
            name = workdir / f"frame{frame_id}.jpg"
            cv2.imwrite(str(name), frame)
            names.append(name)
        frame_id += 1
    cap.release()
    h, w = backbone.input_size
    batch: list[np.ndarray] = []
    for name in names:
        img = cv2.cvtColor(cv2.imread(str(name)), cv2.COLOR_BGR2RGB)
        batch.append(cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR))
        if len(batch) == 16:
            backbone.embed(np.stack(batch))
            batch = []
    if batch:
        backbone.embed(np.stack(batch))


_AS_PROGRAM = {
    "fast": "from core.backbone import VGG16Backbone\ntutorial_way(video, VGG16Backbone(), work)\n",
    "faithful": "from core.backbone import _hed_vgg\ntutorial_faithful(video, work, _hed_vgg((224, 224, 3)))\n",
}


def tutorial_cli(video: Path, workdir: Path, way: str = "fast") -> float:
    """:func:`tutorial_way` (``fast``) or :func:`tutorial_faithful` as a program of its own, timed as
    :func:`predict_cli` times ``predict``: from the start of its code, so it too pays for importing TensorFlow
    and building the network."""
    code = ("import sys, time; t = time.perf_counter(); from pathlib import Path\n"
            "from speed import tutorial_faithful, tutorial_way\nvideo, work = Path(sys.argv[1]), Path(sys.argv[2])\n"
            + _AS_PROGRAM[way] + "print('BENCH', time.perf_counter() - t)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "benchmarks"))  # so the program imports this file as `speed`
    out = subprocess.run([sys.executable, "-c", code, str(video), str(workdir)], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("BENCH")]
    if out.returncode != 0 or not line:
        raise RuntimeError(f"the tutorial's way failed: {out.stderr[-2000:]}")
    return float(line[0].split()[1])


def tutorial_faithful(video: Path, workdir: Path, weights_from) -> None:
    """The tutorial's own code path: OpenCV writes every sampled frame (``frameId % floor(frameRate)``) as a
    JPEG; matplotlib reads the files back; scikit-image resizes them to 224x224 (``preserve_range``);
    ``preprocess_input``; ``VGG16(include_top=False).predict`` (Keras, float32). Weights are copied from our
    backbone (the tutorial downloads ImageNet's; the cost is the same)."""
    import math

    import cv2
    import keras
    import matplotlib.pyplot as plt
    from keras.applications.imagenet_utils import preprocess_input
    from skimage.transform import resize

    cap = cv2.VideoCapture(str(video))
    frame_rate = cap.get(5)
    names = []
    while cap.isOpened():
        frame_id = cap.get(1)
        ret, frame = cap.read()
        if not ret:
            break
        if frame_id % math.floor(frame_rate) == 0:
            name = workdir / f"frame{len(names)}.jpg"
            cv2.imwrite(str(name), frame)
            names.append(name)
    cap.release()
    X = np.array([plt.imread(str(n)) for n in names])
    X = np.array([resize(x, preserve_range=True, output_shape=(224, 224)).astype(int) for x in X])
    X = preprocess_input(X.astype(np.float32), mode="caffe")
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3))
    for layer in base.layers:
        if layer.get_weights():
            layer.set_weights(weights_from.get_layer(layer.name).get_weights())
    base.predict(X, verbose=0)


def training(runs: int, labels: int = 300) -> dict:
    """Seconds to train on ``labels`` random labelled seconds of the film as the product does
    (:func:`core.jobs.train_model`: cross-validation included and, with the spatial head, the labelled frames'
    mirror images): the first time (the mirror images decoded and computed, into an empty cache) and again
    (they are cached); on pooled features also with ``auto``."""
    from core import extract_features
    from core.cache import FeatureCache
    from core.jobs import classifier_settings, train_model
    from core.labels import LabelSet, read_labels_csv

    truth = read_labels_csv(ROOT / "benchmarks" / "bbb_truth.csv")
    fs = extract_features(FILM, 1.0)  # the product's feature network (core.config.BACKBONE)
    pick = np.sort(np.random.default_rng(0).choice(len(truth.times), labels, replace=False))
    lab = LabelSet(truth.times[pick], truth.names, truth.values[pick])
    default = classifier_settings(fs.backbone)  # the product's: the spatial head on cell features
    out: dict = {"labels": labels, "backbone": fs.backbone, "features": int(fs.features.shape[1]),
                 "cpu_count": os.cpu_count(), "default_kind": default["kind"]}
    kinds = [("default", None)] + ([("auto", "auto")] if default["kind"] != "spatial" else [])
    for name, kind in kinds:
        first, again, mirroring = [], [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix="screentime-mirrors-") as tmp:
                cache = FeatureCache(Path(tmp))
                stages: dict[str, float] = {}
                t = time.perf_counter()
                res = train_model([(fs, lab)], kind=kind, cache=cache,
                                  progress=lambda stage, done, total, seen=stages: seen.setdefault(
                                      stage, time.perf_counter()))
                first.append(time.perf_counter() - t)
                if "mirroring" in stages:
                    mirroring.append(stages["training"] - stages["mirroring"])
                t = time.perf_counter()
                train_model([(fs, lab)], kind=kind, cache=cache)
                again.append(time.perf_counter() - t)
        out[f"train_{name}_s"] = statistics.median(first)
        out[f"all_{name}"] = first
        out[f"train_{name}_again_s"] = statistics.median(again)
        out[f"all_{name}_again"] = again
        out[f"mirrored_{name}"] = res.n_mirrored
        if mirroring:
            out[f"mirroring_{name}_s"] = statistics.median(mirroring)
    import resource

    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the whole process, film included
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", type=Path, default=FILM)
    ap.add_argument("--seconds", type=float, default=0, help="use only the first S seconds (0: all)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--faithful-tutorial", action="store_true",
                    help="measure only the tutorial's own code path (matplotlib + scikit-image; "
                         "pip install -r benchmarks/requirements.txt)")
    ap.add_argument("--training", action="store_true", help="measure only training on 300 labels (6.)")
    ap.add_argument("--backbone", default=None, metavar="FAMILY[:HxW]",
                    help="the feature network of predict (default: the product's, core.config.BACKBONE); the bare "
                         "VGG16 floor is measured too, for the issue's target against it")
    args = ap.parse_args()
    if args.training:
        fig = training(args.runs)
        print(json.dumps(fig, indent=1))
        if args.json:
            args.json.write_text(json.dumps(fig, indent=1))
        return

    from core.backbone import VGG16Backbone

    work = Path(tempfile.mkdtemp(prefix="screentime-bench-"))
    video = cut(args.video, args.seconds, work / "clip.mp4") if args.seconds else args.video
    if args.faithful_tutorial:
        times = []
        for run in range(args.runs):
            tdir = work / f"faithful{run}"
            tdir.mkdir()
            times.append(tutorial_cli(video, tdir, "faithful"))
            shutil.rmtree(tdir)
        print(json.dumps({"tutorial_faithful_s": statistics.median(times), "all": times}))
        shutil.rmtree(work, ignore_errors=True)
        return
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from accuracy import parse_network

    from core import config
    from core.features import backbone_factory

    family, spec = parse_network(args.backbone or config.BACKBONE)
    backbone = backbone_factory(family)(spec, None)
    vgg16 = VGG16Backbone() if family != "vgg16" else backbone
    model = work / "model"
    make_model(model, backbone.key, backbone.weights, backbone.dim, spec)
    frames = sampled_frames(video, backbone.input_size)
    vgg_frames = frames if vgg16 is backbone else sampled_frames(video, vgg16.input_size)
    n = len(frames)
    floors, vgg_floors, firsts, warms, tutorials, rss = [], [], [], [], [], []
    for run in range(args.runs):
        floors.append(floor(backbone, frames))
        vgg_floors.append(floors[-1] if vgg16 is backbone else floor(vgg16, vgg_frames))
        cache = work / f"cache{run}"
        secs, mb, rep = predict_cli(video, model, work / f"out{run}", cache)
        assert rep["features_computed"] == n, (rep["features_computed"], n)
        firsts.append(secs)
        rss.append(mb)
        secs, _, rep = predict_cli(video, model, work / f"warm{run}", cache)
        assert rep["features_computed"] == 0
        warms.append(secs)
        tdir = work / f"tutorial{run}"
        tdir.mkdir()
        tutorials.append(tutorial_cli(video, tdir))
        shutil.rmtree(tdir)
        shutil.rmtree(cache)
    med = statistics.median
    fig = {
        "video": str(args.video.name), "seconds_used": args.seconds or None, "sampled_frames": n,
        "backbone": backbone.key, "runs": args.runs, "cpu_count": os.cpu_count(),
        "floor_s": med(floors), "vgg16_floor_s": med(vgg_floors), "first_run_s": med(firsts),
        "warm_run_s": med(warms), "tutorial_s": med(tutorials), "peak_rss_mb": med(rss),
        "all": {"floor": floors, "vgg16_floor": vgg_floors, "first": firsts, "warm": warms, "tutorial": tutorials,
                "rss_mb": rss},
    }
    fig["first_over_floor"] = fig["first_run_s"] / fig["floor_s"]
    fig["first_over_vgg16_floor"] = fig["first_run_s"] / fig["vgg16_floor_s"]
    fig["warm_over_first"] = fig["warm_run_s"] / fig["first_run_s"]
    fig["tutorial_over_first"] = fig["tutorial_s"] / fig["first_run_s"]
    print(json.dumps(fig, indent=1))
    floor_s, first_s, warm_s, tut_s = fig["floor_s"], fig["first_run_s"], fig["warm_run_s"], fig["tutorial_s"]
    vgg_s, over, over_vgg = fig["vgg16_floor_s"], fig["first_over_floor"], fig["first_over_vgg16_floor"]
    print(f"""
| figure | median of {args.runs} | target |
| --- | --- | --- |
| 1. bare {backbone.key} on the {n} sampled frames (floor) | {floor_s:.1f} s ({n / floor_s:.2f} frames/s) | |
| 1b. bare VGG16 inference (VGG16 floor) | {vgg_s:.1f} s ({n / vgg_s:.2f} frames/s) | |
| 2. `predict`, first run (cold cache) | {first_s:.1f} s = {over:.3f} x floor, {over_vgg:.3f} x VGG16 floor | \
<= 1.3 x VGG16 floor |
| 3. `predict`, warm cache | {warm_s:.2f} s = {100 * fig['warm_over_first']:.1f}% of first run | < 5% |
| 4. the tutorial's way (image files) | {tut_s:.1f} s = {fig['tutorial_over_first']:.2f} x our first run | >= 1.3 x |
| 5. peak memory of first-run `predict` | {fig['peak_rss_mb']:.0f} MB | < 2500 MB |
""")
    if args.json:
        args.json.write_text(json.dumps(fig, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
