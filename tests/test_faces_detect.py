"""The default detector (hog+cnn): HOG everywhere, the CNN on a small copy of frames without a HOG face;
blurred faces never name a group."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from faces_helpers import CLIP

from core.faces import PeopleBook, models
from core.faces.detect import DetectorSettings, detect_faces
from core.faces.pipeline import assemble
from core.faces.store import FaceSet
from core.video import SampleReader, probe_video


def test_detector_keys_name_every_setting() -> None:
    assert DetectorSettings().key == "hog-640px-up1+cnn-320px-up0"
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
    lin = detect_faces(frames[3.0])  # Lin-Manuel Miranda, frontal: HOG is enough
    assert len(lin) == 1 and calls == []
    alex = detect_faces(frames[1.0])  # Alex Lacamoire in profile: HOG sees nothing, the CNN on 320x180 does
    assert calls == [(180, 320)]
    assert len(alex) == 1 and alex[0].height > 150 and alex[0].left > 250
    assert detect_faces(frames[1.0], DetectorSettings("hog")) == []


def _face_set(embeddings: np.ndarray, sharpness: list[float]) -> FaceSet:
    n = len(embeddings)
    return FaceSet(video=Path("x.mp4"), video_sha256="0" * 64, fps=Fraction(25), duration_s=float(n), every=1.0,
                   detector="test", model="test", times=np.arange(n, dtype=np.float64),
                   face_sample=np.arange(n), boxes=np.tile([0, 0, 100, 100], (n, 1)), scores=np.ones(n),
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
    assert [(v.name, v.faces) for v in r.people] == [("Jane", (0, 1))]
    assert [(v.name, v.status, v.faces) for v in r.unsure] == [("Unsure g1", "unsure", (2, 3))]
    assert any("only blurred" in m for m in r.messages)
    # named by hand, a blurred group counts
    book.rename(faces, 1, "Jane")
    assert [(v.name, v.faces, v.seconds) for v in assemble(faces, book).people] == [("Jane", (0, 1, 2, 3), 4.0)]
