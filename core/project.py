"""Projects of the dashboard: videos, characters, labels, models and runs in one folder on disk.

A project is a folder under :func:`core.config.data_dir` (``$SCREENTIME_DATA``)::

    <data>/<slug>/project.db        SQLite (WAL): videos, characters, labels, models, runs, settings
    <data>/<slug>/videos/           the uploaded videos (names sanitised, never outside the project)
    <cache>/                        features and thumbnails, in the user's FeatureCache (core/cache.py), shared
                                    by every project: keyed by content, so a video is never sampled twice
    <data>/<slug>/models/<id>/      trained classifiers (model.json + weights.npz)
    <data>/<slug>/runs/<m>-<v>.npz  per model and video: the probabilities of every sampled moment

Spot-check answers (core/spotcheck.py) are rows of ``spot_checks``, one per (model, video, moment, character),
each written in its own transaction: a killed write leaves the answers before it, never half an answer, and a
check of one model is never counted for another.

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
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, Optional

import numpy as np

from . import config, db
from .atomic import save_npz
from .cache import FeatureCache
from .classifier import ScreenTimeClassifier
from .errors import ProjectError, ScreenTimeError
from .features import FeatureSet
from .hashing import file_sha256
from .labels import LabelSet, read_labels_csv
from .names import clean_character_name, safe_filename, slugify
from .progress import ProgressCallback, report
from .records import Character, LabelCounts, ModelRecord, Sampling, Video
from .smoothing import Smoothing
from .validation import Scores, WrongFrame
from .video import check_size, moment_ms, probe_video, shown

__all__ = ["Character", "LabelCounts", "ModelRecord", "Project", "ProjectError", "Sampling", "Video", "WrongFrame",
           "clean_character_name", "list_projects", "safe_filename", "slugify"]

DB_NAME = "project.db"
_CHUNK = 4 * 1024 * 1024
VIDEO_EXTENSIONS = ("mp4", "mov", "m4v", "mkv", "avi", "webm", "mpg", "mpeg", "wmv", "flv", "ts")



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
    def create(cls, name: str, root: Optional[Path] = None) -> Project:
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
    def open(cls, slug: str, root: Optional[Path] = None) -> Project:
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
        """The user's feature cache (``$SCREENTIME_CACHE``), shared by every project: entries are keyed by the
        video's content, so the same video in a second project is never sampled again."""
        return FeatureCache()

    def _caches(self) -> list[FeatureCache]:
        """Where a video's features may be: the shared cache, then ``<project>/cache``, where projects made
        before the cache was shared kept theirs (read only; new features always go to the shared cache)."""
        legacy = self.root / "cache"
        return [self.cache, FeatureCache(legacy)] if legacy.is_dir() else [self.cache]

    # -- database ----------------------------------------------------------------------------------------------
    def _conn(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return db.connect(self.root / DB_NAME)

    def _tx(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return db.transaction(self.root / DB_NAME)

    def _init_db(self) -> None:
        if not db.init(self.root / DB_NAME):
            raise ProjectError(f"The project file in {self.root.name} is damaged: "
                               "restore it from a backup or create a new project.")

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
        check_size(size, name)
        fd, tmp_name = tempfile.mkstemp(prefix=".upload-", suffix=f".{ext}", dir=folder)
        tmp = Path(tmp_name)
        try:
            written = 0
            with open(fd, "wb") as out:
                while chunk := data.read(_CHUNK):
                    written += len(chunk)
                    check_size(written, name)
                    out.write(chunk)
                    report(progress, "saving", written, size)
            info = probe_video(tmp, name=name)  # messages name the user's file, not the temporary one
            sha = file_sha256(tmp)
            with self._conn() as c:
                row = c.execute("SELECT id FROM videos WHERE sha256=?", (sha,)).fetchone()
            if row:
                return self.video(int(row[0]))
            final = folder / name
            stem, _, _ = name.rpartition(".")
            k = 2
            while final.exists():
                final = folder / f"{stem} ({k}).{ext}"
                k += 1
            if final.resolve().parent != folder.resolve():  # belt and braces: never outside the project
                raise ProjectError("That file name cannot be used: rename the file and try again.")
            tmp.replace(final)
            with self._tx() as c:
                cur = c.execute(
                    "INSERT INTO videos (name, file, sha256, fps, width, height, duration_s, size_bytes, added) "
                    "VALUES (?,?,?,?,?,?,?,?,?)", (name, final.name, sha, float(info.fps), info.width, info.height,
                                                   info.duration_s, info.size_bytes, time.time()))
                vid = int(cur.lastrowid or 0)
            return self.video(vid)
        finally:
            tmp.unlink(missing_ok=True)

    def import_file(self, path: str | os.PathLike[str], progress: Optional[ProgressCallback] = None) -> Video:
        """Copy a video that is already on this computer into the project, streamed as :meth:`import_video`
        does (a file of any size, never held in memory; the dashboard's way in for files too large to upload).

        ``path`` may come pasted from a file manager, with quotes around it or a leading ``~``."""
        given = str(path).strip().strip("'\"")
        if not given:
            raise ProjectError("Type or paste the full path of a video on this computer, then press Add.")
        source = Path(given).expanduser()
        if not source.is_file():
            raise ProjectError(f"There is no file at {shown(given)}: check the path (copy it from your file "
                               "manager) and try again.")
        try:
            with open(source, "rb") as data:
                return self.import_video(data, source.name, progress, size=source.stat().st_size)
        except PermissionError:
            raise ProjectError(f"Screen Time may not read {shown(given)}: give it permission to read the file, "
                               "or copy the file somewhere it can read.") from None

    def remove_video(self, video_id: int) -> None:
        v = self.video(video_id)
        with self._tx() as c:
            if c.execute("SELECT 1 FROM labels WHERE video_id=? LIMIT 1", (video_id,)).fetchone():
                self._changed(c)  # the model learned from labels that are gone
            c.execute("DELETE FROM videos WHERE id=?", (video_id,))
        with contextlib.suppress(OSError):
            self.video_path(v).unlink()

    def mark_sampled(self, video_id: int, every: float, backbone: str, n_moments: int) -> None:
        """Record that the video's features (this step, this backbone key) are in the project's cache."""
        with self._tx() as c:
            c.execute("UPDATE videos SET every=?, backbone=?, n_moments=? WHERE id=?",
                      (float(every), backbone, int(n_moments), video_id))

    def sampling(self, v: Video) -> Optional[Sampling]:
        """How a video was sampled (exact rate, measured end, backbone), or None before sampling. Reads only
        the times, not the feature matrix: the Label and Video pages call this on every click."""
        if not v.has_features:
            return None
        assert v.every is not None and v.backbone is not None
        entry = next((e for c in self._caches()
                      if (e := c.load(v.sha256, v.every, v.backbone, arrays=("times",))) is not None), None)
        if entry is None:
            return None
        m = entry["meta"]
        return Sampling(entry["times"], float(m["every"]), float(m["duration_s"]), Fraction(m["fps"]),
                        m["backbone"], m["weights"])

    def moments(self, v: Video) -> Optional[np.ndarray]:
        """The sampled moments of a video (seconds), or None before sampling."""
        s = self.sampling(v)
        return None if s is None else s.times

    def features(self, v: Video) -> Optional[FeatureSet]:
        """The stored features of a video (no network is run), or None when it has not been sampled yet."""
        if not v.has_features:
            return None
        assert v.every is not None and v.backbone is not None
        found = next(((c, e) for c in self._caches() if (e := c.load(v.sha256, v.every, v.backbone)) is not None),
                     None)
        if found is None:
            return None
        cache, entry = found
        m = entry["meta"]
        thumbs = cache.thumbs_dir(v.sha256, v.every)
        return FeatureSet(video=self.video_path(v), video_sha256=v.sha256, fps=Fraction(m["fps"]),
                          duration_s=float(m["duration_s"]), every=float(m["every"]), backbone=m["backbone"],
                          weights=m["weights"], times=entry["times"], features=entry["features"],
                          thumbs_dir=thumbs if thumbs.is_dir() else None)

    def thumb(self, v: Video, time_s: float) -> Optional[Path]:
        """The thumbnail of the sampled moment nearest ``time_s`` (None before sampling)."""
        if v.every is None:
            return None
        k = int(round(time_s / v.every))
        for c in self._caches():
            p = c.thumbs_dir(v.sha256, v.every) / f"{k:06d}.jpg"
            if p.is_file():
                return p
        return None

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
            if c.execute("SELECT COUNT(*) FROM characters").fetchone()[0] >= config.MAX_CHARACTERS:
                raise ProjectError(f"A project can follow at most {config.MAX_CHARACTERS} characters: "
                                   "remove one first.")
            pos = c.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM characters").fetchone()[0]
            cur = c.execute("INSERT INTO characters (name, position) VALUES (?, ?)", (n, pos))
            self._changed(c)
            return Character(int(cur.lastrowid or 0), n, int(pos))

    def rename_character(self, character_id: int, name: str) -> None:
        n = clean_character_name(name)
        with self._tx() as c:
            other = c.execute("SELECT id FROM characters WHERE name=?", (n,)).fetchone()
            if other and other[0] != character_id:
                raise ProjectError(f"There is already a character called {n}: choose another name.")
            c.execute("UPDATE characters SET name=? WHERE id=?", (n, character_id))
            self._changed(c)

    def remove_character(self, character_id: int) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM characters WHERE id=?", (character_id,))
            self._changed(c)

    # -- labels -----------------------------------------------------------------------------------------------
    def set_present(self, video_id: int, time_s: float, character_id: int, present: bool) -> None:
        """Say whether one character is on screen at one moment; the moment becomes labelled (others absent
        unless labelled otherwise). Only that character's row changes, so other tabs' clicks survive."""
        t, now = moment_ms(time_s), time.time()
        with self._tx() as c:
            c.execute("INSERT INTO labels VALUES (?,?,?,?,?) ON CONFLICT(video_id, time_ms, character_id) "
                      "DO UPDATE SET present=excluded.present, updated=excluded.updated",
                      (video_id, t, character_id, int(bool(present)), now))
            c.execute("INSERT OR IGNORE INTO labels SELECT ?, ?, id, 0, ? FROM characters", (video_id, t, now))
            self._changed(c)

    def set_frame(self, video_id: int, time_s: float, present_ids: Sequence[int]) -> None:
        """Say exactly who is on screen at one moment (an empty list means nobody)."""
        t, now = moment_ms(time_s), time.time()
        ids = {int(i) for i in present_ids}
        with self._tx() as c:
            for (cid,) in c.execute("SELECT id FROM characters").fetchall():
                c.execute("INSERT INTO labels VALUES (?,?,?,?,?) ON CONFLICT(video_id, time_ms, character_id) "
                          "DO UPDATE SET present=excluded.present, updated=excluded.updated",
                          (video_id, t, cid, int(cid in ids), now))
            self._changed(c)

    def clear_frame(self, video_id: int, time_s: float) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM labels WHERE video_id=? AND time_ms=?", (video_id, moment_ms(time_s)))
            self._changed(c)

    @staticmethod
    def _changed(c: sqlite3.Connection) -> None:
        """Note, inside a write, that labels or characters changed: a model trained before is out of date."""
        c.execute("INSERT OR REPLACE INTO meta VALUES ('changed', ?)", (repr(time.time()),))

    def changed_since(self, m: ModelRecord) -> bool:
        """True when labels or characters changed after model ``m`` was trained (its scores and results no
        longer describe what the project says: train again)."""
        if {c.name for c in self.characters()} != set(m.characters) | set(m.skipped):
            return True
        with self._conn() as c:
            row = c.execute("SELECT value FROM meta WHERE key='changed'").fetchone()
            last = row[0] if row else c.execute("SELECT COALESCE(MAX(updated), 0) FROM labels").fetchone()[0]
        return float(last) > m.created

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
    def new_model_dir(self) -> Path:
        """An empty folder for a model about to be saved (remove it if the model is not added)."""
        models = self.root / "models"
        models.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="model-", dir=models))

    def add_model(self, model_dir: Path, clf: ScreenTimeClassifier, skipped: Sequence[str], n_labelled: int,
                  wrong: Optional[Sequence[WrongFrame]]) -> ModelRecord:
        """Record a model saved in ``model_dir`` (inside the project's models folder); ``wrong`` is None for a
        model brought in rather than trained here."""
        with self._tx() as c:
            cur = c.execute("INSERT INTO models (created, dir, characters, skipped, n_labelled, kind, scores, wrong) "
                            "VALUES (?,?,?,?,?,?,?,?)",
                            (time.time(), Path(model_dir).name, json.dumps(list(clf.names_)), json.dumps(list(skipped)),
                             int(n_labelled), clf.kind_, json.dumps({n: s.__dict__ for n, s in clf.cv_scores_.items()}),
                             "null" if wrong is None else json.dumps([w.__dict__ for w in wrong])))
            model_id = int(cur.lastrowid or 0)
        return self.model(model_id)

    def _model_from_row(self, r: tuple[Any, ...]) -> ModelRecord:
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

    def previous_model(self, m: ModelRecord) -> Optional[ModelRecord]:
        """The model trained before ``m`` (None for the first): its scores say whether retraining helped."""
        with self._conn() as c:
            r = c.execute("SELECT * FROM models WHERE id<? ORDER BY id DESC LIMIT 1", (m.id,)).fetchone()
        return self._model_from_row(r) if r else None

    def latest_model(self) -> Optional[ModelRecord]:
        with self._conn() as c:
            r = c.execute("SELECT * FROM models ORDER BY id DESC LIMIT 1").fetchone()
        return self._model_from_row(r) if r else None

    def classifier(self, m: ModelRecord) -> ScreenTimeClassifier:
        return ScreenTimeClassifier.load(m.dir)[0]

    def model_backbone(self, m: ModelRecord) -> Optional[str]:
        """The backbone key of the features a model was trained on (None if its folder is unreadable)."""
        try:
            return json.loads((m.dir / "model.json").read_text()).get("backbone")
        except (OSError, ValueError):
            return None

    def runs_of(self, model_id: int) -> set[int]:
        """The ids of the videos whose probabilities under this model are stored."""
        with self._conn() as c:
            return {int(r[0]) for r in c.execute("SELECT video_id FROM runs WHERE model_id=?", (model_id,))}

    def add_run(self, model_id: int, video_id: int, fs: FeatureSet, probs: np.ndarray,
                clf: ScreenTimeClassifier) -> None:
        """Store a model's probabilities of every sampled moment of a video, with what a timeline needs."""
        f = self.root / "runs" / f"{model_id}-{video_id}.npz"
        f.parent.mkdir(exist_ok=True)
        save_npz(f, {"times": fs.times, "probs": probs, "thresholds": clf.thresholds_, "names": np.array(clf.names_),
                     "every": np.asarray(fs.every, np.float64), "duration_s": np.asarray(fs.duration_s, np.float64)})
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?)", (model_id, video_id, f.name, time.time()))

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

    # -- spot checks ------------------------------------------------------------------------------------------
    def set_check_answer(self, model_id: int, video_id: int, time_s: float, character_id: int,
                         present: bool) -> None:
        """Record a spot-check answer: is the character on screen at that moment (for that model's check)?"""
        with self._tx() as c:
            c.execute("INSERT INTO spot_checks VALUES (?,?,?,?,?,?) ON CONFLICT(model_id, video_id, time_ms, "
                      "character_id) DO UPDATE SET present=excluded.present, updated=excluded.updated",
                      (model_id, video_id, moment_ms(time_s), character_id, int(bool(present)), time.time()))

    def check_answers(self, model_id: int, video_id: int) -> dict[str, dict[float, bool]]:
        """The spot-check answers of one model's check of one video: character name -> time -> yes."""
        out: dict[str, dict[float, bool]] = {}
        with self._conn() as c:
            for name, t, present in c.execute(
                    "SELECT c.name, s.time_ms, s.present FROM spot_checks s JOIN characters c ON c.id=s.character_id "
                    "WHERE s.model_id=? AND s.video_id=?", (model_id, video_id)):
                out.setdefault(str(name), {})[t / 1000.0] = bool(present)
        return out

    def other_checks(self, model_id: int, video_id: int) -> dict[int, int]:
        """Spot checks of the video made for other models: model id -> how many moments were answered."""
        with self._conn() as c:
            rows = c.execute("SELECT model_id, COUNT(DISTINCT time_ms) FROM spot_checks WHERE video_id=? AND "
                             "model_id<>? GROUP BY model_id", (video_id, model_id)).fetchall()
        return {int(m): int(k) for m, k in rows}
