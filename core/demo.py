"""The bundled demo project, and which project the dashboard opens first.

``demo/`` holds a minute of *Big Buck Bunny*, its labels, its features (EfficientNet-Lite0, the default
network) and a trained model (remade by ``demo/make_demo.py``). :func:`create_demo` turns them into a ready
project without running any network: the features are seeded into the project's cache, the model is copied in
and measures the clip.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import ProjectError
from .features import make_thumbs
from .jobs import add_model_folder
from .labels import read_labels_csv, trainable_labels
from .project import DB_NAME, Project, list_projects, projects_root

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DEMO_NAME = "Demo - Big Buck Bunny"
_FILES = ("bbb_demo.mp4", "features.npz", "features.json", "labels.csv", "model/model.json", "model/weights.npz")


def demo_available(demo_dir: Path = DEMO_DIR) -> bool:
    return all((demo_dir / f).is_file() for f in _FILES)


def seed_features(p: Project, video_id: int, every: float, backbone: str, weights: str, times: np.ndarray,
                  features: np.ndarray, fps: str, duration_s: float) -> None:
    """Put features computed elsewhere (the bundled demo, a test) into a project's cache, make the
    thumbnails, and mark the video as sampled, exactly as :func:`core.jobs.sample_video` would leave it."""
    v = p.video(video_id)
    meta = {"video_sha256": v.sha256, "fps": str(fps), "duration_s": float(duration_s), "every": float(every),
            "backbone": backbone, "weights": weights, "frames": int(len(times))}
    p.cache.store(v.sha256, every, backbone, meta, {"times": np.asarray(times, np.float64),
                                                    "features": np.asarray(features, np.float32)})
    make_thumbs(p.video_path(v), every, p.cache, v.sha256)
    p.mark_sampled(video_id, every, backbone, len(times))


def create_demo(root: Optional[Path] = None, demo_dir: Path = DEMO_DIR) -> Project:
    """A ready project from the bundled demo: the clip, its characters and labels, its features (seeded
    into the cache, so no network runs) and its trained model with stored probabilities."""
    meta = json.loads((demo_dir / "features.json").read_text())
    p = Project.create(DEMO_NAME, root)
    try:
        with open(demo_dir / "bbb_demo.mp4", "rb") as f:
            v = p.import_video(f, "bbb_demo.mp4")
        if v.sha256 != meta["video_sha256"]:
            raise ProjectError("The demo files do not match each other: run python demo/make_demo.py again.")
        with np.load(demo_dir / "features.npz", allow_pickle=False) as z:
            times, feats = z["times"], z["features"]
        seed_features(p, v.id, float(meta["every"]), meta["backbone"], meta["weights"], times, feats, meta["fps"],
                      float(meta["duration_s"]))
        p.import_labels_csv(v.id, demo_dir / "labels.csv")
        add_model_folder(p, demo_dir / "model", trainable_labels(read_labels_csv(demo_dir / "labels.csv"))[1])
        p.set_setting("demo", "1")
    except BaseException:
        shutil.rmtree(p.root, ignore_errors=True)
        raise
    return p


_FIRST = threading.Lock()


def first_project(root: Optional[Path] = None) -> Project:
    """The project to open when none is chosen: the demo on a fresh start, else the most recently used."""
    with _FIRST:
        found = list_projects(root)
        if not found and demo_available():
            try:
                return create_demo(root)
            except FileExistsError:  # another session created it at the same moment
                found = list_projects(root)
        if not found:
            return Project.create("My project", root)
        base = projects_root(root)

        def used(slug: str) -> float:  # with WAL, recent writes touch project.db-wal first
            files = [base / slug / DB_NAME, base / slug / f"{DB_NAME}-wal"]
            return max(f.stat().st_mtime for f in files if f.exists())

        return Project(base / max(found, key=lambda p: used(p[0]))[0])
