"""Faults and bad input (issue 14): every case of the probe, as a table where it can be one.

The fault cases run real processes and send them real signals (``subprocess`` + ``os.kill``): a model save
killed again and again, a video replaced while it is read, a run killed while it extracts features. Those
that need features use the tests' stand-in network (``fakes.py``) in a child process that registers it, so no
case needs VGG16 and each takes a few seconds. What the user sees in each case is in docs/reliability.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import fakes
import numpy as np
import pytest
from conftest import TWO_NAMES
from synth import make_video

import core
from core.cache import FeatureCache
from core.classifier import ScreenTimeClassifier
from core.errors import LabelError, ModelError, ProjectError, VideoError
from core.evaluate import evaluate, evaluate_files, read_timeline_csv
from core.export import screen_time_csv, segments_csv, timeline_csv, write_outputs
from core.features import extract_features
from core.jobs import train_model
from core.labels import LabelSet, read_labels_csv, write_labels_csv
from core.project import Project
from core.summary import totals, totals_csv
from core.timeline import Timeline

#: The folder that holds the ``core`` package under test, and this tests folder (for ``fakes``/``synth``).
PACKAGE_ROOT = Path(core.__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

#: A child that runs the command line with the stand-in network registered as the backbone family "colour"
#: (a model trained on its features names that family, so ``predict`` finds it). With ``ST_TEST_MARKER`` set,
#: the network touches that file at its first batch and then takes ``ST_TEST_SLEEP`` seconds per batch, so a
#: test can signal the run while it extracts features.
COLOUR_CLI = """
import os, sys, time
import fakes
from core.features import register_backbone

class Slow(fakes.Factory):
    def __call__(self, spec, weights):
        backbone = super().__call__(spec, weights)
        marker = os.environ.get("ST_TEST_MARKER")
        if marker:
            embed = backbone.embed
            def slow(batch):
                open(marker, "w").close()
                time.sleep(float(os.environ.get("ST_TEST_SLEEP", "1")))
                return embed(batch)
            backbone.embed = slow
        return backbone

register_backbone(fakes.FAMILY, Slow())
from core.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(PACKAGE_ROOT), str(TESTS), os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, PYTHONPATH=path, **extra)


def cli(*args: str | bytes | Path, colour: bool = False, timeout: float = 120, **env: str
        ) -> subprocess.CompletedProcess[str]:
    """``python -m core ARGS`` (with ``colour``, through :data:`COLOUR_CLI`), its output as text."""
    head = [sys.executable, "-c", COLOUR_CLI] if colour else [sys.executable, "-m", "core"]
    argv = [a if isinstance(a, bytes) else str(a) for a in args]
    return subprocess.run([*head, *argv], cwd=PACKAGE_ROOT, env=_env(**env), capture_output=True, text=True,
                          timeout=timeout, errors="replace")


