"""The batch on Ray (``core/batch.py``, ``python -m core batch``), over small generated clips and a model
trained on the tests' stand-in backbone. Ray workers are separate processes: they learn the ``colour`` family
from ``SCREENTIME_PLUGINS=colour_plugin`` (``tests/colour_plugin.py``), as a user's own backbone would.

One local Ray serves the module (started once: Ray takes seconds to start); the command-line runs join it
with ``--address``, except the one that is killed halfway (a local Ray of its own, as on a laptop) and the
two-node run (a head and a second node of one CPU each, started as local processes)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fakes
import pytest
from conftest import DATA, ROOT
from synth import make_video, write_truth_csv

from core.batch import MANIFEST, BatchSettings, RayEngine, find_videos, read_timeline, result_names, run_batch
from core.cache import FeatureCache
from core.features import extract_features
from core.jobs import predict, train_model
from core.labels import read_labels_csv
from core.smoothing import Smoothing
from core.summary import totals
from core.video import unreadable

ray = pytest.importorskip("ray")

TESTS = Path(__file__).resolve().parent
RAY_BIN = Path(sys.executable).with_name("ray")
TRAIN_SCHEDULE = {"Red": [(2.0, 9.0), (15.0, 22.0)], "Blue": [(6.0, 13.0), (20.0, 27.0)]}
#: Four-second episodes: who is on screen differs from one to the next.
EPISODES = {"ep1": {"Red": [(0.0, 3.0)]}, "ep3": {"Blue": [(1.0, 4.0)]},
            "ep4": {"Red": [(0.0, 2.0)], "Blue": [(2.0, 4.0)]}, "ep5": {"Red": [(1.0, 4.0)], "Blue": [(0.0, 2.0)]}}
FILES = {"timeline.csv", "screen_time.csv", "segments.csv", "report.json", "screen_time.srt", MANIFEST}


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(SCREENTIME_PLUGINS="colour_plugin", PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]), **extra)
    return env


def run_cli(*args: object, timeout: float = 240, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", "batch", *map(str, args)], cwd=ROOT, env=_env(**env),
                          capture_output=True, text=True, timeout=timeout)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory):
    """One local Ray (2 CPUs) for the module; its workers load the colour plugin and share the tests' cache."""
    cache = tmp_path_factory.getbasetemp() / "cache"
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"SCREENTIME_PLUGINS": "colour_plugin", "SCREENTIME_CACHE": str(cache),
                                       "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)])}})
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A linear model trained on every second of a 30 s clip, with colour features."""
    d = tmp_path_factory.mktemp("train")
    video = make_video(d / "train.mp4", TRAIN_SCHEDULE, 30.0)
    labels = read_labels_csv(write_truth_csv(d / "truth.csv", TRAIN_SCHEDULE, ["Red", "Blue"], 30.0))
    cache = FeatureCache(tmp_path_factory.getbasetemp() / "cache")
    fs = extract_features(video, 1.0, cache=cache, backbone_factory=fakes.Factory())
    train_model([(fs, labels)], d / "model", kind="linear")
    return d / "model"


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder: ep1 and ep3 at the top, ep2.mp4 (not a video: bytes of text) between them, ep4 and ep5 in a
    sub-folder, and a notes.txt that is not a video."""
    d = tmp_path_factory.mktemp("series")
    (d / "more").mkdir()
    for k, (name, schedule) in enumerate(EPISODES.items()):
        make_video((d / "more" if name in ("ep4", "ep5") else d) / f"{name}.mp4", schedule, 4.0, seed=k)
    (d / "ep2.mp4").write_bytes(b"this is not a video at all\n" * 50)
    (d / "notes.txt").write_text("not a video")
    return d


def _direct(video: Path, model: Path, out: Path) -> Path:
    predict(video, model, out)
    return out


def _same_results(got: Path, want: Path) -> None:
    for f in ("timeline.csv", "screen_time.csv", "segments.csv", "screen_time.srt"):
        assert (got / f).read_text() == (want / f).read_text(), f


