"""Projects of the dashboard: videos, characters, labels, models and runs in one folder on disk.

A project is a folder under :func:`core.config.data_dir` (``$SCREENTIME_DATA``)::

    <data>/<slug>/project.db        SQLite (WAL): videos, characters, labels, models, runs, settings
    <data>/<slug>/videos/           the uploaded videos (names sanitised, never outside the project)
    <data>/<slug>/cache/            the project's FeatureCache (features + thumbnails, see core/cache.py)
    <data>/<slug>/models/<id>/      trained classifiers (model.json + weights.npz)
    <data>/<slug>/runs/<m>-<v>.npz  per model and video: the probabilities of every sampled moment

Labels are one row per (video, time, character) and are written with upserts in short transactions, so two
browser tabs on one project merge their clicks instead of overwriting each other. A time counts as labelled
when it has at least one row; a row of zeros for every character means "nobody we track".

No Streamlit here: the pages call these typed functions and show the one-sentence errors they raise.

>>> p = Project.create("Tom and Jerry")            # doctest: +SKIP
>>> v = p.import_video(open("ep1.mp4", "rb"), "ep1.mp4")   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Optional, Sequence

import numpy as np

from . import config
from .backbone import FeatureSpec, parse_key
from .cache import FeatureCache
from .classifier import ScreenTimeClassifier
from .errors import ScreenTimeError
from .features import FeatureSet, extract_features
from .hashing import file_sha256
from .labels import LabelSet, read_labels_csv
from .pictures import Thumbnails
from .progress import ProgressCallback, report
from .smoothing import Smoothing
from .timeline import Timeline
from .validation import Scores
from .video import SampleReader, probe_video

DB_NAME = "project.db"
SCHEMA_VERSION = 1
DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DEMO_NAME = "Demo - Big Buck Bunny"
MAX_CHARACTERS = 20
_CHUNK = 4 * 1024 * 1024
VIDEO_EXTENSIONS = ("mp4", "mov", "m4v", "mkv", "avi", "webm", "mpg", "mpeg", "wmv", "flv", "ts")

#: One heavy job (feature extraction) at a time per server process; others wait their turn.
HEAVY_JOB = threading.Lock()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, file TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL UNIQUE,
    fps REAL NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, duration_s REAL NOT NULL,
    size_bytes INTEGER NOT NULL, every REAL, backbone TEXT, n_moments INTEGER, added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS characters (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS labels (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    time_ms INTEGER NOT NULL,
    character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
    present INTEGER NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (video_id, time_ms, character_id));
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY, created REAL NOT NULL, dir TEXT NOT NULL, characters TEXT NOT NULL,
    skipped TEXT NOT NULL, n_labelled INTEGER NOT NULL, kind TEXT NOT NULL, scores TEXT NOT NULL,
    wrong TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    file TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (model_id, video_id));
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class ProjectError(ScreenTimeError):
    """Something the user asked of a project cannot be done; the message says what to do instead."""


# ---- names ---------------------------------------------------------------------------------------------------
def safe_filename(name: str, default: str = "video.mp4") -> str:
    """A file name that is safe to create inside a folder: no folders, no ``..``, no control characters.

    >>> safe_filename("../../etc/passwd.mp4"), safe_filename("C:\\\\x\\\\My clip (1).MP4")
    ('passwd.mp4', 'My clip (1).MP4')
    """
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = unicodedata.normalize("NFKC", base)
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    base = re.sub(r"\s+", " ", base).strip().lstrip(".").strip()
    if not base or base in (".", ".."):
        return default
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = stem[:80].strip() or "video"
    return f"{stem}.{ext[:10]}" if ext else stem


def slugify(name: str) -> str:
    """A folder name for a project name.

    >>> slugify("Tom & Jerry: season 1")
    'tom-jerry-season-1'
    """
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-zA-Z0-9]+", "-", s).strip("-").lower()
    return s[:60] or "project"


def clean_character_name(name: str) -> str:
    n = re.sub(r"\s+", " ", str(name or "")).strip()
    if not n:
        raise ProjectError("A character needs a name: type one, for example Tom.")
    if len(n) > 40:
        raise ProjectError("That name is too long: use at most 40 letters.")
    if n.lower() in ("nobody", "none", "time_s"):
        raise ProjectError(f"{n!r} is reserved: choose another name for the character.")
    if any(ch in n for ch in ",\n\r\t\"") or not n.isprintable():
        raise ProjectError("Character names cannot contain commas, quotes or line breaks: choose a plain name.")
    return n


# ---- records ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Video:
    id: int
    name: str
    file: str
    sha256: str
    fps: float
    width: int
    height: int
    duration_s: float
    size_bytes: int
    every: Optional[float]
    backbone: Optional[str]
    n_moments: Optional[int]

    @property
    def has_features(self) -> bool:
        return self.backbone is not None and self.every is not None


@dataclass(frozen=True)
class Character:
    id: int
    name: str
    position: int


@dataclass(frozen=True)
class WrongFrame:
    """A labelled moment the model got wrong in validation (it never saw that moment while learning)."""

    video_id: int
    time_s: float
    character: str
    labelled_present: bool
    probability: float


@dataclass(frozen=True)
class ModelRecord:
    id: int
    created: float
    dir: Path
    characters: tuple[str, ...]
    skipped: tuple[str, ...]
    n_labelled: int
    kind: str
    scores: dict[str, Scores]
    wrong: Optional[tuple[WrongFrame, ...]]  # None: not known (a model brought in, not trained here)


@dataclass(frozen=True)
class LabelCounts:
    frames: int
    nobody: int
    per_character: dict[str, int]


def trainable_labels(labels: LabelSet, min_each: int = 2) -> tuple[LabelSet, list[str]]:
    """Keep the characters with at least ``min_each`` moments with them and ``min_each`` without.

    Returns the reduced labels and the names left out (they need more labels before a model can learn them).
    """
    keep, skipped = [], []
    for j, n in enumerate(labels.names):
        pos = int(labels.values[:, j].sum()) if len(labels) else 0
        (keep if pos >= min_each and len(labels) - pos >= min_each else skipped).append(j)
    return (LabelSet(labels.times, tuple(labels.names[j] for j in keep), labels.values[:, keep], labels.lines),
            [labels.names[j] for j in skipped])


# ---- projects ---------------------------------------------------------------------------------------------
def projects_root(root: Optional[Path] = None) -> Path:
    return Path(root) if root is not None else config.data_dir()


def list_projects(root: Optional[Path] = None) -> list[tuple[str, str]]:
    """(slug, display name) of the projects under the data folder, by name."""
    base = projects_root(root)
    out = []
    if base.is_dir():
        for d in sorted(base.iterdir()):
            if (d / DB_NAME).is_file():
                try:
                    out.append((d.name, Project(d).name))
                except (sqlite3.Error, ScreenTimeError):
                    continue
    return sorted(out, key=lambda p: p[1].lower())


class Project:
    """One project folder and its database."""

    def __init__(self, folder: Path) -> None:
        self.root = Path(folder)
        if not (self.root / DB_NAME).is_file():
            raise ProjectError(f"There is no project at {self.root}: create it first.")
        self._init_db()

    # -- creation --------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, name: str, root: Optional[Path] = None) -> "Project":
        name = re.sub(r"\s+", " ", str(name or "")).strip()
        if not name:
            raise ProjectError("A project needs a name: type one, for example 'Season 1'.")
        if len(name) > 60:
            raise ProjectError("That project name is too long: use at most 60 letters.")
        base = projects_root(root)
        base.mkdir(parents=True, exist_ok=True)
        slug, k = slugify(name), 2
        while (base / slug).exists():
            if (base / slug / DB_NAME).is_file() and Project(base / slug).name.lower() == name.lower():
                raise ProjectError(f"A project called {name!r} exists already: open it or choose another name.")
            slug = f"{slugify(name)}-{k}"
            k += 1
        folder = base / slug
        folder.mkdir(parents=True)
        sqlite3.connect(folder / DB_NAME).close()
        p = cls(folder)
        with p._tx() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES ('name', ?)", (name,))
            c.execute("INSERT OR REPLACE INTO meta VALUES ('created', ?)", (str(time.time()),))
        return p

    @classmethod
    def open(cls, slug: str, root: Optional[Path] = None) -> "Project":
        if slug != safe_filename(slug, "") or slug in ("", ".", ".."):
            raise ProjectError("That is not a project name we know: choose one from the list.")
        return cls(projects_root(root) / slug)

    @property
    def slug(self) -> str:
        return self.root.name

    @property
    def name(self) -> str:
        with self._conn() as c:
            row = c.execute("SELECT value FROM meta WHERE key='name'").fetchone()
        return row[0] if row else self.slug

    @property
    def cache(self) -> FeatureCache:
        return FeatureCache(self.root / "cache")

    # -- database ----------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        c = sqlite3.connect(self.root / DB_NAME, timeout=15.0, isolation_level=None)
        try:
            c.execute("PRAGMA foreign_keys=ON")
            c.execute("PRAGMA busy_timeout=15000")
            yield c
        finally:
            c.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction (BEGIN IMMEDIATE: writers queue instead of failing halfway)."""
        with self._conn() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    def _init_db(self) -> None:
        try:
            with self._conn() as c:
                c.execute("PRAGMA journal_mode=WAL")
                c.executescript(_SCHEMA)
                c.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError:
            raise ProjectError(f"The project file in {self.root.name} is damaged: "
                               "restore it from a backup or create a new project.") from None

    def get_setting(self, key: str, default: Optional[str] = None) -> Optional[str]:
        with self._conn() as c:
            row = c.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                      (key, str(value)))

    def smoothing(self) -> Smoothing:
        try:
            return Smoothing(float(self.get_setting("bridge_gaps_s", str(config.BRIDGE_GAPS_S)) or 0),
                             float(self.get_setting("min_appearance_s", str(config.MIN_APPEARANCE_S)) or 0),
                             float(self.get_setting("typical_run_s", str(config.TYPICAL_RUN_S)) or 0))
        except ValueError:
            return Smoothing()

    def set_smoothing(self, s: Smoothing) -> None:
        self.set_setting("bridge_gaps_s", f"{s.bridge_gaps_s:g}")
        self.set_setting("min_appearance_s", f"{s.min_appearance_s:g}")
        self.set_setting("typical_run_s", f"{s.typical_run_s:g}")

    # -- videos ------------------------------------------------------------------------------------------------
    def videos(self) -> list[Video]:
        with self._conn() as c:
            rows = c.execute("SELECT id, name, file, sha256, fps, width, height, duration_s, size_bytes, every, "
                             "backbone, n_moments FROM videos ORDER BY id").fetchall()
        return [Video(*r) for r in rows]

    def video(self, video_id: int) -> Video:
        for v in self.videos():
            if v.id == video_id:
                return v
        raise ProjectError("That video is no longer in this project: choose another one on the Video page.")

    def video_path(self, v: Video) -> Path:
        return self.root / "videos" / v.file

    def import_video(self, data: IO[bytes], filename: str, progress: Optional[ProgressCallback] = None,
                     size: int = 0) -> Video:
        """Stream ``data`` to the project's videos folder in chunks, check it is a readable video, record it.

        The same content imported twice is recorded once. Raises :class:`VideoError` (not a video, empty,
        truncated header...) or :class:`ProjectError`, and then leaves no file behind.
        """
        name = safe_filename(filename)
        ext = name.rpartition(".")[2].lower() if "." in name else ""
        if ext not in VIDEO_EXTENSIONS:
            raise ProjectError(f"{name} does not look like a video file: choose an MP4, MOV, MKV, AVI or WEBM file.")
        folder = self.root / "videos"
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".upload-", suffix=f".{ext}", dir=folder)
        tmp = Path(tmp_name)
        try:
            written = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := data.read(_CHUNK):
                    written += len(chunk)
                    if written > config.MAX_VIDEO_BYTES:
                        gib = config.MAX_VIDEO_BYTES / 1024**3
                        raise ProjectError(f"{name} is larger than {gib:.0f} GiB: cut it into shorter parts and "
                                           "add them one by one.")
                    out.write(chunk)
                    report(progress, "saving", written, size)
            info = probe_video(tmp)
            sha = file_sha256(tmp)
            with self._conn() as c:
                row = c.execute("SELECT id FROM videos WHERE sha256=?", (sha,)).fetchone()
            if row:
                tmp.unlink()
                return self.video(int(row[0]))
            final = folder / name
            stem, _, _ = name.rpartition(".")
            k = 2
            while final.exists():
                final = folder / f"{stem} ({k}).{ext}"
                k += 1
            if final.resolve().parent != folder.resolve():  # belt and braces: never outside the project
                raise ProjectError("That file name cannot be used: rename the file and try again.")
            os.replace(tmp, final)
            with self._tx() as c:
                cur = c.execute(
                    "INSERT INTO videos (name, file, sha256, fps, width, height, duration_s, size_bytes, added) "
                    "VALUES (?,?,?,?,?,?,?,?,?)", (name, final.name, sha, float(info.fps), info.width, info.height,
                                                   info.duration_s, info.size_bytes, time.time()))
                vid = int(cur.lastrowid or 0)
            return self.video(vid)
        finally:
            if tmp.exists():
                tmp.unlink()

    def remove_video(self, video_id: int) -> None:
        v = self.video(video_id)
        with self._tx() as c:
            c.execute("DELETE FROM videos WHERE id=?", (video_id,))
        with contextlib.suppress(OSError):
            self.video_path(v).unlink()

    def extract(self, video_id: int, every: float, progress: Optional[ProgressCallback] = None) -> FeatureSet:
        """Sample the video every ``every`` seconds and compute (or reuse) its features; one job at a time."""
        v = self.video(video_id)
        if not 0.1 <= every <= 60:
            raise ProjectError("Choose a sampling step between 0.1 and 60 seconds.")
        while not HEAVY_JOB.acquire(timeout=0.5):
            report(progress, "waiting", 0, 0)  # another user's job runs first; the callback may cancel
        # Videos of one project share one model, so they must share one kind of features: a new video takes
        # the backbone of the project's first featurised video (the demo's HED features stay HED even where
        # ImageNet weights could be downloaded).
        known = [parsed for o in self.videos() if o.backbone and o.id != video_id
                 and (parsed := parse_key(o.backbone)) is not None]
        weights, spec = known[0] if known else (None, FeatureSpec())
        try:
            fs = extract_features(self.video_path(v), every, spec, weights, cache=self.cache, progress=progress)
        finally:
            HEAVY_JOB.release()
        with self._tx() as c:
            c.execute("UPDATE videos SET every=?, backbone=?, n_moments=? WHERE id=?",
                      (fs.every, fs.backbone, len(fs), video_id))
        return fs

    def seed_features(self, video_id: int, every: float, backbone: str, weights: str, times: np.ndarray,
                      features: np.ndarray, fps: str, duration_s: float) -> None:
        """Put features computed elsewhere (the bundled demo, a test) into the project's cache, make the
        thumbnails, and mark the video as sampled, exactly as :meth:`extract` would leave it."""
        v = self.video(video_id)
        meta = {"video_sha256": v.sha256, "fps": str(fps), "duration_s": float(duration_s), "every": float(every),
                "backbone": backbone, "weights": weights, "frames": int(len(times))}
        self.cache.store(v.sha256, every, backbone, meta, {"times": np.asarray(times, np.float64),
                                                           "features": np.asarray(features, np.float32)})
        make_thumbs(self.video_path(v), every, self.cache, v.sha256)
        with self._tx() as c:
            c.execute("UPDATE videos SET every=?, backbone=?, n_moments=? WHERE id=?",
                      (float(every), backbone, int(len(times)), video_id))

    def features(self, v: Video) -> Optional[FeatureSet]:
        """The stored features of a video (no network is run), or None when it has not been sampled yet."""
        if not v.has_features:
            return None
        assert v.every is not None and v.backbone is not None
        cache = self.cache
        entry = cache.load(v.sha256, v.every, v.backbone)
        if entry is None:
            return None
        m = entry["meta"]
        thumbs = cache.thumbs_dir(v.sha256, v.every)
        from fractions import Fraction
        return FeatureSet(video=self.video_path(v), video_sha256=v.sha256, fps=Fraction(m["fps"]),
                          duration_s=float(m["duration_s"]), every=float(m["every"]), backbone=m["backbone"],
                          weights=m["weights"], times=entry["times"], features=entry["features"],
                          thumbs_dir=thumbs if thumbs.is_dir() else None)

    def moments(self, v: Video) -> Optional[np.ndarray]:
        """The sampled moments of a video (seconds), or None before sampling. Reads only the times, not the
        feature matrix: the Label and Video pages call this on every click."""
        if not v.has_features:
            return None
        assert v.every is not None and v.backbone is not None
        entry = self.cache.load(v.sha256, v.every, v.backbone, arrays=("times",))
        return None if entry is None else entry["times"]

    # -- characters -------------------------------------------------------------------------------------------
    def characters(self) -> list[Character]:
        with self._conn() as c:
            rows = c.execute("SELECT id, name, position FROM characters ORDER BY position, id").fetchall()
        return [Character(*r) for r in rows]

    def add_character(self, name: str) -> Character:
        n = clean_character_name(name)
        with self._tx() as c:
            if c.execute("SELECT 1 FROM characters WHERE name=?", (n,)).fetchone():
                raise ProjectError(f"There is already a character called {n}: choose another name.")
            if c.execute("SELECT COUNT(*) FROM characters").fetchone()[0] >= MAX_CHARACTERS:
                raise ProjectError(f"A project can follow at most {MAX_CHARACTERS} characters: remove one first.")
            pos = c.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM characters").fetchone()[0]
            cur = c.execute("INSERT INTO characters (name, position) VALUES (?, ?)", (n, pos))
            return Character(int(cur.lastrowid or 0), n, int(pos))

    def rename_character(self, character_id: int, name: str) -> None:
        n = clean_character_name(name)
        with self._tx() as c:
            other = c.execute("SELECT id FROM characters WHERE name=?", (n,)).fetchone()
            if other and other[0] != character_id:
                raise ProjectError(f"There is already a character called {n}: choose another name.")
            c.execute("UPDATE characters SET name=? WHERE id=?", (n, character_id))

    def remove_character(self, character_id: int) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM characters WHERE id=?", (character_id,))

    # -- labels -----------------------------------------------------------------------------------------------
    @staticmethod
    def _ms(time_s: float) -> int:
        return int(round(float(time_s) * 1000))

    def set_present(self, video_id: int, time_s: float, character_id: int, present: bool) -> None:
        """Say whether one character is on screen at one moment; the moment becomes labelled (others absent
        unless labelled otherwise). Only that character's row changes, so other tabs' clicks survive."""
        t, now = self._ms(time_s), time.time()
        with self._tx() as c:
            c.execute("INSERT INTO labels VALUES (?,?,?,?,?) ON CONFLICT(video_id, time_ms, character_id) "
                      "DO UPDATE SET present=excluded.present, updated=excluded.updated",
                      (video_id, t, character_id, int(bool(present)), now))
            c.execute("INSERT OR IGNORE INTO labels SELECT ?, ?, id, 0, ? FROM characters", (video_id, t, now))

    def set_frame(self, video_id: int, time_s: float, present_ids: Sequence[int]) -> None:
        """Say exactly who is on screen at one moment (an empty list means nobody)."""
        t, now = self._ms(time_s), time.time()
        ids = {int(i) for i in present_ids}
        with self._tx() as c:
            for (cid,) in c.execute("SELECT id FROM characters").fetchall():
                c.execute("INSERT INTO labels VALUES (?,?,?,?,?) ON CONFLICT(video_id, time_ms, character_id) "
                          "DO UPDATE SET present=excluded.present, updated=excluded.updated",
                          (video_id, t, cid, int(cid in ids), now))

    def clear_frame(self, video_id: int, time_s: float) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM labels WHERE video_id=? AND time_ms=?", (video_id, self._ms(time_s)))

    def frame_labels(self, video_id: int) -> dict[float, set[int]]:
        """Labelled moments of a video: time -> ids of the characters on screen (empty set: nobody)."""
        out: dict[float, set[int]] = {}
        with self._conn() as c:
            for t, cid, present in c.execute("SELECT time_ms, character_id, present FROM labels WHERE video_id=?",
                                             (video_id,)):
                s = out.setdefault(t / 1000.0, set())
                if present:
                    s.add(int(cid))
        return out

    def label_set(self, video_id: int) -> LabelSet:
        chars = self.characters()
        index = {c.id: c.name for c in chars}
        rows = [(t, [index[i] for i in ids if i in index]) for t, ids in sorted(self.frame_labels(video_id).items())]
        return LabelSet.from_rows(rows, [c.name for c in chars])

    def label_counts(self, video_id: Optional[int] = None) -> LabelCounts:
        chars = self.characters()
        per = {c.name: 0 for c in chars}
        frames = nobody = 0
        vids = [video_id] if video_id is not None else [v.id for v in self.videos()]
        names = {c.id: c.name for c in chars}
        for vid in vids:
            for ids in self.frame_labels(vid).values():
                frames += 1
                nobody += not ids
                for i in ids:
                    if i in names:
                        per[names[i]] += 1
        return LabelCounts(frames, nobody, per)

    def import_labels_csv(self, video_id: int, path: Path) -> int:
        """Add the rows of a labels CSV (either form of core.labels) to a video; unknown characters are added."""
        lab = read_labels_csv(path)
        known = {c.name.lower(): c for c in self.characters()}
        ids = []
        for n in lab.names:
            ch = known.get(n.lower()) or self.add_character(n)
            ids.append(ch.id)
        for t, row in zip(lab.times, lab.values):
            self.set_frame(video_id, float(t), [i for i, v in zip(ids, row) if v])
        return len(lab)

    # -- models and runs --------------------------------------------------------------------------------------
    def training_pairs(self) -> tuple[list[tuple[FeatureSet, LabelSet, Video]], list[str]]:
        """Per sampled video with labels: its features and labels restricted to the characters that have
        enough examples over all videos; and the names left out."""
        chars = self.characters()
        if not chars:
            raise ProjectError("Add the characters you want to follow on the Label page first.")
        found = []
        for v in self.videos():
            fs = self.features(v)
            if fs is None:
                continue
            lab = self.label_set(v.id)
            if len(lab):
                found.append((fs, lab, v))
        if not found:
            raise ProjectError("No labelled moments yet: sample a video on the Video page, then tick who is "
                               "visible in some frames on the Label page.")
        allv = np.concatenate([lab.values for _, lab, _ in found])
        total = LabelSet(np.zeros(len(allv)), found[0][1].names, allv)
        usable, skipped = trainable_labels(total)
        if not usable.names:
            raise ProjectError("Every character needs at least 2 labelled frames where they are visible and 2 "
                               "where they are not: label a few more frames.")
        keep = [found[0][1].names.index(n) for n in usable.names]
        pairs = [(fs, LabelSet(lab.times, usable.names, lab.values[:, keep]), v) for fs, lab, v in found]
        return pairs, skipped

    def train(self, progress: Optional[ProgressCallback] = None) -> ModelRecord:
        """Train on every labelled moment of the project, then predict every sampled video (no network)."""
        from .jobs import train_model

        pairs, skipped = self.training_pairs()
        models = self.root / "models"
        models.mkdir(parents=True, exist_ok=True)
        model_dir = Path(tempfile.mkdtemp(prefix="model-", dir=models))
        try:
            # One BLAS thread: on a busy 2-core machine many threads on tiny matrices are ten times slower.
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1):
                res = train_model([(fs, lab) for fs, lab, _ in pairs], model_dir, progress=progress)
        except BaseException:
            shutil.rmtree(model_dir, ignore_errors=True)
            raise
        clf = res.classifier
        wrong: list[WrongFrame] = []
        if clf.oof_proba_ is not None:
            row = 0
            for fs, lab, v in pairs:
                idx, vals = lab.align(fs.times, fs.every)
                P = clf.oof_proba_[row:row + len(idx)]
                for k, i in enumerate(idx):
                    for j, n in enumerate(clf.names_):
                        truth, p = bool(vals[k, j]), float(P[k, j])
                        if truth != (p >= float(clf.thresholds_[j])):
                            wrong.append(WrongFrame(v.id, float(fs.times[i]), n, truth, round(p, 3)))
                row += len(idx)
        wrong.sort(key=lambda w: -abs(w.probability - 0.5))
        with self._tx() as c:
            cur = c.execute("INSERT INTO models (created, dir, characters, skipped, n_labelled, kind, scores, wrong) "
                            "VALUES (?,?,?,?,?,?,?,?)",
                            (time.time(), model_dir.name, json.dumps(list(clf.names_)), json.dumps(skipped),
                             res.n_labelled, clf.kind_,
                             json.dumps({n: s.__dict__ for n, s in clf.cv_scores_.items()}),
                             json.dumps([w.__dict__ for w in wrong])))
            model_id = int(cur.lastrowid or 0)
        self.predict_all(model_id, clf)
        return self.model(model_id)

    def register_model(self, src_dir: Path, skipped: Sequence[str] = ()) -> ModelRecord:
        """Copy a saved model folder into the project (the demo's), and predict every sampled video."""
        clf, _ = ScreenTimeClassifier.load(src_dir)
        models = self.root / "models"
        models.mkdir(parents=True, exist_ok=True)
        model_dir = Path(tempfile.mkdtemp(prefix="model-", dir=models))
        for f in ("model.json", "weights.npz"):
            shutil.copy2(Path(src_dir) / f, model_dir / f)
        with self._tx() as c:
            cur = c.execute("INSERT INTO models (created, dir, characters, skipped, n_labelled, kind, scores, wrong) "
                            "VALUES (?,?,?,?,?,?,?,?)",
                            (time.time(), model_dir.name, json.dumps(list(clf.names_)), json.dumps(list(skipped)),
                             clf.n_train_, clf.kind_, json.dumps({n: s.__dict__ for n, s in clf.cv_scores_.items()}),
                             "null"))
            model_id = int(cur.lastrowid or 0)
        self.predict_all(model_id, clf)
        return self.model(model_id)

    def _model_from_row(self, r: tuple) -> ModelRecord:
        return ModelRecord(int(r[0]), float(r[1]), self.root / "models" / r[2], tuple(json.loads(r[3])),
                           tuple(json.loads(r[4])), int(r[5]), r[6],
                           {n: Scores(**s) for n, s in json.loads(r[7]).items()},
                           None if r[8] == "null" else tuple(WrongFrame(**w) for w in json.loads(r[8])))

    def model(self, model_id: int) -> ModelRecord:
        with self._conn() as c:
            r = c.execute("SELECT * FROM models WHERE id=?", (model_id,)).fetchone()
        if r is None:
            raise ProjectError("That model is no longer in this project: train again on the Train page.")
        return self._model_from_row(r)

    def latest_model(self) -> Optional[ModelRecord]:
        with self._conn() as c:
            r = c.execute("SELECT * FROM models ORDER BY id DESC LIMIT 1").fetchone()
        return self._model_from_row(r) if r else None

    def classifier(self, m: ModelRecord) -> ScreenTimeClassifier:
        return ScreenTimeClassifier.load(m.dir)[0]

    def predict_all(self, model_id: int, clf: Optional[ScreenTimeClassifier] = None) -> int:
        """Store the model's probabilities for every sampled video that has none yet; returns how many."""
        m = self.model(model_id)
        clf = clf or self.classifier(m)
        runs = self.root / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        done = 0
        with self._conn() as c:
            have = {r[0] for r in c.execute("SELECT video_id FROM runs WHERE model_id=?", (model_id,))}
        for v in self.videos():
            if v.id in have:
                continue
            fs = self.features(v)
            if fs is None or fs.backbone != self._model_backbone(m):
                continue
            probs = clf.predict_proba(fs.features)
            f = runs / f"{model_id}-{v.id}.npz"
            tmp = runs / f".{model_id}-{v.id}.tmp.npz"
            np.savez(tmp, times=fs.times, probs=probs, thresholds=clf.thresholds_,
                     names=np.array(clf.names_), every=fs.every, duration_s=fs.duration_s)
            os.replace(tmp, f)
            with self._tx() as c:
                c.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?)", (model_id, v.id, f.name, time.time()))
            done += 1
        return done

    def _model_backbone(self, m: ModelRecord) -> Optional[str]:
        try:
            return json.loads((m.dir / "model.json").read_text()).get("backbone")
        except (OSError, ValueError):
            return None

    def run_probs(self, model_id: int, video_id: int) -> Optional[dict[str, np.ndarray]]:
        """The stored probabilities of a video under a model: times, probs, thresholds, names, every,
        duration_s; None when that video has not been predicted."""
        with self._conn() as c:
            r = c.execute("SELECT file FROM runs WHERE model_id=? AND video_id=?", (model_id, video_id)).fetchone()
        if r is None:
            return None
        try:
            with np.load(self.root / "runs" / r[0], allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError):
            return None

    def timeline(self, model_id: int, video_id: int, smoothing: Smoothing) -> Optional[Timeline]:
        """Timeline from stored probabilities (cheap: no features, no prediction)."""
        from .jobs import make_timeline

        run = self.run_probs(model_id, video_id)
        if run is None:
            return None
        v = self.video(video_id)
        times = run["times"]
        from fractions import Fraction
        fs = FeatureSet(video=self.video_path(v), video_sha256=v.sha256, fps=Fraction(v.fps).limit_denominator(1001),
                        duration_s=float(run["duration_s"]), every=float(run["every"]), backbone="", weights="",
                        times=times, features=np.zeros((len(times), 0), np.float32))
        return make_timeline(fs, run["probs"], [str(n) for n in run["names"]], run["thresholds"], smoothing)

    def thumb(self, v: Video, time_s: float) -> Optional[Path]:
        """The thumbnail of the sampled moment nearest ``time_s`` (None before sampling)."""
        if v.every is None:
            return None
        k = int(round(time_s / v.every))
        p = self.cache.thumbs_dir(v.sha256, v.every) / f"{k:06d}.jpg"
        return p if p.is_file() else None


