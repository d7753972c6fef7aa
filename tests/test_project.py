"""The project store (core/project.py): names, videos, characters, labels, models, runs, the demo."""

from __future__ import annotations

import io
import sqlite3
import threading

import numpy as np
import pytest
from test_app_helpers import SCHEDULE, dirs, sampled_project, synth_video, truth  # noqa: F401

import core
from core import Smoothing, VideoError
from core.demo import create_demo, demo_available, first_project
from core.features import VGG16Factory
from core.jobs import project_features, project_timeline, sample_video, train_project
from core.labels import trainable_labels
from core.project import DB_NAME, Project, ProjectError, list_projects, safe_filename, slugify
from core.suggest import suggest


@pytest.mark.parametrize("raw, safe", [
    ("../../etc/passwd.mp4", "passwd.mp4"), ("..\\..\\win\\clip.MP4", "clip.MP4"), ("", "video.mp4"),
    ("..", "video.mp4"), (".hidden.mp4", "hidden.mp4"), ("a/b/../c d.mov", "c d.mov"),
    ("my<clip>|?.mp4", "myclip.mp4"), ("x" * 300 + ".mp4", "x" * 80 + ".mp4"), ("name\x00.mp4", "name.mp4")])
def test_safe_filename(raw, safe):
    assert safe_filename(raw) == safe