def test_videos_are_found_sorted_in_folders_and_named_by_their_file(series: Path) -> None:
    vids = find_videos([series])
    assert [v.name for v in vids] == ["ep1.mp4", "ep2.mp4", "ep3.mp4", "ep4.mp4", "ep5.mp4"]
    assert find_videos([series / "more", series]) == vids  # each once, the same order
    assert result_names(vids) == ["ep1", "ep2", "ep3", "ep4", "ep5"]


@pytest.fixture(scope="module")
def first_run(local_ray, model: Path, series: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("batch") / "out"
    seen: list[tuple[str, int, int]] = []
    res = run_batch([series], out, BatchSettings(model_dir=model), RayEngine(workers=2),
                    progress=lambda s, d, t: seen.append((s, d, t)))
    return res, out, seen


def test_every_video_gets_the_files_predict_writes(first_run, model: Path, series: Path, tmp_path: Path) -> None:
    res, out, _ = first_run
    assert [(o.video, o.status) for o in res.outcomes] == [("ep1", "done"), ("ep2", "failed"), ("ep3", "done"),
                                                         ("ep4", "done"), ("ep5", "done")]
    for o in res.outcomes:
        if o.status == "done":
            assert {p.name for p in (out / o.video).iterdir()} == FILES
            video = Path(o.path)
            _same_results(out / o.video, _direct(video, model, tmp_path / o.video))
            assert o.moments == 4 and o.node is not None
    assert not (out / "ep2").exists()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "ep1", "ep3", "ep4", "ep5", "summary.csv", "summary.json"]


def test_summary_rows_are_every_videos_screen_time(first_run) -> None:
    res, out, _ = first_run
    want = [{"video": name, **row} for name in ("ep1", "ep3", "ep4", "ep5")
            for row in _rows(out / name / "screen_time.csv")]
    assert _rows(out / "summary.csv") == want
    assert len(want) == 8  # Red and Blue in each of four videos
    data = json.loads((out / "summary.json").read_text())
    assert [v["status"] for v in data["videos"]] == ["done", "failed", "done", "done", "done"]
    assert data["counts"] == {"done": 4, "failed": 1}
    tls = [read_timeline(out / n) for n in ("ep1", "ep3", "ep4", "ep5")]
    assert [(t["character"], t["seconds"], t["appearances"]) for t in data["totals"]] == [
        (t.character, t.seconds, t.appearances) for t in totals(tls)]
    assert data["duration_s"] == pytest.approx(16.0)
    assert data["model"]["characters"] == ["Red", "Blue"] and len(data["model"]["sha256"]) == 64
    assert data["settings"]["every_s"] == 1.0 and data["program"]["version"]
    engine = data["engine"]
    assert engine["name"] == "ray" and engine["workers"] == 2 and len(engine["nodes"]) == 1


def test_the_failing_file_is_named_with_what_to_do(first_run) -> None:
    res, _, _ = first_run
    (bad,) = res.failed
    assert bad.video == "ep2" and bad.reason.startswith("ep2.mp4 is not a video we can read")


def test_progress_counts_every_video_and_moment(first_run) -> None:
    _, _, seen = first_run
    videos = [(d, t) for s, d, t in seen if s == "videos"]
    moments = [(d, t) for s, d, t in seen if s == "moments"]
    assert videos[0] == (1, 5) and videos[-1] == (5, 5)  # the bad file is settled before any task
    assert moments[-1] == (16, 16) and all(d <= t for d, t in moments)


def test_a_rerun_computes_nothing(first_run, model: Path, series: Path) -> None:
    res, out, _ = first_run
    stamps = {n: (out / n / MANIFEST).stat().st_mtime_ns for n in ("ep1", "ep3", "ep4", "ep5")}
    again = run_batch([series], out, BatchSettings(model_dir=model))
    assert [o.status for o in again.outcomes] == ["skipped", "failed", "skipped", "skipped", "skipped"]
    assert again.engine["workers"] == 0  # no engine started
    assert {n: (out / n / MANIFEST).stat().st_mtime_ns for n in stamps} == stamps
    assert (out / "summary.csv").read_text().count("\n") == 9