# ---- suggestions ------------------------------------------------------------------------------------------
def suggest_moments(probs: np.ndarray, labelled: np.ndarray, times: np.ndarray, k: int,
                    min_gap_s: float = 5.0) -> list[int]:
    """Indices of the moments whose labels would help the model most: ``core.suggest.suggest`` when it is
    there, else the least certain unlabelled moments, at least ``min_gap_s`` apart."""
    try:
        from .suggest import suggest  # written by the accuracy work; same signature
    except ImportError:
        suggest = None
    if suggest is not None:
        return [int(i) for i in suggest(probs, labelled, times, k, min_gap_s)]
    if len(times) == 0:
        return []
    margin = np.abs(np.asarray(probs, float) - 0.5).min(axis=1) if probs.size else np.zeros(len(times))
    order = np.argsort(margin, kind="stable")
    chosen: list[int] = []
    for i in order:
        if labelled[i]:
            continue
        if all(abs(times[i] - times[j]) >= min_gap_s for j in chosen):
            chosen.append(int(i))
        if len(chosen) >= k:
            break
    return sorted(chosen)


# ---- thumbnails and the demo ------------------------------------------------------------------------------
def make_thumbs(video: Path, every: float, cache: FeatureCache, sha256: str) -> Path:
    """Write the thumbnails of the sampled moments of a video into the cache (as extract_features would)."""
    final = cache.thumbs_dir(sha256, every)
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".thumbs.", dir=final.parent))
    try:
        thumbnails = Thumbnails()
        for index, _, _, frame in SampleReader(video, every).decoded():
            thumbnails.write(frame, tmp / f"{index:06d}.jpg")
        os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def demo_available(demo_dir: Path = DEMO_DIR) -> bool:
    return all((demo_dir / f).is_file() for f in ("bbb_demo.mp4", "features.npz", "features.json", "labels.csv",
                                                  "model/model.json", "model/weights.npz"))


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
        p.seed_features(v.id, float(meta["every"]), meta["backbone"], meta["weights"], times, feats, meta["fps"],
                        float(meta["duration_s"]))
        p.import_labels_csv(v.id, demo_dir / "labels.csv")
        labels = read_labels_csv(demo_dir / "labels.csv")
        p.register_model(demo_dir / "model", trainable_labels(labels)[1])
        p.set_setting("demo", "1")
    except BaseException:
        shutil.rmtree(p.root, ignore_errors=True)
        raise
    return p


_FIRST = threading.Lock()


def first_project(root: Optional[Path] = None) -> Project:
    """The project to open when none is chosen: the demo on a fresh start, else the most recently used."""
    with _FIRST:
        return _first_project(root)


def _first_project(root: Optional[Path]) -> Project:
    found = list_projects(root)
    if not found:
        if demo_available():
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

    last = max(found, key=lambda p: used(p[0]))
    return Project(base / last[0])


