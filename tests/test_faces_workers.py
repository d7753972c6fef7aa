"""Embedding in other processes (core/faces/workers.py): the same embeddings as in this process, and the
processes always stop: at the end, after an error, after a cancelled run and on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from faces_helpers import CLIP

from core.cache import FeatureCache
from core.errors import Cancelled
from core.faces.detect import DetectorSettings, detect_faces
from core.faces.embed import align_faces, embed_chips
from core.faces.store import compute_faces
from core.faces.workers import ChipEmbedder
from core.video import SampleReader, probe_video

ROOT = Path(__file__).resolve().parents[1]


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (an ended process nobody has reaped yet)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.fixture(scope="module")
def chips() -> np.ndarray:
    """The aligned chips of the clip's faces at 0, 8 and 9 s (Lin far away, Alex at the piano, the audience)."""
    info = probe_video(CLIP)
    out = []
    for s in SampleReader(info.path, 1.0, info):
        if s.time_s in (0.0, 8.0):
            out.append(align_faces(s.frame, detect_faces(s.frame))[0])
    return np.concatenate(out)


def test_a_worker_process_gives_the_same_embeddings_as_this_process(chips: np.ndarray) -> None:
    assert len(chips) >= 5
    here = embed_chips(chips)
    with ChipEmbedder(1) as e:
        e.submit("a", chips[:2])
        e.submit("b", chips[2:])
        pids = e.pids
        got = e.results()
    assert np.array_equal(np.concatenate([got["a"], got["b"]]), here)
    assert len(pids) == 1 and not any(_alive(p) for p in pids)  # stopped at the end of the block


def test_in_this_process_with_no_workers(chips: np.ndarray) -> None:
    with ChipEmbedder(0) as e:
        e.submit(0, chips[:1])
        assert e.pids == []
        assert np.array_equal(e.results()[0], embed_chips(chips[:1]))


def test_the_workers_stop_when_the_caller_fails(chips: np.ndarray) -> None:
    pids: list[int] = []
    with pytest.raises(RuntimeError, match="the caller failed"), ChipEmbedder(2) as e:
        for k in range(6):
            e.submit(k, chips)
        pids = e.pids
        raise RuntimeError("the caller failed")
    assert len(pids) == 2 and not any(_alive(p) for p in pids)


def test_a_cancelled_run_stops_the_workers_and_leaves_no_cache_entry(tmp_path: Path) -> None:
    def progress(stage: str, done: int, total: int) -> None:
        if stage == "faces" and done == 3:
            raise Cancelled("stop")

    cache = FeatureCache(tmp_path / "cache")  # its own: the session's cache may hold the clip's faces already
    before = _children()
    with pytest.raises(Cancelled):
        compute_faces(CLIP, 1.0, DetectorSettings(), progress, cache=cache, processes=1)
    time.sleep(0.2)
    assert _children() - before == set()
    assert not list((cache.root / "faces").rglob("faces.npz"))


def _children() -> set[int]:
    """This process's live child processes (from /proc)."""
    me = str(os.getpid())
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me and fields[0] != "Z":
                out.add(int(d.name))
    return out


CTRL_C = """
import os, sys, time
import numpy as np
from core.faces.workers import ChipEmbedder
chips = np.zeros((4, 150, 150, 3), np.uint8)
try:
    with ChipEmbedder(2) as e:
        for k in range(100):
            e.submit(k, chips)
            if k == 3:
                print(*e.pids, flush=True)
        e.results()
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


def test_ctrl_c_stops_the_workers_cleanly() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-c", CTRL_C], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, start_new_session=True)
    assert p.stdout is not None
    pids = [int(x) for x in p.stdout.readline().split()]
    assert len(pids) == 2
    # multiprocessing's resource tracker is started beside the workers and may still be starting its
    # interpreter (a SIGINT then makes Python print "Fatal Python error: init_import_site"): let it start
    time.sleep(3.0)
    os.killpg(p.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole process group
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "interrupted" in out
    assert "Traceback" not in err  # the workers ignore it: no traceback from them either
    assert not any(_alive(x) for x in pids)


def test_workers_end_when_their_main_process_is_killed() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-c", CTRL_C], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         env=env, start_new_session=True)
    assert p.stdout is not None
    pids = [int(x) for x in p.stdout.readline().split()]
    p.kill()  # no chance to clean up
    p.wait(timeout=30)
    deadline = time.monotonic() + 20
    while any(_alive(x) for x in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(pids) == 2 and not any(_alive(x) for x in pids)