def test_a_lost_result_is_made_again_from_cached_features(first_run, model: Path, series: Path) -> None:
    _, out, _ = first_run
    before = (out / "ep3" / "screen_time.csv").read_text()
    for f in (out / "ep3").iterdir():
        f.unlink()
    (out / "ep3").rmdir()
    again = run_batch([series], out, BatchSettings(model_dir=model), RayEngine(workers=1))
    ep3 = next(o for o in again.outcomes if o.video == "ep3")
    assert ep3.status == "done" and ep3.features_computed == 0
    assert (out / "ep3" / "screen_time.csv").read_text() == before
    assert again.count("skipped") == 3


@pytest.mark.parametrize("settings, why", [
    (dict(smoothing=Smoothing(typical_run_s=2.5)), "other smoothing"),
    (dict(every=2.0), "another step"),
], ids=["other-smoothing", "other-step"])
def test_other_settings_make_the_results_again(local_ray, model: Path, series: Path, tmp_path: Path, settings,
                                               why) -> None:
    out = tmp_path / "out"
    run_batch([series / "ep1.mp4"], out, BatchSettings(model_dir=model))
    again = run_batch([series / "ep1.mp4"], out, BatchSettings(model_dir=model, **settings))
    assert [o.status for o in again.outcomes] == ["done"], why
    assert json.loads((out / "ep1" / MANIFEST).read_text())["settings"]["every_s"] == settings.get("every", 1.0)


def test_the_command_names_the_bad_file_on_one_line_and_exits_non_zero(local_ray, model: Path, series: Path,
                                                                        tmp_path: Path) -> None:
    r = run_cli(series, "--model", model, "--out", tmp_path / "out", "--address", local_ray, "--quiet")
    assert r.returncode == 1, r.stderr
    assert r.stderr.splitlines() == [f"{series / 'ep2.mp4'}: {unreadable('ep2.mp4')}"]
    assert "4 done, 0 skipped (current), 1 failed" in r.stdout
    assert len(_rows(tmp_path / "out" / "summary.csv")) == 8


def test_a_bad_model_folder_is_one_sentence(tmp_path: Path, series: Path) -> None:
    r = run_cli(series, "--model", tmp_path / "nothing", "--out", tmp_path / "out", "--quiet")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("Error: ")


