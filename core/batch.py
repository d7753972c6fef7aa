"""Batch screen time over many videos (a series, an archive), on Ray: one machine with no set-up, or a
cluster by adding its address.

    python -m core batch PATH... --model MODEL_DIR --out OUT_DIR      (the command: core/batch_cli.py)

:func:`run_batch` is the one orchestrator. It lists the videos (:func:`find_videos`, sorted), decides which
have current results already (:func:`is_current`: the done-marker ``batch.json`` of a result folder records
the video's SHA-256, the model's and the settings), and hands the others to an engine (:class:`RayEngine`):
one Ray task per video runs the same engine as ``predict`` (:func:`core.jobs.predict`) or ``faces``
(:func:`core.faces.find_people`) on a worker, writing that video's results into a temporary folder that is
renamed into place when complete (:func:`core.atomic.atomic_dir`). A killed batch leaves finished videos
finished and no half-written folder that looks done; a rerun skips what is current and computes no feature
twice (the :class:`~core.cache.FeatureCache` in ``$SCREENTIME_CACHE``). Layout of ``OUT_DIR``::

    <video>/          the files ``predict`` (or ``faces``) writes for that video, and batch.json (done-marker)
    summary.csv       video,character,seconds,percent,appearances for every video
    summary.json      per-video status (done, skipped, failed and why), totals over the series, the model,
                      settings, program version and the engine (ray, its address, nodes, workers)

Ray is imported only when an engine starts: ``import core`` and every other command stay fast. The model
(or the people book) goes to the object store once (``ray.put``), not with each task. Workers are separate
processes: a feature network registered by a module of your own (:func:`core.features.register_backbone`)
reaches them through ``SCREENTIME_PLUGINS`` (:func:`load_plugins`), forwarded to every worker.

:func:`project_batch` is the dashboard's batch over a project's videos (the Series page), and
:class:`BatchStatus` the thread-safe progress a background run shares with the page.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import fcntl
import hashlib
import importlib
import io
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Optional, Protocol

import numpy as np

from . import config
from ._version import __version__
from .atomic import atomic_dir, write_text
from .errors import BackboneError, Cancelled, ModelError, ProjectError, ScreenTimeError, VideoError
from .features import BackboneFactory, backbone_factory, backbone_family
from .hashing import file_sha256
from .names import safe_filename
from .progress import ProgressCallback, report
from .project import VIDEO_EXTENSIONS, Project
from .report import smoothing_summary
from .smoothing import Smoothing
from .summary import totals
from .timeline import CharacterTime, Timeline
from .video import probe_video

log = logging.getLogger("screentime.batch")

#: The done-marker of a result folder: written last, inside the temporary folder, before it is renamed.
MANIFEST = "batch.json"
SUMMARY_CSV = "summary.csv"
SUMMARY_JSON = "summary.json"
MODES = ("characters", "faces")
STATUSES = ("done", "skipped", "failed")
#: Environment variable: modules (comma-separated) imported in every worker before it works, e.g. one that
#: registers a feature network of your own with :func:`core.features.register_backbone`.
PLUGINS_ENV = "SCREENTIME_PLUGINS"
#: Environment passed on to every Ray worker (the cache must be the same shared folder everywhere).
FORWARDED_ENV = ("SCREENTIME_CACHE", PLUGINS_ENV, "PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")
#: Seconds between two progress reports of a running task (they cross process boundaries).
REPORT_EVERY_S = 0.5


# ---- plugins -----------------------------------------------------------------------------------------------
def load_plugins(names: Optional[str] = None) -> list[str]:
    """Import the modules named in ``names`` (default: ``$SCREENTIME_PLUGINS``, comma-separated); each may
    register a backbone family at import. Returns the names imported; importing twice does nothing."""
    text = os.environ.get(PLUGINS_ENV, "") if names is None else names
    done = []
    for name in (n.strip() for n in text.split(",")):
        if not name:
            continue
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise BackboneError(f"The plugin module {name!r} named in {PLUGINS_ENV} cannot be imported ({e}): "
                                "install it on every machine of the cluster or correct the name.") from e
        done.append(name)
    return done


# ---- which videos, under which names -----------------------------------------------------------------------
def _is_video_name(p: Path) -> bool:
    return p.suffix[1:].lower() in VIDEO_EXTENSIONS and not p.name.startswith(".")


def find_videos(paths: Sequence[os.PathLike[str] | str]) -> list[Path]:
    """The videos of ``paths``: a file is taken as it is (a bad one fails later, named); a folder is searched
    recursively for video files (by extension, hidden files and folders left out). Sorted by path, each once.

    Raises :class:`VideoError` for a path that does not exist and for no video at all.
    """
    found: set[Path] = set()
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found.update(Path(root, f).absolute() for f in files if _is_video_name(Path(f)))
        elif p.exists():
            found.add(p.absolute())
        else:
            raise VideoError(f"There is no file or folder at {p}: check the path and try again.")
    if not found:
        raise VideoError("No video files were found there: give video files or folders that hold some "
                         f"({', '.join('.' + e for e in VIDEO_EXTENSIONS[:5])}, ...).")
    return sorted(found, key=lambda q: str(q))


def result_names(videos: Sequence[Path]) -> list[str]:
    """A folder name for each video's results: its file name without the extension, made safe; when two
    videos would share one, their parent folders' names are put in front ("season 1 - ep01") until they
    differ, then the extension is kept, then a number is added.

    >>> result_names([Path("/a/s1/ep01.mp4"), Path("/a/s2/ep01.mp4"), Path("/a/s1/ep02.mkv")])
    ['s1 - ep01', 's2 - ep01', 'ep02']
    """
    def name(p: Path, depth: int, ext: bool = False) -> str:
        parents = [safe_filename(x, "folder") for x in p.parent.parts[1:]][-depth:] if depth else []
        return " - ".join([*parents, safe_filename(p.name if ext else p.stem, "video")])

    out = [name(p, 0) for p in videos]
    for depth, ext in ((1, False), (2, False), (3, False), (3, True)):
        counts: dict[str, int] = {}
        for n in out:
            counts[n.casefold()] = counts.get(n.casefold(), 0) + 1
        if all(c == 1 for c in counts.values()):
            return out
        out = [name(p, depth, ext) if counts[n.casefold()] > 1 else n for p, n in zip(videos, out)]
    seen: dict[str, int] = {}
    final = []
    for n in out:
        k = seen.get(n.casefold(), 0) + 1
        seen[n.casefold()] = k
        final.append(n if k == 1 else f"{n} ({k})")
    return final


# ---- what the workers get ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchSettings:
    """What a batch computes. ``mode`` "characters" needs ``model_dir``; "faces" may name a people book and
    reference photos (``refs``: name, photo). ``every`` None: the model's own step (characters), 1 s (faces);
    ``smoothing`` None: the defaults of ``predict`` (characters) or of ``faces``."""

    mode: str = "characters"
    model_dir: Optional[Path] = None
    every: Optional[float] = None
    smoothing: Optional[Smoothing] = None
    people: Optional[Path] = None
    refs: tuple[tuple[str, Path], ...] = ()
    detector: Optional[str] = None
    threshold: Optional[float] = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.mode == "characters" and self.model_dir is None:
            raise ValueError("a characters batch needs its model_dir")


@dataclass(frozen=True)
class Work:
    """Everything a worker needs besides the video, put in Ray's object store once per batch: the loaded
    model (or people book), the effective settings, and their identity (what a done-marker records)."""

    settings: BatchSettings
    every: float
    identity: Mapping[str, Any]
    model: Optional[tuple[Any, dict[str, Any]]] = None
    book: Any = None


def folder_sha256(folder: Path) -> str:
    """One SHA-256 over the names and contents of the files of a folder (a model's identity)."""
    h = hashlib.sha256()
    for f in sorted(p for p in folder.iterdir() if p.is_file()):
        h.update(f.name.encode() + b"\0" + file_sha256(f).encode())
    return h.hexdigest()


def prepare(settings: BatchSettings) -> Work:
    """Load the model (or build the people book with its reference photos) once, in the driver; a bad model
    folder or photo is one sentence here, before any video is touched."""
    if settings.mode == "characters":
        from .classifier import ScreenTimeClassifier

        model_dir = settings.model_dir
        assert model_dir is not None
        clf, meta = ScreenTimeClassifier.load(model_dir)
        every = float(settings.every) if settings.every is not None else float(meta.get("every", config.EVERY_S))
        settings = replace(settings, smoothing=settings.smoothing or Smoothing())
        assert settings.smoothing is not None
        identity = {"mode": "characters", "model_sha256": folder_sha256(Path(model_dir)),
                    "every_s": every, "smoothing": smoothing_summary(settings.smoothing)}
        return Work(settings, every, identity, model=(clf, meta))
    from .faces import config as faces_config
    from .faces.people import PeopleBook
    from .faces.pipeline import add_reference

    book = PeopleBook.load(settings.people) if settings.people is not None else PeopleBook()
    for name, photo in settings.refs:
        add_reference(book, name, photo)
    every = float(settings.every) if settings.every is not None else config.EVERY_S
    default = Smoothing(faces_config.SMOOTHING.bridge_gaps_s, faces_config.SMOOTHING.min_appearance_s, 0.0)
    settings = replace(settings, detector=settings.detector or faces_config.DETECTOR,
                       threshold=settings.threshold or faces_config.CLUSTER_THRESHOLD,
                       smoothing=settings.smoothing or default)
    assert settings.smoothing is not None
    people_sha = hashlib.sha256(json.dumps(book.to_dict(), sort_keys=True).encode()).hexdigest()
    identity = {"mode": "faces", "people_sha256": people_sha, "every_s": every, "detector": settings.detector,
                "threshold": settings.threshold, "smoothing": smoothing_summary(settings.smoothing)}
    return Work(settings, every, identity, book=book)


# ---- one video ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoJob:
    """One video of a batch: where it is, the name of its result folder, its content hash, how many moments
    it should have (for the progress), and where its results go."""

    path: Path
    name: str
    out_dir: Path
    sha256: str
    moments: int


@dataclass(frozen=True)
class VideoOutcome:
    """What became of one video: ``status`` done, skipped (current results were there) or failed (``reason``
    is the one sentence). ``features_computed``: frames embedded by this run (0 when all came from the cache)."""

    video: str
    path: str
    status: str
    sha256: Optional[str] = None
    reason: Optional[str] = None
    moments: int = 0
    features_computed: int = 0
    seconds: float = 0.0
    node: Optional[str] = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if (self.status == "failed") != (self.reason is not None):
            raise ValueError("a failed video has a reason, and only a failed one")


class _KeepNetwork:
    """A backbone factory that builds each network once per worker process and keeps it for every later
    video (VGG16 takes seconds to build); keys are asked of the family's own factory."""

    def __init__(self, inner: BackboneFactory) -> None:
        self.inner = inner
        self.built: dict[tuple[Any, Optional[str]], Any] = {}

    def __call__(self, spec: Any, weights: Optional[str]) -> Any:
        if (spec, weights) not in self.built:
            self.built[(spec, weights)] = self.inner(spec, weights)
        return self.built[(spec, weights)]

    def candidate_keys(self, spec: Any, weights: Optional[str]) -> list[str]:
        return self.inner.candidate_keys(spec, weights)


_KEPT: dict[str, _KeepNetwork] = {}


def _kept_factory(family: str) -> _KeepNetwork:
    inner = backbone_factory(family)
    kept = _KEPT.get(family)
    if kept is None or kept.inner is not inner:
        kept = _KEPT[family] = _KeepNetwork(inner)
    return kept


def _compute(job: VideoJob, work: Work, folder: Path, progress: Optional[ProgressCallback]) -> tuple[str, int, int]:
    """Write the results of one video into ``folder``; returns (content hash, moments, frames embedded)."""
    s = work.settings
    if s.mode == "characters":
        from .jobs import predict

        assert work.model is not None and s.model_dir is not None
        factory = _kept_factory(backbone_family(work.model[1]["backbone"]))
        res = predict(job.path, s.model_dir, folder, work.every, s.smoothing or Smoothing(), progress=progress,
                      loaded=work.model, factory=factory)
        return res.features.video_sha256, len(res.features), res.features.computed
    from .faces.pipeline import find_people, write_people_outputs

    book = copy.deepcopy(work.book)
    assert s.detector is not None and s.threshold is not None
    found = find_people(job.path, work.every, s.detector, None, book, progress, s.smoothing, s.threshold)
    write_people_outputs(found, folder)
    book.save(folder / "people.json")
    return found.faces.video_sha256, len(found.faces.times), 0


def _clear(final: Path) -> None:
    """Remove an out-of-date result folder (renamed away first, so no reader meets half of it)."""
    if final.exists():
        trash = final.with_name(f".{final.name}.{os.getpid()}.{time.monotonic_ns()}.old")
        os.rename(final, trash)
        shutil.rmtree(trash, ignore_errors=True)


def process_video(job: VideoJob, work: Work, progress: Optional[ProgressCallback] = None) -> VideoOutcome:
    """Compute one video's results and put them in place whole (temporary folder, done-marker written last,
    renamed): what a worker runs. Never raises for a bad video: the outcome says why it failed."""
    start = time.perf_counter()
    got: dict[str, Any] = {}

    def fill(tmp: Path) -> None:
        sha, moments, computed = _compute(job, work, tmp, progress)
        got.update(sha=sha, moments=moments, computed=computed)
        write_text(tmp / MANIFEST, json.dumps({"video_sha256": sha, "settings": dict(work.identity),
                                               "video": str(job.path), "moments": moments,
                                               "program_version": __version__, "written": time.time()}, indent=1))

    try:
        _clear(job.out_dir)
        atomic_dir(job.out_dir, fill)
    except ScreenTimeError as e:
        return VideoOutcome(job.name, str(job.path), "failed", job.sha256, str(e), seconds=time.perf_counter() - start)
    except Exception as e:  # a bug of ours, or the system's: one sentence, the details in the worker's log
        log.warning("unexpected error on %s", job.path, exc_info=True)
        return VideoOutcome(job.name, str(job.path), "failed", job.sha256,
                            f"an unexpected problem stopped it ({e.__class__.__name__}: {e}); run "
                            "`python -m core --debug predict` on it alone and report what it says",
                            seconds=time.perf_counter() - start)
    return VideoOutcome(job.name, str(job.path), "done", got["sha"], moments=got["moments"],
                        features_computed=got["computed"], seconds=time.perf_counter() - start)


# ---- done or not -------------------------------------------------------------------------------------------
def read_manifest(folder: Path) -> Optional[dict[str, Any]]:
    try:
        m = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def is_current(folder: Path, sha256: str, identity: Mapping[str, Any]) -> bool:
    """True when ``folder`` holds complete results for this content and these settings (model included)."""
    m = read_manifest(folder)
    return (m is not None and m.get("video_sha256") == sha256 and m.get("settings") == json.loads(json.dumps(identity))
            and (folder / "report.json").is_file())


def read_timeline(folder: Path) -> Timeline:
    """The timeline of a result folder, from its report.json (what ``export.report_dict`` wrote)."""
    rep = json.loads((folder / "report.json").read_text())
    names = tuple(rep["characters"])
    t = rep["timeline"]
    times = np.asarray(t["time_s"], np.float64)
    present = np.array([t["present"][n] for n in names], bool).T.reshape(len(times), len(names))
    probs = None
    if t.get("probability"):
        probs = np.array([t["probability"][n] for n in names], np.float32).T.reshape(len(times), len(names))
    return Timeline(times, float(rep["every_s"]), float(rep["video"]["duration_s"]), names, present, probs)


# ---- summaries (the command line's files and the Series page's downloads) -----------------------------------
def summary_csv(named: Sequence[tuple[str, Timeline]]) -> str:
    """``video,character,seconds,percent,appearances``: one row per character of every video."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["video", "character", "seconds", "percent", "appearances"])
    for name, tl in named:
        for ct in tl.screen_time():
            w.writerow([name, ct.character, f"{ct.seconds:g}", f"{ct.percent:.2f}", ct.appearances])
    return buf.getvalue()


def _times(rows: Sequence[CharacterTime]) -> list[dict[str, Any]]:
    return [{"character": r.character, "seconds": r.seconds, "mmss": r.mmss, "percent": r.percent,
             "appearances": r.appearances} for r in rows]


def summary_dict(named: Sequence[tuple[str, Timeline]], videos: Sequence[Mapping[str, Any]],
                 extra: Mapping[str, Any]) -> dict[str, Any]:
    """The series as JSON: ``videos`` (one dict per video with its status; screen time added for those in
    ``named``), the totals over ``named`` (:func:`core.summary.totals`), counts, and ``extra`` (model,
    settings, engine)."""
    by_name = dict(named)
    rows = []
    for v in videos:
        tl = by_name.get(str(v["video"]))
        rows.append({**v, "duration_s": round(tl.duration_s, 3) if tl else None,
                     "screen_time": _times(tl.screen_time()) if tl else None})
    counts: dict[str, int] = {}
    for v in videos:
        counts[str(v["status"])] = counts.get(str(v["status"]), 0) + 1
    return {"program": {"name": "screentime", "version": __version__}, **extra, "videos": rows, "counts": counts,
            "duration_s": round(sum(tl.duration_s for _, tl in named), 3),
            "totals": _times(totals([t for _, t in named]))}


# ---- engines -----------------------------------------------------------------------------------------------
class Engine(Protocol):
    """Runs the jobs of a batch somewhere and yields each outcome as it finishes."""

    def run(self, jobs: Sequence[VideoJob], work: Work, progress: Optional[ProgressCallback]
            ) -> Iterator[VideoOutcome]: ...

    def describe(self) -> dict[str, Any]: ...


class _Board:
    """A Ray actor: the moments done of each running video, reported by the tasks, read by the driver."""

    def __init__(self) -> None:
        self.done: dict[str, int] = {}

    def report(self, name: str, done: int) -> None:
        self.done[name] = done

    def snapshot(self) -> dict[str, int]:
        return dict(self.done)


def _task_progress(board: Any, name: str) -> ProgressCallback:
    last = [0.0]

    def cb(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage in ("features", "faces") and (now - last[0] >= REPORT_EVERY_S or (total and done >= total)):
            last[0] = now
            board.report.remote(name, done)
    return cb


def _ray_task(job: VideoJob, work: Work, board: Any, threads: int) -> VideoOutcome:
    """What one Ray task runs (in a worker process): the plugins, the thread budget, then the video."""
    import ray

    for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = str(threads)  # read when TensorFlow loads in this worker (once per process)
    try:
        load_plugins()
    except ScreenTimeError as e:
        return VideoOutcome(job.name, str(job.path), "failed", job.sha256, str(e))
    out = process_video(job, work, _task_progress(board, job.name))
    return replace(out, node=ray.get_runtime_context().get_node_id())


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ScreenTimeError("Ray is not installed here: install the requirements (pip install -r "
                              "requirements.txt) and run the batch again.") from None
    return ray


class RayEngine:
    """One Ray task per video. No ``address``: a local Ray starts by itself on this machine's cores (and
    stops at the end); with one, the batch joins that cluster. A Ray already started in this process (a test,
    a notebook) is used as it is. ``threads``: cores (and TensorFlow threads) per task; ``workers``: most
    tasks at once (default: the cluster's cores / ``threads``)."""

    def __init__(self, address: Optional[str] = None, workers: Optional[int] = None,
                 threads: int = config.BATCH_THREADS_PER_TASK) -> None:
        if workers is not None and workers < 1:
            raise ValueError("workers must be at least 1")
        self.address = address
        self.workers = workers
        self.threads = max(1, int(threads))
        self.info: dict[str, Any] = {"name": "ray", "address": address or "local", "workers": 0, "nodes": [],
                                     "threads_per_task": self.threads}

    def _connect(self, ray: Any) -> bool:
        if ray.is_initialized():
            return False
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing leaves the machine unasked
        env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
        env["SCREENTIME_CACHE"] = str(config.cache_dir().absolute())
        try:
            ray.init(address=self.address or "local", num_cpus=None if self.address else os.cpu_count(),
                     include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                     runtime_env={"env_vars": env})
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = f"at {self.address}" if self.address else "on this machine"
            raise ScreenTimeError(f"Ray could not start or connect {where} ({e.__class__.__name__}: "
                                  f"{str(e).splitlines()[0] if str(e) else ''}): check the address (host:port of "
                                  "the head, as `ray start --head` printed it) or run without --address.") from e
        return True

    def _describe_cluster(self, ray: Any) -> int:
        """Record the cluster's nodes; fit the threads per task to the smallest node; return how many tasks
        fit at once."""
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        self.info["nodes"] = [{"node_id": n["NodeID"], "host": n.get("NodeManagerHostname"),
                               "cpus": int(n.get("Resources", {}).get("CPU", 0))} for n in nodes]
        self.info["ray_version"] = ray.__version__
        sizes = [n["cpus"] for n in self.info["nodes"] if n["cpus"] > 0]
        if sizes:
            self.threads = max(1, min(self.threads, min(sizes)))  # a task must fit on a node
        self.info["threads_per_task"] = self.threads
        return max(1, sum(s // self.threads for s in sizes))

    def describe(self) -> dict[str, Any]:
        return dict(self.info)

    def run(self, jobs: Sequence[VideoJob], work: Work, progress: Optional[ProgressCallback]
            ) -> Iterator[VideoOutcome]:
        ray = _import_ray()
        started = self._connect(ray)
        try:
            yield from self._run(ray, jobs, work, progress)
        finally:
            if started:
                ray.shutdown()

    def _run(self, ray: Any, jobs: Sequence[VideoJob], work: Work, progress: Optional[ProgressCallback]
             ) -> Iterator[VideoOutcome]:
        fits = self._describe_cluster(ray)
        width = self.workers or fits
        self.info["workers"] = min(width, len(jobs))
        # SPREAD: videos go to every node rather than filling the driver's first (each is seconds of work)
        task = ray.remote(_ray_task).options(num_cpus=self.threads, max_retries=1, scheduling_strategy="SPREAD")
        board = ray.remote(num_cpus=0)(_Board).remote()
        work_ref = ray.put(work)  # the model goes to the object store once, every task reads it from there
        todo = list(jobs)
        running: dict[Any, VideoJob] = {}
        total = sum(j.moments for j in jobs)
        finished = 0
        report(progress, "moments", 0, total)
        while todo or running:
            while todo and len(running) < width:
                job = todo.pop(0)
                running[task.remote(job, work_ref, board, self.threads)] = job
            ready, _ = ray.wait(list(running), num_returns=1, timeout=REPORT_EVERY_S)
            for ref in ready:
                job = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as e:  # the worker died (out of memory, a node lost)
                    outcome = VideoOutcome(job.name, str(job.path), "failed", job.sha256,
                                           f"the worker running it stopped ({e.__class__.__name__}); run the batch "
                                           "again to retry it")
                finished += job.moments
                yield outcome
            live = ray.get(board.snapshot.remote())
            report(progress, "moments", finished + sum(min(live.get(j.name, 0), j.moments) for j in running.values()),
                   total)


# ---- the batch ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchResult:
    """Every video's outcome (in the batch's order), the totals over the series, what ran it, and the
    summary files."""

    outcomes: tuple[VideoOutcome, ...]
    totals: tuple[CharacterTime, ...]
    engine: Mapping[str, Any]
    files: Mapping[str, Path] = field(default_factory=dict)

    @property
    def failed(self) -> list[VideoOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)


@contextlib.contextmanager
def _only_batch(out_dir: Path) -> Iterator[None]:
    """One batch at a time writes into a results folder (a lock the system drops when the process dies)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".batch.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ScreenTimeError(f"Another batch is writing into {out_dir}: wait for it to finish or choose "
                                  "another --out folder.") from None
        yield


def _plan(videos: Sequence[Path], names: Sequence[str], out_dir: Path, work: Work
          ) -> tuple[list[VideoJob], dict[str, VideoOutcome]]:
    jobs, settled = [], {}
    for path, name in zip(videos, names):
        try:
            info = probe_video(path)
            sha = file_sha256(path)
        except ScreenTimeError as e:
            settled[name] = VideoOutcome(name, str(path), "failed", reason=str(e))
            continue
        folder = out_dir / name
        if is_current(folder, sha, work.identity):
            m = read_manifest(folder) or {}
            settled[name] = VideoOutcome(name, str(path), "skipped", sha, moments=int(m.get("moments", 0)))
        else:
            jobs.append(VideoJob(path, name, folder, sha, max(1, int(np.ceil(info.duration_s / work.every)))))
    return jobs, settled


def _extra(work: Work, engine: Mapping[str, Any]) -> dict[str, Any]:
    s = work.settings
    extra: dict[str, Any] = {"mode": s.mode, "settings": dict(work.identity), "engine": dict(engine)}
    if work.model is not None:
        clf, meta = work.model
        extra["model"] = {"dir": str(s.model_dir), "sha256": work.identity.get("model_sha256"),
                          "characters": list(clf.names_), "backbone": meta.get("backbone")}
    else:
        extra["people"] = {"book": str(s.people) if s.people else None, "refs": {n: str(p) for n, p in s.refs}}
    return extra


def write_summary(out_dir: Path, outcomes: Sequence[VideoOutcome], work: Work, engine: Mapping[str, Any]
                  ) -> tuple[dict[str, Path], tuple[CharacterTime, ...]]:
    """``summary.csv`` and ``summary.json`` of the batch (atomically), from the result folders."""
    named = []
    for o in outcomes:
        if o.status != "failed":
            named.append((o.video, read_timeline(out_dir / o.video)))
    data = summary_dict(named, [asdict(o) for o in outcomes], _extra(work, engine))
    paths = {SUMMARY_CSV: write_text(out_dir / SUMMARY_CSV, summary_csv(named)),
             SUMMARY_JSON: write_text(out_dir / SUMMARY_JSON, json.dumps(data, indent=1, default=str))}
    return paths, tuple(totals([t for _, t in named]))


def run_batch(paths: Sequence[os.PathLike[str] | str], out_dir: os.PathLike[str] | str, settings: BatchSettings,
              engine: Optional[Engine] = None, progress: Optional[ProgressCallback] = None,
              on_outcome: Optional[Callable[[VideoOutcome], None]] = None) -> BatchResult:
    """Screen time of every video of ``paths`` into ``out_dir`` (see the module docstring), resumable.

    ``engine`` defaults to a local :class:`RayEngine`. ``progress`` gets ``("videos", done, total)`` and
    ``("moments", done, total)``; ``on_outcome(outcome)`` is called as each video ends (the command line
    names a failed one on stderr at once). Started only for videos without current results: a rerun of a
    finished batch starts no engine.

    >>> run_batch(["season1/"], "out/", BatchSettings(model_dir=Path("model/"))).count("done")  # doctest: +SKIP
    12
    """
    out = Path(out_dir).absolute()
    videos = find_videos(paths)
    names = result_names(videos)
    with _only_batch(out):
        work = prepare(settings)
        jobs, settled = _plan(videos, names, out, work)
        for o in settled.values():
            if on_outcome is not None:
                on_outcome(o)
        report(progress, "videos", len(settled), len(videos))
        eng = engine if engine is not None else RayEngine()
        if jobs:
            for o in eng.run(jobs, work, progress):
                settled[o.video] = o
                if on_outcome is not None:
                    on_outcome(o)
                report(progress, "videos", len(settled), len(videos))
        outcomes = tuple(settled[n] for n in names)
        engine_info = eng.describe() if jobs else {**eng.describe(), "workers": 0, "nodes": [],
                                                   "note": "every video had current results: nothing ran"}
        files, tots = write_summary(out, outcomes, work, engine_info)
    return BatchResult(outcomes, tots, engine_info, files)


# ---- a dashboard project's videos (the Series page) ---------------------------------------------------------
class BatchStatus:
    """Progress of a background batch, shared between the thread that runs it and the page that shows it
    (read with :meth:`snapshot` on each rerun; the worker thread never touches the page). It is also the
    progress callback of the run; :meth:`stop` asks the run to stop at the next report."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"stage": "waiting", "done": 0, "total": 0, "videos_done": 0,
                                       "videos_total": 0, "running": True, "error": None, "outcomes": [],
                                       "started": time.time(), "ended": None}
        self._stop = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            if stage == "videos":
                self._state.update(videos_done=done, videos_total=total)
            else:
                self._state.update(stage=stage, done=done, total=total)
        if self._stop:
            raise Cancelled("The batch was stopped.")

    def stop(self) -> None:
        self._stop = True

    def finish(self, outcomes: Sequence[VideoOutcome] = (), error: Optional[str] = None) -> None:
        with self._lock:
            self._state.update(running=False, error=error, outcomes=list(outcomes), ended=time.time())

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._state)


def project_todo(project: Project) -> list[Any]:
    """The project's videos without a current result (none under its latest model)."""
    m = project.latest_model()
    if m is None:
        return []
    have = project.runs_of(m.id)
    return [v for v in project.videos() if v.id not in have]


def project_batch(project: Project, progress: Optional[ProgressCallback] = None) -> list[VideoOutcome]:
    """Measure every video of a project that has no result under its latest model: sample it (features at
    the model's step, from the cache when they are there) and predict it, one after the other in this process
    (the dashboard's server runs one heavy job at a time). A bad video fails alone, with its sentence."""
    from .jobs import predict_project, sample_video

    m = project.latest_model()
    if m is None:
        raise ProjectError("There is no model yet: label some frames and train one on the Train page first.")
    backbone = project.model_backbone(m)
    try:
        every = float(json.loads((m.dir / "model.json").read_text()).get("every", config.EVERY_S))
    except (OSError, ValueError) as e:
        raise ModelError(f"The model folder {m.dir} cannot be read: train the model again.") from e
    todo = project_todo(project)
    outcomes: list[VideoOutcome] = []
    for i, v in enumerate(todo):
        report(progress, "videos", i, len(todo))
        start = time.perf_counter()
        try:
            fresh = project.video(v.id)
            if not (fresh.has_features and fresh.backbone == backbone and project.features(fresh) is not None):
                sample_video(project, v.id, fresh.every or every, progress)
            predict_project(project, m)
        except ScreenTimeError as e:
            outcomes.append(VideoOutcome(v.name, str(project.video_path(v)), "failed", v.sha256, str(e)))
            continue
        done = v.id in project.runs_of(m.id)
        reason = None if done else (f"{v.name} was sampled with another feature network than the model's: "
                                    "sample it again on the Video page, or train again.")
        outcomes.append(VideoOutcome(v.name, str(project.video_path(v)), "done" if done else "failed", v.sha256,
                                     reason, seconds=time.perf_counter() - start))
    report(progress, "videos", len(todo), len(todo))
    return outcomes
