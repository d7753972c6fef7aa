"""Background jobs of the dashboard: sampling, training and finding people run in a thread owned by the server
process, so they go on when the user changes page, reruns or closes the tab.

One job per project at a time (a second is refused with a sentence), and one heavy job per server through
:func:`pages.common.heavy_job` (the others wait their turn, saying so). The worker thread never calls
Streamlit: it only updates its :class:`Job`, which every page reads on each rerun (the sidebar and the page
that started it show its progress, with a Cancel button). Cancelling sets a flag that the job's progress
callback turns into :class:`core.errors.Cancelled` at the next step, so nothing half-done is kept (the core
writes its results atomically).

Not a page itself (app.py's navigation does not list it).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from core import ScreenTimeError, mmss
from core.errors import Cancelled
from core.project import Project

log = logging.getLogger("screentime.dashboard")

#: What a job's stages are called on the page.
STAGES = {"saving": "Saving the video", "loading network": "Getting the picture-recognition network ready",
          "features": "Looking at the frames", "decode": "Reading the video", "training": "Learning",
          "reading": "Reading the labelled videos", "measuring": "Measuring the videos",
          "mirroring": "Looking at the labelled frames mirrored",
          "waiting": "Waiting for another job on this computer to finish",
          "references": "Reading the reference photos", "faces": "Looking for faces",
          "grouping": "Grouping the faces into people"}

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"
_ids = itertools.count(1)


@dataclass
class Job:
    """One background job and what it has reported so far (written by the worker, read by the pages)."""

    project: str  # the project's folder (see key)
    kind: str  # "sample", "train" or "people"
    title: str  # "Sampling cartoon.mp4"
    estimate_s: float = 0.0  # what this machine's measured speed predicts for the whole job (0: unknown)
    id: int = field(default_factory=lambda: next(_ids))
    state: str = RUNNING
    stage: str = "starting"
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.monotonic)
    stage_started: float = field(default_factory=time.monotonic)
    finished: float = 0.0
    message: str = ""  # the sentence shown when it ends
    result: Any = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    thread: Optional[threading.Thread] = None

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    def progress(self, stage: str, done: int, total: int) -> None:
        """The core's progress callback: note the step; stop when the user pressed Cancel."""
        if self.cancel_requested.is_set():
            raise Cancelled("Stopped: nothing was kept from this run.")
        if stage != self.stage:
            self.stage, self.stage_started = stage, time.monotonic()
        self.done, self.total = int(done), int(total)

    def fraction(self) -> float:
        """How far the job is (0 to 1): the stage's steps when it counts them, else the time taken against the
        estimate from this machine's speed (never 1 before the end)."""
        if self.state != RUNNING:
            return 1.0
        if self.total > 1:
            return min(self.done / self.total, 1.0)
        if self.estimate_s > 0:
            return min((time.monotonic() - self.started) / self.estimate_s, 0.95)
        return 0.0

    def text(self) -> str:
        """One line: the stage, its steps, and the time left. A stage of one step (learning: "0 of 1" for half a
        minute) shows the time left from this machine's measured speed instead of its step."""
        if self.state != RUNNING:
            return self.message
        words = STAGES.get(self.stage, self.stage.capitalize())
        now = time.monotonic()
        if self.total > 1:
            steps = f": {self.done:,} of {self.total:,}"
            if self.stage == "saving":
                steps = f": {self.done / 1e6:,.0f} of {self.total / 1e6:,.0f} MB"
            frac, elapsed = self.done / self.total, now - self.stage_started
            left = ""
            if 0 < frac < 1 and elapsed > 1.5:
                left = f" - about {mmss(elapsed * (1 - frac) / frac)} left"
            elif self.estimate_s > 0:
                left = self._left(now)
            return f"{words}{steps}{left}"
        return f"{words}...{self._left(now) if self.estimate_s > 0 else ''}"

    def _left(self, now: float) -> str:
        left = self.estimate_s - (now - self.started)
        return f" - about {mmss(left)} left" if left >= 1 else " - nearly done"


_JOBS: dict[str, Job] = {}  # the latest job of each project
_LOCK = threading.Lock()


def key(p: Project) -> str:
    """A project's key in the registry: its folder (two data folders may both hold a project "season-1")."""
    return str(p.root.resolve())


def current(p: Project) -> Optional[Job]:
    """The project's latest job (running or finished), if any."""
    with _LOCK:
        return _JOBS.get(key(p))


def running() -> list[Job]:
    """Every running job of this server."""
    with _LOCK:
        return [j for j in _JOBS.values() if j.running]


def start(p: Project, kind: str, title: str, work: Callable[[Callable[[str, int, int], None]], Any],
          finish: Callable[[Any], str], estimate_s: float = 0.0) -> Job:
    """Run ``work(progress)`` in a background thread and return its :class:`Job` at once.

    ``finish(result)`` (in the worker too, no Streamlit) returns the sentence shown when it is done. Raises
    :class:`ScreenTimeError` when the project already has a job running."""
    from pages.common import heavy_job  # the one-heavy-job lock lives with the other shared page helpers

    project = key(p)
    with _LOCK:
        old = _JOBS.get(project)
        if old is not None and old.running:
            raise ScreenTimeError(f"{old.title} is still running for this project: wait for it or cancel it "
                                  "in the sidebar.")
        job = Job(project, kind, title, estimate_s)
        _JOBS[project] = job

    def run() -> None:
        try:
            with heavy_job(job.progress):
                job.stage_started = job.started = time.monotonic()  # the estimate starts when the job does
                job.result = work(job.progress)
            job.message = finish(job.result)
            job.state = DONE
        except Cancelled:
            job.message, job.state = f"{job.title}: cancelled. Nothing was kept from this run.", CANCELLED
        except ScreenTimeError as exc:
            job.message, job.state = str(exc), FAILED
        except Exception:  # noqa: BLE001 - a thread must end with a sentence, never silently
            log.exception("unexpected error in the background job %r", job.title)
            job.message, job.state = (f"{job.title} failed in a way Screen Time did not expect: try again, and "
                                      "if it happens again, tell whoever set up Screen Time for you."), FAILED
        finally:
            job.finished = time.monotonic()

    job.thread = threading.Thread(target=run, name=f"screentime-{kind}-{p.slug}", daemon=True)
    job.thread.start()
    return job


def cancel(p: Project) -> None:
    """Ask the project's running job to stop at its next step."""
    job = current(p)
    if job is not None and job.running:
        job.cancel_requested.set()


def wait(p: Project, timeout: float = 60.0) -> Optional[Job]:
    """Wait for the project's job to end (tests and scripts; the pages never wait)."""
    job = current(p)
    if job is not None and job.thread is not None:
        job.thread.join(timeout)
    return job


def forget(p: Project) -> None:
    """Drop the project's finished job (its sentence has been shown)."""
    with _LOCK:
        job = _JOBS.get(key(p))
        if job is not None and not job.running:
            del _JOBS[key(p)]