def _done_folders(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_a_killed_batch_resumes_where_it_stopped(local_ray, model: Path, tmp_path: Path) -> None:
    series = tmp_path / "fresh"  # new content: no cached features
    series.mkdir()
    for k, (name, schedule) in enumerate(EPISODES.items()):
        make_video(series / f"{name}.mp4", schedule, 4.0, seed=10 + k)
    out = tmp_path / "out"
    good = [series]
    args = [sys.executable, "-m", "core", "batch", *map(str, good), "--model", str(model), "--out", str(out),
            "--workers", "1", "--quiet"]
    # a local Ray of its own, as on a laptop; every frame batch takes 1.5 s more, so the kill lands halfway
    proc = subprocess.Popen(args, cwd=ROOT, env=_env(COLOUR_DELAY_S="1.5"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (out.is_dir() and _done_folders(out)):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    done = _done_folders(out)
    assert 1 <= len(done) < 4, done
    for name in done:  # nothing that looks done is half-written
        assert {p.name for p in (out / name).iterdir()} == FILES
    assert not (out / "summary.csv").exists()
    r = run_cli(*good, "--model", model, "--out", out, "--address", local_ray, "--quiet")
    assert r.returncode == 0, r.stderr
    data = json.loads((out / "summary.json").read_text())
    status = {v["video"]: v["status"] for v in data["videos"]}
    assert [status[n] for n in done] == ["skipped"] * len(done)
    assert sorted(n for n, s in status.items() if s == "done") == sorted(set(status) - set(done))
    for name in _done_folders(out):
        _same_results(out / name, _direct(next(series.rglob(f"{name}.mp4")), model, tmp_path / "want" / name))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def two_nodes(tmp_path: Path):
    """A Ray head and a second node, one CPU each, as local processes (``ray start --block``, each in a process
    group of its own), with a token of their own (Ray's token authentication, as a cluster should have it);
    stopped by their process groups at the end. Yields the address and the environment that reaches them."""
    port = _free_port()
    address = f"127.0.0.1:{port}"
    env = _env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32), COLOUR_DELAY_S="0.5")
    common = ["--num-cpus=1", "--block", "--disable-usage-stats", "--node-ip-address=127.0.0.1"]
    temp = tempfile.mkdtemp(prefix="st-ray-", dir="/tmp")  # short: Ray's Unix sockets live in it (108 bytes at most)
    heads = [str(RAY_BIN), "start", "--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp}",
             *common]
    procs = [subprocess.Popen(heads, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    try:
        _wait_nodes(address, 1, env)
        procs.append(subprocess.Popen([str(RAY_BIN), "start", f"--address={address}", *common], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        _wait_nodes(address, 2, env)
        yield address, env
    finally:
        for p in reversed(procs):
            _stop_group(p, signal.SIGTERM)
        for p in reversed(procs):
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)
            _stop_group(p, signal.SIGKILL)  # whatever of that group is left (Ray's GCS outlives SIGTERM)
            p.wait(10)
        shutil.rmtree(temp, ignore_errors=True)


def _stop_group(p: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, sig)


def _wait_nodes(address: str, n: int, env: dict[str, str]) -> None:
    code = (f"import ray; ray.init(address={address!r}, log_to_driver=False, logging_level='ERROR'); "
            "print(sum(1 for x in ray.nodes() if x['Alive']))")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=env)
        except subprocess.TimeoutExpired:
            continue
        if r.returncode == 0 and r.stdout.strip() == str(n):
            return
        time.sleep(1)
    raise AssertionError(f"the Ray cluster at {address} did not reach {n} node(s)")


def test_two_nodes_of_one_cpu_share_the_batch(two_nodes, model: Path, tmp_path: Path) -> None:
    address, env = two_nodes
    series = tmp_path / "fresh"  # new content, so each video is real work (the nodes add 0.5 s per frame batch)
    series.mkdir()
    for k, (name, schedule) in enumerate(EPISODES.items()):
        make_video(series / f"{name}.mp4", schedule, 4.0, seed=20 + k)
    r = subprocess.run([sys.executable, "-m", "core", "batch", str(series), "--model", str(model), "--out",
                        str(tmp_path / "o"), "--address", address, "--quiet"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "o" / "summary.json").read_text())
    engine = data["engine"]
    assert engine["address"] == address and engine["workers"] == 2
    assert sorted(n["cpus"] for n in engine["nodes"]) == [1, 1]
    used = {v["node"] for v in data["videos"]}
    assert used == {n["node_id"] for n in engine["nodes"]}  # both nodes measured videos
    assert [v["status"] for v in data["videos"]] == ["done"] * 4
    assert "2 node(s) with 1, 1 CPU(s)" in r.stdout


def test_faces_in_a_batch_are_what_the_faces_command_finds(local_ray, tmp_path: Path) -> None:
    from core.faces import PeopleBook, find_people, write_people_outputs
    from core.faces import config as faces_config

    clip, photo = DATA / "short_hamilton_clip.mp4", DATA / "lin-manuel-miranda.png"
    res = run_batch([clip], tmp_path / "out", BatchSettings("faces", refs=(("Lin-Manuel Miranda", photo),)))
    assert [o.status for o in res.outcomes] == ["done"], res.failed
    got = tmp_path / "out" / "short_hamilton_clip"
    assert {p.name for p in got.iterdir()} == FILES | {"gallery", "people.json"}
    smoothing = Smoothing(faces_config.SMOOTHING.bridge_gaps_s, faces_config.SMOOTHING.min_appearance_s, 0.0)
    found = find_people(clip, 1.0, refs={"Lin-Manuel Miranda": photo}, book=PeopleBook(), smoothing=smoothing)
    write_people_outputs(found, tmp_path / "want")
    _same_results(got, tmp_path / "want")
    assert "Lin-Manuel Miranda" in [t.character for t in res.totals]