def assert_one_sentence(r: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2 with one line on stderr, ``Error: ...`` holding ``words``; never the catch-all or a traceback."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    assert "unexpected problem" not in r.stderr and "Traceback" not in r.stderr
    for w in words:
        assert w in lines[0], (w, r.stderr)


def assert_refused_by_parser(r: subprocess.CompletedProcess[str], *words: str) -> None:
    """argparse's refusal of an option: exit 2, its usage line and one ``error:`` line naming the option."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    last = r.stderr.strip().splitlines()[-1]
    assert "error: argument" in last and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in last, (w, r.stderr)


def _shape_model(names: list[str], X: np.ndarray, Y: np.ndarray) -> ScreenTimeClassifier:
    """A linear model without cross-validation (fast, and the same per character whatever the column order)."""
    return ScreenTimeClassifier(kind="linear", block_s=1e6).fit(X, Y, np.arange(len(X), dtype=float), names)


def _xy(n: int = 60, d: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    Y = np.zeros((n, 2), np.uint8)
    Y[::2, 0] = 1
    Y[::3, 1] = 1
    X = rng.normal(size=(n, d)).astype(np.float32) + Y[:, :1] * 1.5 - Y[:, 1:] * 1.5
    return X, Y


@pytest.fixture(scope="module")
def colour_model(tmp_path_factory: pytest.TempPathFactory, two_video: Path, two_labels: Path) -> tuple[Path, Path]:
    """A linear model of Red and Blue on the stand-in network's features of ``two_video``, and the cache that
    holds those features: ``(model_dir, cache_dir)``."""
    base = tmp_path_factory.mktemp("colour-model")
    fs = extract_features(two_video, 1.0, cache=FeatureCache(base / "cache"), backbone_factory=fakes.Factory())
    train_model([(fs, read_labels_csv(two_labels))], base / "model", kind="linear")
    return base / "model", base / "cache"


# ---- 1. a killed train must not swap two characters ---------------------------------------------------------
@pytest.fixture(scope="module")
def two_orders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, np.ndarray, dict[str, np.ndarray]]:
    """The same model saved twice with its characters in both orders (Red, Blue) and (Blue, Red): a folder
    holding the JSON of one and the weights of the other swaps the two characters' screen times."""
    base = tmp_path_factory.mktemp("orders")
    X, Y = _xy()
    a = _shape_model(["Red", "Blue"], X, Y)
    b = _shape_model(["Blue", "Red"], X, Y[:, ::-1].copy())
    a.save(base / "a", extra={"who": "a"})
    b.save(base / "b", extra={"who": "b"})
    P = a.predict_proba(X)
    return base / "a", base / "b", X, {"Red": P[:, 0], "Blue": P[:, 1]}


def _per_name(model_dir: Path, X: np.ndarray) -> dict[str, np.ndarray]:
    clf, _ = ScreenTimeClassifier.load(model_dir)
    P = clf.predict_proba(X)
    return {n: P[:, j] for j, n in enumerate(clf.names_)}


def test_a_model_folder_mixed_from_two_saves_is_refused_in_one_sentence(two_orders, tmp_path: Path) -> None:
    a, b, X, _ = two_orders
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(a / "model.json", mixed / "model.json")   # what a kill between the two files used to leave
    shutil.copy(b / "weights.npz", mixed / "weights.npz")
    with pytest.raises(ModelError, match=r"^The model in .* is a mix of two saves \(its weights.npz is not the one "
                                         r"its model.json names\): train it again"):
        ScreenTimeClassifier.load(mixed)


SAVE_LOOP = """
import sys
from core.classifier import ScreenTimeClassifier
a, meta_a = ScreenTimeClassifier.load(sys.argv[1])
b, meta_b = ScreenTimeClassifier.load(sys.argv[2])
print("ready", flush=True)
while True:
    a.save(sys.argv[3], extra={"who": "a"})
    b.save(sys.argv[3], extra={"who": "b"})
"""


def test_killing_a_model_save_again_and_again_never_leaves_a_mixed_or_missing_model(two_orders, tmp_path: Path
                                                                                   ) -> None:
    a, b, X, truth = two_orders
    target = tmp_path / "model"
    shutil.copytree(a, target)
    rng = random.Random(14)
    seen = set()
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-c", SAVE_LOOP, str(a), str(b), str(target)], cwd=PACKAGE_ROOT,
                                 env=_env(), stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        got = _per_name(target, X)  # loads: the old model or the new one, whole
        for name in ("Red", "Blue"):
            np.testing.assert_allclose(got[name], truth[name], atol=1e-6, err_msg=f"{name} swapped")
        seen.add(json.loads((target / "model.json").read_text())["who"])
    assert seen <= {"a", "b"}
    ScreenTimeClassifier.load(a)[0].save(target)  # the next save sweeps what the killed ones were writing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


# ---- 2. a video replaced while it is read must not poison the cache -------------------------------------------
REPLACE_CHILD = """
import os, sys, time
from pathlib import Path
import fakes
from core.cache import FeatureCache
from core.errors import VideoError
from core.features import extract_features

video, cache, marker, go = sys.argv[1:5]

def progress(stage, done, total):
    if stage == "loading network":  # hashed, decoding about to start: the parent replaces the file now
        Path(marker).touch()
        start = time.monotonic()
        while not os.path.exists(go) and time.monotonic() - start < 30:
            time.sleep(0.01)

try:
    fs = extract_features(video, 1.0, cache=FeatureCache(Path(cache)), progress=progress,
                          backbone_factory=fakes.Factory())
except VideoError as exc:
    print(exc)
    sys.exit(3)
print("stored", fs.computed)
"""


def _wait_for(path: Path, timeout: float = 60.0) -> None:
    start = time.monotonic()
    while not path.exists():
        assert time.monotonic() - start < timeout, f"{path} never appeared"
        time.sleep(0.01)


def test_a_video_replaced_while_it_is_read_is_refused_and_its_features_are_not_cached(tmp_path: Path) -> None:
    original = make_video(tmp_path / "original.mp4", {"Red": [(0, 6)]}, 8.0)
    other = make_video(tmp_path / "other.mp4", {"Blue": [(0, 6)]}, 8.0, seed=1)
    original_bytes = original.read_bytes()
    sha = hashlib.sha256(original_bytes).hexdigest()
    clean = extract_features(original, 1.0, cache=FeatureCache(tmp_path / "clean"), backbone_factory=fakes.Factory())
    video = tmp_path / "video.mp4"
    video.write_bytes(original_bytes)
    cache = tmp_path / "cache"
    child = subprocess.Popen([sys.executable, "-c", REPLACE_CHILD, str(video), str(cache), str(tmp_path / "hashed"),
                              str(tmp_path / "go")], cwd=PACKAGE_ROOT, env=_env(), stdout=subprocess.PIPE, text=True)
    _wait_for(tmp_path / "hashed")
    os.replace(other, video)  # another file under the same name, as a sync tool or a re-export does
    (tmp_path / "go").touch()
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 3, out
    assert out.strip() == ("video.mp4 changed while it was being read (it was replaced, rewritten or removed): run "
                           "again once the file stays as it is.")
    assert FeatureCache(cache).load(sha, 1.0, fakes.KEY) is None  # nothing stored under the original's hash
    video.write_bytes(original_bytes)  # the untouched original again: computed afresh, and right
    again = extract_features(video, 1.0, cache=FeatureCache(cache), backbone_factory=fakes.Factory())
    assert again.computed == clean.computed > 0
    np.testing.assert_array_equal(again.features, clean.features)


# ---- 3. CSV injection -----------------------------------------------------------------------------------
#: OWASP's list of first characters that make a spreadsheet run a cell (stated here, not imported, so that the
#: test checks the rule rather than our copy of it).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULAS = ["=cmd|' /C calc'!A0", "@SUM(1+1)", "+1-2", "-2+3", "=HYPERLINK(x)"]


def _formula_timeline() -> Timeline:
    present = np.array([[1, 0, 1, 0, 1], [1, 1, 0, 1, 0], [0, 1, 1, 0, 1]], bool)
    probs = np.where(present, 0.9, 0.1).astype(np.float32)
    return Timeline(np.array([0.0, 1.0, 2.0]), 1.0, 3.0, tuple(FORMULAS), present, probs)


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def _labels_text(tmp_path: Path, names: tuple[str, ...]) -> str:
    write_labels_csv(LabelSet(np.array([0.0, 1.0]), names, np.array([[1] * len(names), [0] * len(names)],
                                                                      np.uint8)), tmp_path / "l.csv")
    return (tmp_path / "l.csv").read_text()


@pytest.mark.parametrize("writer", [
    pytest.param(timeline_csv, id="timeline.csv"),
    pytest.param(screen_time_csv, id="screen_time.csv"),
    pytest.param(segments_csv, id="segments.csv"),
    pytest.param(lambda tl: totals_csv(totals([tl, tl])), id="dashboard-totals.csv"),
    pytest.param("labels", id="labels.csv"),
])
def test_no_csv_cell_we_write_starts_like_a_formula(writer: Callable[[Timeline], str] | str, tmp_path: Path
                                                    ) -> None:
    tl = _formula_timeline()
    text = _labels_text(tmp_path, tl.names) if writer == "labels" else writer(tl)  # type: ignore[operator]
    cells = _cells(text)
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert {f"'{n}" for n in FORMULAS} <= set(cells)  # the names are there, quoted


def test_quoted_names_read_back_as_the_names_they_were(tmp_path: Path) -> None:
    tl = _formula_timeline()
    _labels_text(tmp_path, tl.names)
    assert read_labels_csv(tmp_path / "l.csv").names == tuple(FORMULAS)
    write_outputs(tl, tmp_path / "out", {})
    pred = read_timeline_csv(tmp_path / "out" / "timeline.csv")
    assert pred.names == tuple(FORMULAS)
    scored = evaluate(pred, LabelSet(tl.times, tl.names, tl.present.astype(np.uint8)))
    assert [r.scores.f1 for r in scored] == [1.0] * len(FORMULAS)


def test_predict_writes_formula_names_quoted_end_to_end(colour_model: tuple[Path, Path], two_video: Path,
                                                        two_labels: Path, tmp_path: Path) -> None:
    model, cache = colour_model
    meta = json.loads((model / "model.json").read_text())
    clf, _ = ScreenTimeClassifier.load(model)
    clf.names_ = ("=cmd|' /C calc'!A0", "@SUM(1+1)")  # the same model, its characters renamed by the user
    clf.save(tmp_path / "m", extra={k: meta[k] for k in ("backbone", "weights", "every", "features")})
    r = cli("predict", two_video, "--model", tmp_path / "m", "--out", tmp_path / "o", "--quiet", colour=True,
            SCREENTIME_CACHE=str(cache))
    assert r.returncode == 0, r.stderr
    for name in ("timeline.csv", "screen_time.csv", "segments.csv"):
        cells = _cells((tmp_path / "o" / name).read_text())
        assert not [c for c in cells if c.startswith(FORMULA_STARTS)], name
        assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(1+1)" in cells, name


# ---- 4. a file name that is not UTF-8 -----------------------------------------------------------------------
@pytest.fixture
def latin1_copy(two_video: Path, tmp_path: Path) -> Path:
    """``two_video`` under a Latin-1 name (the byte 0xE9, which is not UTF-8), as old archives and USB sticks
    have them; Python keeps such a name as the surrogate U+DCE9."""
    bad = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.mp4"))
    shutil.copy(two_video, bad)
    return bad


def test_probe_reads_a_file_whose_name_is_not_utf8_instead_of_crashing(latin1_copy: Path) -> None:
    r = cli("probe", os.fsencode(latin1_copy))
    assert r.returncode == 0, (r.returncode, r.stderr)  # it was -11, a segmentation fault in OpenCV
    assert r.stdout == "caf\\xe9.mp4: 192x108, 10 fps (10.000), 600 frames, 60.00 s\n"


def test_predict_on_a_file_whose_name_is_not_utf8_gives_the_same_result(latin1_copy: Path, two_video: Path,
                                                                        colour_model: tuple[Path, Path],
                                                                        tmp_path: Path) -> None:
    model, cache = colour_model
    runs = {}
    for key, video in (("utf8", two_video), ("latin1", latin1_copy)):
        r = cli("predict", os.fsencode(video), "--model", model, "--out", tmp_path / key, "--quiet", colour=True,
                SCREENTIME_CACHE=str(cache))
        assert r.returncode == 0, (r.returncode, r.stderr)
        runs[key] = (tmp_path / key / "screen_time.csv").read_text()
        report = _strict((tmp_path / key / "report.json").read_text())
        assert report["video"]["name"] == video.name  # type: ignore[index]
    assert runs["latin1"] == runs["utf8"]


def test_features_of_a_file_whose_name_is_not_utf8_are_those_of_its_content(latin1_copy: Path, two_video: Path,
                                                                           tmp_path: Path) -> None:
    a = extract_features(latin1_copy, 1.0, cache=FeatureCache(tmp_path / "c1"), backbone_factory=fakes.Factory())
    b = extract_features(two_video, 1.0, cache=FeatureCache(tmp_path / "c2"), backbone_factory=fakes.Factory())
    np.testing.assert_array_equal(a.features, b.features)
    assert a.thumbs_dir is not None and len(list(a.thumbs_dir.iterdir())) == len(a) == 60


# ---- 5. no limit on characters from the command line ----------------------------------------------------------
def test_a_labels_file_with_10000_characters_is_refused_at_once(two_video: Path, tmp_path: Path) -> None:
    names = [f"C{i}" for i in range(10_000)]
    rows = ["time_s," + ",".join(names)] + [f"{t}," + ",".join("1" if (i + t) % 2 else "0" for i in range(10_000))
                                             for t in range(4)]
    (tmp_path / "wide.csv").write_text("\n".join(rows) + "\n")
    r = cli("train", two_video, "--labels", tmp_path / "wide.csv", "--model", tmp_path / "m", "--quiet",
            timeout=60)
    assert_one_sentence(r, "wide.csv names 10000 characters but one model follows at most 20")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("n, ok", [(1, True), (20, True), (21, False)])
def test_the_command_line_follows_as_many_characters_as_the_dashboard(n: int, ok: bool, tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("time_s," + ",".join(f"C{i}" for i in range(n)) + "\n0" + ",1" * n + "\n")
    if ok:
        assert len(read_labels_csv(tmp_path / "l.csv").names) == n
    else:
        with pytest.raises(LabelError, match=f"names {n} characters but one model follows at most 20"):
            read_labels_csv(tmp_path / "l.csv")


# ---- 6. one sentence instead of the catch-all ----------------------------------------------------------------
def _tamper(json_edit: Callable[[dict], None] | None = None,
            arrays_edit: Callable[[dict[str, np.ndarray]], None] | None = None,
            raw: Callable[[Path], None] | None = None) -> Callable[[Path], None]:
    """Damage a saved model folder; the weights' SHA-256 in model.json is brought up to date, so that the
    folder is consistent and damaged (a mixed folder is case 1)."""
    def apply(d: Path) -> None:
        meta = json.loads((d / "model.json").read_text())
        if arrays_edit is not None:
            with np.load(d / "weights.npz") as z:
                arrays = {k: z[k] for k in z.files}
            arrays_edit(arrays)
            np.savez(d / "weights.npz", **arrays)
        if raw is not None:
            raw(d)
        meta["weights_sha256"] = hashlib.sha256((d / "weights.npz").read_bytes()).hexdigest()
        if json_edit is not None:
            json_edit(meta)
        (d / "model.json").write_text(json.dumps(meta))
    return apply


def _set(key: str, value: object) -> Callable[[dict], None]:
    return lambda m: m.__setitem__(key, value)


def _drop(key: str) -> Callable[[dict], None]:
    return lambda m: m.pop(key)


DAMAGED_MODELS = [
    pytest.param(_tamper(_drop("params")), "its settings (params) are missing", id="missing-params"),
    pytest.param(_tamper(arrays_edit=lambda a: a.__setitem__("coef", a["coef"][:, :5])),
                 "its array coef has shape (2, 5), which does not fit 2 character(s) and 8 features",
                 id="wrong-array-shape"),
    pytest.param(_tamper(raw=lambda d: (d / "weights.npz").write_bytes(b"")), "is damaged (", id="empty-weights"),
    pytest.param(_tamper(_set("kind", "forest")), "its kind is 'forest', not one of dense, linear", id="wrong-kind"),
    pytest.param(_tamper(_set("every", -1)), "its sampling step (every) is -1", id="every--1"),
    pytest.param(_tamper(_set("every", "abc")), "its sampling step (every) is 'abc'", id="every-abc"),
    pytest.param(_tamper(lambda m: (m["characters"].append("Green"), m["thresholds"].append(0.5))),
                 "its array coef has shape (2, 8), which does not fit 3 character(s)", id="extra-character"),
    pytest.param(_tamper(arrays_edit=lambda a: a["scale"].__setitem__(0, 0.0)), "its array scale holds a zero",
                 id="zero-scale"),
    pytest.param(_tamper(arrays_edit=lambda a: a["coef"].__setitem__((0, 0), np.nan)),
                 "its array coef holds values that are not finite numbers", id="nan-weight"),
    pytest.param(_tamper(_set("thresholds", [0.5])), "one threshold between 0 and 1 for each of its 2 characters",
                 id="thresholds-too-few"),
    pytest.param(_tamper(_set("characters", ["Red", "Red"])), "it names a character twice", id="duplicate-name"),
    pytest.param(_tamper(_set("characters", ["Red", " "])), "it names no characters, or an empty one",
                 id="empty-name"),
    pytest.param(_tamper(lambda m: m["params"].__setitem__("hidden", "abc")), "its setting hidden is 'abc'",
                 id="setting-of-the-wrong-type"),
    pytest.param(_tamper(arrays_edit=lambda a: a.pop("intercept")),
                 "a linear model holds the arrays coef, intercept, mean, scale, this one coef, mean, scale",
                 id="missing-array"),
    pytest.param(_tamper(_set("n_train", "many")), "its counts of labels and folds are not whole numbers",
                 id="n-train-not-a-number"),
    pytest.param(_tamper(_set("features", {"layers": ["a"], "pooling": "avg"})),
                 "its feature description (layers, pooling, input size) is incomplete", id="features-incomplete"),
]


@pytest.mark.parametrize("damage, words", DAMAGED_MODELS)
def test_a_damaged_model_is_one_model_error_sentence(two_orders, tmp_path: Path,
                                                     damage: Callable[[Path], None], words: str) -> None:
    a, _, X, _ = two_orders
    d = tmp_path / "m"
    shutil.copytree(a, d)
    ScreenTimeClassifier.load(d)  # sound before the damage
    damage(d)
    with pytest.raises(ModelError) as err:
        ScreenTimeClassifier.load(d)
    msg = str(err.value)
    assert msg.startswith(f"The model in {d} is damaged (") and msg.endswith("): train it again."), msg
    assert words in msg, msg


@pytest.mark.parametrize("damage", [DAMAGED_MODELS[0].values[0], DAMAGED_MODELS[4].values[0],
                                    DAMAGED_MODELS[7].values[0]], ids=["missing-params", "every--1", "zero-scale"])
def test_predict_with_a_damaged_model_is_one_sentence(damage: Callable[[Path], None], colour_model: tuple[Path, Path],
                                                      two_video: Path, tmp_path: Path) -> None:
    model, cache = colour_model
    shutil.copytree(model, tmp_path / "m")
    damage(tmp_path / "m")
    r = cli("predict", two_video, "--model", tmp_path / "m", "--out", tmp_path / "o", colour=True,
            SCREENTIME_CACHE=str(cache))
    assert_one_sentence(r, "is damaged (", "train it again")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("every", ["0", "-1", "nan", "-inf", "inf", "abc", "1e-9", "61"])
@pytest.mark.parametrize("command", ["train", "predict", "analyze", "faces"])
def test_every_must_be_a_step_the_dashboard_offers(command: str, every: str, capsys: pytest.CaptureFixture[str]
                                                   ) -> None:
    from core.cli import build_parser

    extra = {"train": ["--labels", "l.csv", "--model", "m"], "predict": ["--model", "m", "--out", "o"],
             "analyze": ["--labels", "l.csv", "--out", "o"], "faces": ["--out", "o"]}[command]
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args([command, "v.mp4", *extra, f"--every={every}"])
    assert stop.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error: argument --every:" in last and "seconds" in last, last


def test_an_every_of_inf_is_refused_by_the_command_line_itself(two_video: Path, tmp_path: Path) -> None:
    r = cli("predict", two_video, "--model", tmp_path, "--out", tmp_path / "o", "--every", "inf")
    assert_refused_by_parser(r, "--every", "choose a step between 0.1 and 60 seconds, not inf")


def test_evaluate_given_bytes_that_are_not_text_is_one_sentence(two_truth: Path, tmp_path: Path) -> None:
    (tmp_path / "timeline.csv").write_bytes(bytes(range(256)) * 8)
    r = cli("evaluate", "--pred", tmp_path / "timeline.csv", "--truth", two_truth)
    assert_one_sentence(r, "timeline.csv is not a timeline.csv written by Screen Time")


# ---- 7. conflicting labels ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, words", [
    pytest.param("time_s,Red,Blue\n0,1,0\n1,0,1\n0,0,1\n1,1,0\n",
                 "Lines 2 and 4 label the same time, 0 s, differently (and 1 more such pairs)", id="every-time-twice"),
    pytest.param("time_s,Red\n0,1\n2.5,0\n2.50,1\n", "Lines 3 and 4 label the same time, 2.5 s, differently",
                 id="same-time-written-two-ways"),
    pytest.param("time_s,label\n0,Red\n1,none\n0,Blue\n", "Lines 2 and 4 label the same time, 0 s, differently",
                 id="single-label-form"),
])
def test_conflicting_labels_name_their_lines(text: str, words: str, tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text(text)
    with pytest.raises(LabelError, match=words.replace("(", r"\(").replace(")", r"\)")):
        read_labels_csv(tmp_path / "l.csv")


def test_a_row_given_twice_alike_is_no_conflict(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("time_s,Red\n0,1\n0,1\n1,0\n")
    assert read_labels_csv(tmp_path / "l.csv").values.tolist() == [[1], [1], [0]]


# ---- 8. evaluate matches names exactly; names that clash with timeline.csv's columns are refused ------------
@pytest.mark.parametrize("header, words", [
    pytest.param("time_s,p_Red,Blue", "defines the character 'p_Red', but 'p_Red' starts with p_", id="p_Name"),
    pytest.param("time_s,time_s,Blue", "defines the character 'time_s', but 'time_s' is reserved", id="time_s"),
    pytest.param("time_s,P_Red,Blue", "'P_Red' starts with p_", id="P_Name"),
])
def test_names_that_clash_with_timeline_columns_are_refused_in_labels(header: str, words: str, tmp_path: Path
                                                                      ) -> None:
    (tmp_path / "l.csv").write_text(f"{header}\n0,1,0\n")
    with pytest.raises(LabelError, match=words):
        read_labels_csv(tmp_path / "l.csv")


@pytest.mark.parametrize("name", ["p_Red", "time_s", "TIME_S", "P_x"])
def test_names_that_clash_with_timeline_columns_are_refused_in_a_project(name: str, dirs_env: Path) -> None:
    p = Project.create("Clash")
    with pytest.raises(ProjectError, match="reserved|starts with p_"):
        p.add_character(name)
    assert p.characters() == []


@pytest.fixture
def dirs_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCREENTIME_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SCREENTIME_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _timeline_file(d: Path, names: tuple[str, ...], present: list[list[int]]) -> Path:
    tl = Timeline(np.arange(len(present), dtype=float), 1.0, float(len(present)), names, np.array(present, bool))
    write_outputs(tl, d, {})
    return d / "timeline.csv"


def test_evaluate_matches_names_exactly_and_refuses_a_difference_of_case(tmp_path: Path) -> None:
    present = [[1, 0], [0, 1], [1, 1], [0, 0]]
    pred = _timeline_file(tmp_path / "o", ("Red", "red"), present)
    (tmp_path / "t.csv").write_text("time_s,Red,red\n0,1,0\n1,0,1\n2,1,1\n3,0,0\n")
    assert [(r.scores.character, r.scores.f1) for r in evaluate_files(pred, tmp_path / "t.csv")] == [
        ("Red", 1.0), ("red", 1.0)]   # two characters, each matched to its own column
    pred2 = _timeline_file(tmp_path / "o2", ("Red", "Blue"), present)
    (tmp_path / "t2.csv").write_text("time_s,red,Blue\n0,1,0\n1,0,1\n2,1,1\n3,0,0\n")
    with pytest.raises(LabelError, match="The truth names 'red' but the timeline 'Red': names are matched exactly"):
        evaluate_files(pred2, tmp_path / "t2.csv")


# ---- 9. silent empty or invalid results ----------------------------------------------------------------------
def _avi_with_rate(d: Path, rate: int) -> Path:
    """An MJPEG AVI whose stream header says ``rate`` frames per second (dwRate/dwScale of 'strh', and the
    main header's microseconds per frame to match)."""
    src = make_video(d / "ok.avi", {"Red": [(0, 2)]}, 4.0, fourcc="MJPG")
    data = bytearray(src.read_bytes())
    strh = data.index(b"strh") + 8
    data[strh + 20:strh + 24] = (1).to_bytes(4, "little")
    data[strh + 24:strh + 28] = rate.to_bytes(4, "little")
    avih = data.index(b"avih") + 8
    data[avih:avih + 4] = max(1, 1_000_000 // rate).to_bytes(4, "little")
    out = d / "fast.avi"
    out.write_bytes(bytes(data))
    return out


def test_a_header_claiming_2_31_fps_is_refused_not_an_empty_timeline(tmp_path: Path) -> None:
    r = cli("probe", _avi_with_rate(tmp_path, 2**31 - 1))
    assert_one_sentence(r, "fast.avi claims", "frames per second, which no video has (at most 1000)")


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_a_picture_renamed_to_a_video_is_refused(ext: str, tmp_path: Path) -> None:
    img = np.full((64, 96, 3), 128, np.uint8)
    ok, buf = cv2.imencode(f".{ext}", img)
    assert ok
    (tmp_path / "photo.mp4").write_bytes(buf.tobytes())
    r = cli("probe", tmp_path / "photo.mp4")
    assert_one_sentence(r, "photo.mp4 is a still picture, not a video: choose a video file.")


def _strict(text: str) -> object:
    def refuse(token: str) -> None:
        raise AssertionError(f"{token} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_every_json_file_we_write_is_strict_json(two_orders, tmp_path: Path) -> None:
    a, _, X, _ = two_orders
    tl = Timeline(np.array([0.0, 1.0]), 1.0, 2.0, ("Red",), np.array([[1], [0]], bool), np.array([[0.9], [np.nan]]))
    write_outputs(tl, tmp_path / "o", {"video": {"fps_float": float("inf")}, "every_s": float("nan")})
    rep = _strict((tmp_path / "o" / "report.json").read_text())
    assert rep["video"] == {"fps_float": None} and rep["every_s"] is None  # type: ignore[index]
    assert rep["timeline"]["probability"] == {"Red": [0.9, None]}  # type: ignore[index]
    clf, _ = ScreenTimeClassifier.load(a)
    clf.cv_by_kind_ = {"linear": float("nan")}
    clf.save(tmp_path / "m")
    assert _strict((tmp_path / "m" / "model.json").read_text())["cv_by_kind"] == {"linear": None}  # type: ignore
    fs_cache = FeatureCache(tmp_path / "cache")
    fs_cache.store("0" * 64, 1.0, "k", {"video_sha256": "0" * 64, "duration_s": float("inf")},
                   {"times": np.zeros(1), "features": np.zeros((1, 2))})
    _strict((fs_cache.entry_dir("0" * 64, 1.0, "k") / "meta.json").read_text())


# ---- 10. smaller ------------------------------------------------------------------------------------------
def test_a_label_at_1e308_seconds_is_one_sentence_without_a_numpy_warning(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("time_s,Red\n0,1\n1e308,0\n")
    labels = read_labels_csv(tmp_path / "l.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would fail here
        with pytest.raises(LabelError, match=r"^Line 3: time 1e\+308 s is outside the video \(0 to 60 s\)"):
            labels.align(np.arange(60, dtype=float), 1.0)


def _thumb_temps(cache: Path) -> list[Path]:
    return sorted(cache.glob("frames/*/.thumbs.*"))


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _wait_gone(pids: list[int], timeout: float = 30.0) -> None:
    """Wait until the processes ``pids`` have exited (a zombie counts as gone)."""
    start = time.monotonic()
    for pid in pids:
        while time.monotonic() - start < timeout:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                break
            if state == "Z":
                break
            time.sleep(0.02)


def test_a_predict_killed_while_extracting_leaves_no_temporary_thumbnails_behind(
        colour_model: tuple[Path, Path], two_video: Path, tmp_path: Path) -> None:
    model, _ = colour_model
    cache = tmp_path / "cache"
    child = subprocess.Popen([sys.executable, "-c", COLOUR_CLI, "predict", str(two_video), "--model", str(model),
                              "--out", str(tmp_path / "o"), "--quiet"], cwd=PACKAGE_ROOT,
                             env=_env(SCREENTIME_CACHE=str(cache), ST_TEST_MARKER=str(tmp_path / "embedding")),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(tmp_path / "embedding")
    assert len(_thumb_temps(cache)) == 1  # the run's own, while it runs
    decoder = _children(child.pid)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    _wait_gone(decoder)  # its decoding process stops at its next write to the broken pipe
    assert len(_thumb_temps(cache)) == 1  # SIGKILL runs no clean-up: the next run must remove it
    fs = extract_features(two_video, 1.0, cache=FeatureCache(cache), backbone_factory=fakes.Factory())
    assert _thumb_temps(cache) == [] and fs.thumbs_dir is not None and len(list(fs.thumbs_dir.iterdir())) == len(fs)
    assert not (tmp_path / "o").exists()


def test_a_predict_terminated_while_extracting_cleans_up_and_says_so(colour_model: tuple[Path, Path],
                                                                     two_video: Path, tmp_path: Path) -> None:
    model, _ = colour_model
    cache = tmp_path / "cache"
    child = subprocess.Popen([sys.executable, "-c", COLOUR_CLI, "predict", str(two_video), "--model", str(model),
                              "--out", str(tmp_path / "o"), "--quiet"], cwd=PACKAGE_ROOT,
                             env=_env(SCREENTIME_CACHE=str(cache), ST_TEST_MARKER=str(tmp_path / "embedding")),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(tmp_path / "embedding")
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 143 and err.strip() == "Stopped (terminated).", err
    assert _thumb_temps(cache) == [] and not list(cache.glob("features/*/*/*/features.npz"))
    assert not (tmp_path / "o").exists()


def test_an_upload_that_is_not_a_video_is_named_by_the_users_file(dirs_env: Path) -> None:
    p = Project.create("Uploads")
    with pytest.raises(VideoError) as err:
        p.import_video(io.BytesIO(b"this is not a video" * 100), "holiday 2024.mp4")
    assert str(err.value).startswith("holiday 2024.mp4 is not a video we can read"), err.value
    assert ".upload-" not in str(err.value)
    assert list((p.root / "videos").iterdir()) == []  # and no file is left behind


def test_a_picture_uploaded_as_a_video_is_refused_by_its_name(dirs_env: Path) -> None:
    ok, buf = cv2.imencode(".png", np.zeros((32, 32, 3), np.uint8))
    p = Project.create("Pictures")
    with pytest.raises(VideoError, match=r"^cat\.mp4 is a still picture, not a video: choose a video file\.$"):
        p.import_video(io.BytesIO(buf.tobytes()), "cat.mp4")


def test_training_names_the_characters_it_learned(two_orders) -> None:
    """The characters of the reference models of case 1 are the ones the tests expect (a guard for them)."""
    a, b, _, _ = two_orders
    assert ScreenTimeClassifier.load(a)[0].names_ == tuple(TWO_NAMES)
    assert ScreenTimeClassifier.load(b)[0].names_ == tuple(reversed(TWO_NAMES))