def test_slug_and_projects(dirs):
    assert slugify("Tom & Jerry: season 1") == "tom-jerry-season-1"
    a = Project.create("Season 1")
    b = Project.create("season-1!")  # same slug, another name: a new folder
    assert a.slug == "season-1" and b.slug == "season-1-2"
    with pytest.raises(ProjectError):
        Project.create("Season 1")
    with pytest.raises(ProjectError):
        Project.create("   ")
    with pytest.raises(ProjectError):
        Project.open("../season-1")
    assert [n for _, n in list_projects()] == ["Season 1", "season-1!"]
    assert Project.open("season-1").name == "Season 1"
    with sqlite3.connect(a.root / DB_NAME) as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_import_video_checks_and_sanitises(dirs):
    p = Project.create("P")
    with pytest.raises(VideoError, match="not a video"):
        p.import_video(io.BytesIO(b"hello, I am text\n" * 100), "notes.mp4")
    with pytest.raises(VideoError, match="empty"):
        p.import_video(io.BytesIO(b""), "empty.mp4")
    with pytest.raises(ProjectError, match="does not look like a video"):
        p.import_video(io.BytesIO(b"x"), "notes.txt")
    data = synth_video(dirs, 6.0).read_bytes()
    with pytest.raises(VideoError):
        p.import_video(io.BytesIO(data[: len(data) // 2]), "truncated.mp4")
    assert list((p.root / "videos").iterdir()) == []  # nothing left behind by the failures
    v = p.import_video(io.BytesIO(data), "../../outside.mp4")
    assert v.name == "outside.mp4" and p.video_path(v).parent == p.root / "videos"
    assert not (dirs / "data" / "outside.mp4").exists()
    assert abs(v.duration_s - 6.0) < 0.2 and (v.width, v.height) == (192, 108)
    again = p.import_video(io.BytesIO(data), "copy.mp4")  # same content: same record
    assert again.id == v.id and len(p.videos()) == 1


def test_import_video_too_large(dirs, monkeypatch):
    monkeypatch.setattr(core.config, "MAX_VIDEO_BYTES", 1000)
    p = Project.create("P")
    with pytest.raises(VideoError, match="larger than"):  # the one size rule, core.video.check_size
        p.import_video(io.BytesIO(b"\0" * 5000), "big.mp4")
    assert list((p.root / "videos").iterdir()) == []


def test_characters(dirs):
    p = Project.create("P")
    tom = p.add_character("  Tom ")
    assert tom.name == "Tom"
    p.add_character("Jerry")
    for bad in ("tom", "", "Nobody", "a,b", "x" * 41):
        with pytest.raises(ProjectError):
            p.add_character(bad)
    p.rename_character(tom.id, "Thomas")
    with pytest.raises(ProjectError):
        p.rename_character(tom.id, "jerry")
    assert [c.name for c in p.characters()] == ["Thomas", "Jerry"]
    p.remove_character(tom.id)
    assert [c.name for c in p.characters()] == ["Jerry"]


def test_labels_upsert_and_two_tabs(dirs):
    p = Project.create("P")
    with open(synth_video(dirs, 4.0), "rb") as f:
        v = p.import_video(f, "a.mp4")
    a, b = p.add_character("A"), p.add_character("B")
    p.set_present(v.id, 1.0, a.id, True)
    assert p.frame_labels(v.id) == {1.0: {a.id}}
    p.set_frame(v.id, 2.0, [])
    assert p.frame_labels(v.id)[2.0] == set()  # nobody
    p.clear_frame(v.id, 1.0)
    assert 1.0 not in p.frame_labels(v.id)
    # two tabs (two Project objects, two threads) click different characters on the same frames
    tab1, tab2 = Project(p.root), Project(p.root)
    errors = []

    def clicks(tab, cid):
        try:
            for t in range(40):
                tab.set_present(v.id, t * 0.5, cid, True)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=clicks, args=(tab1, a.id)), threading.Thread(target=clicks, args=(tab2, b.id))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    labels = p.frame_labels(v.id)
    assert all(labels[t * 0.5] == {a.id, b.id} for t in range(40))
    ls = p.label_set(v.id)
    assert ls.names == ("A", "B") and len(ls) == 40 and ls.values.sum() == 80
    with sqlite3.connect(p.root / DB_NAME) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_trainable_labels():
    ls = core.LabelSet.from_rows([(0, ["A"]), (1, ["A"]), (2, []), (3, ["B"]), (4, [])], ["A", "B"])
    usable, skipped = trainable_labels(ls)
    assert usable.names == ("A",) and skipped == ["B"]


def test_train_predict_timeline(dirs):
    p, v = sampled_project(dirs)
    assert p.features(v) is not None and len(p.features(v)) == 30
    assert p.moments(v).tolist() == p.features(v).times.tolist() == [float(t) for t in range(30)]
    assert p.thumb(v, 3.0) is not None
    m = train_project(p)
    assert m.characters == ("Red", "Blue") and m.skipped == () and m.wrong is not None
    assert set(m.scores) == {"Red", "Blue"} and all(s.f1 > 0.6 for s in m.scores.values())
    run = p.run_probs(m.id, v.id)
    assert run["probs"].shape == (30, 2)
    tl = project_timeline(p, m, v, Smoothing(0, 0))
    secs = {ct.character: ct.seconds for ct in tl.screen_time()}
    assert abs(secs["Red"] - 14) <= 4 and abs(secs["Blue"] - 14) <= 4
    # smoothing changes the figures without predicting again
    tl2 = project_timeline(p, m, v, Smoothing(bridge_gaps_s=10, min_appearance_s=0))
    assert sum(c.seconds for c in tl2.screen_time()) >= sum(c.seconds for c in tl.screen_time())
    p.set_smoothing(Smoothing(3, 1.5))
    assert p.smoothing() == Smoothing(3, 1.5)
    # a character without enough labels is left out, and said so
    p.add_character("Green")
    m2 = train_project(p)
    assert m2.skipped == ("Green",) and m2.characters == ("Red", "Blue")
    assert p.latest_model().id == m2.id


def test_train_without_labels_says_what_to_do(dirs):
    p = Project.create("P")
    with pytest.raises(ProjectError, match="characters"):
        train_project(p)
    p.add_character("Tom")
    with pytest.raises(ProjectError, match="label"):
        train_project(p)


def test_suggestions_are_spread_and_unlabelled():
    times = np.arange(60.0)
    probs = np.full((60, 2), 0.99, np.float32)
    probs[[10, 11, 12, 40], 0] = 0.5
    labelled = np.zeros(60, bool)
    labelled[40] = True
    idx = suggest(probs, labelled, times, 3)
    assert 40 not in idx and len(idx) == 3
    assert all(abs(a - b) >= 5 for a in idx for b in idx if a != b)
    assert any(i in (10, 11, 12) for i in idx)


@pytest.mark.skipif(not demo_available(), reason="demo files not generated")
def test_demo_project_first_start(dirs):
    p = first_project()
    assert p.name.startswith("Demo") and p.get_setting("demo") == "1"
    v = p.videos()[0]
    assert v.has_features and p.features(v) is not None and p.thumb(v, 0) is not None
    names = [c.name for c in p.characters()]
    assert names == ["Bunny", "Frank", "Rinky", "Gimera", "Bird"]
    assert 15 <= p.label_counts().frames <= 25  # part of the seconds only, as a user would
    m = p.latest_model()
    assert "Bird" in m.skipped and "Bunny" in m.characters
    tl = project_timeline(p, m, v, p.smoothing())
    bunny = next(ct for ct in tl.screen_time() if ct.character == "Bunny")
    assert 25 <= bunny.seconds <= 55  # the truth is 42 s
    assert first_project().slug == p.slug  # a second start opens it again, no second demo
    with pytest.raises(ProjectError):
        create_demo()  # the name is taken


@pytest.mark.skipif(not demo_available(), reason="demo files not generated")
def test_new_video_in_a_project_gets_the_features_of_its_first_video(dirs, tmp_path, monkeypatch):
    """The demo's features come from EfficientNet-Lite0; after the default network changes (here to VGG16), an
    episode added to the demo project must still get the demo's features, or the project's model could not
    use both."""
    from core.effnet import EfficientNetFactory

    monkeypatch.setattr(core.config, "BACKBONE", "vgg16")
    p = first_project()
    demo_key = p.videos()[0].backbone
    with open(synth_video(tmp_path, 6.0), "rb") as f:
        v = p.import_video(f, "episode2.mp4")
    factory, spec, weights = project_features(p, exclude=v.id)
    assert isinstance(factory, EfficientNetFactory) and f"efflite0-{weights}-{spec.tag}" == demo_key
    assert isinstance(project_features(Project.create("empty"))[0], VGG16Factory)  # a new project: the default
    with pytest.raises(ProjectError, match="between 0.1 and 60"):
        sample_video(p, v.id, 0.0)
