"""Tracks: faces linked across neighbouring sampled moments of a shot, one missed moment bridged, tracks
grouped (in blocks at film scale) and counted, so a blurred face inside a confident track counts."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from core.faces import PeopleBook
from core.faces.cluster import cluster_tracks, group_faces
from core.faces.pipeline import assemble
from core.faces.store import FaceSet
from core.faces.tracks import frame_signature, link_tracks, pool, shot_ids, signature_change

RNG = np.random.default_rng(7)
A, B, C = (RNG.normal(0, 0.09, 128) for _ in range(3))  # three people, ~1.3 apart


def face_set(faces: list[tuple[int, tuple[int, int, int, int], np.ndarray, float]], n: int,
             cuts: tuple[int, ...] = ()) -> FaceSet:
    """A FaceSet of ``n`` moments (1 s apart) from (moment, box, embedding, sharpness) rows; a shot cut
    before each moment in ``cuts`` (the signature jumps there)."""
    faces = sorted(faces, key=lambda f: f[0])
    sig = np.zeros((n, 48 + 144), np.float32)
    sig[:, 48:] = 1.0  # the grey thumbnail: one picture throughout
    shot = 0
    for k in range(n):
        shot += k in cuts
        sig[k, shot % 48] = 1.0  # all of a shot's pixels in one colour bin
    return FaceSet(video=Path("x.mp4"), video_sha256="0" * 64, fps=Fraction(25), duration_s=float(n), every=1.0,
                   detector="test", model="test", times=np.arange(n, dtype=np.float64),
                   face_sample=np.asarray([f[0] for f in faces], np.int64),
                   boxes=np.asarray([f[1] for f in faces], np.int32).reshape(-1, 4),
                   scores=np.ones(len(faces)), embeddings=np.asarray([f[2] for f in faces], np.float32),
                   sharpness=np.asarray([f[3] for f in faces], np.float64), signatures=sig)


LEFT, RIGHT = (40, 40, 140, 160), (400, 40, 500, 160)


def test_a_face_followed_through_a_shot_is_one_track_and_two_people_side_by_side_are_two() -> None:
    f = face_set([(k, LEFT, A, 100.0) for k in range(4)] + [(k, RIGHT, B, 100.0) for k in range(4)], 4)
    t = link_tracks(f)
    assert t.n == 2 and t.bridged == ()
    assert sorted(sorted(f.face_sample[t.faces_of(i)].tolist()) for i in range(2)) == [[0, 1, 2, 3]] * 2
    left = t.track[f.boxes[:, 0] == 40]
    assert len(set(left.tolist())) == 1


@pytest.mark.parametrize("missing, tracks, bridged", [
    ((2,), 1, ((0, 2),)),       # one moment missed: bridged, one track
    ((2, 3), 2, ()),           # two in a row: the track ends, a new one starts
    ((), 1, ()),
])
def test_a_track_bridges_one_missed_moment_never_two(missing: tuple[int, ...], tracks: int,
                                                     bridged: tuple[tuple[int, int], ...]) -> None:
    f = face_set([(k, LEFT, A, 100.0) for k in range(6) if k not in missing], 6)
    t = link_tracks(f)
    assert (t.n, t.bridged) == (tracks, bridged)


def test_a_shot_cut_ends_a_track_even_for_the_same_face_in_the_same_place() -> None:
    f = face_set([(k, LEFT, A, 100.0) for k in range(4)], 4, cuts=(2,))
    assert shot_ids(f.signatures, 4).tolist() == [0, 0, 1, 1]
    assert link_tracks(f).track.tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("box, emb, linked", [
    ((60, 50, 160, 170), A, True),           # moved a little
    ((400, 40, 500, 160), A, False),         # jumped across the frame
    ((40, 40, 80, 88), A, False),           # shrank to 40%
    ((40, 40, 140, 160), B, False),          # same place, someone else
    ((40, 40, 140, 160), A + 0.06, True),    # same place, turned or blurred: the looser limit for a still face
])
def test_links_need_a_near_box_and_a_near_face(box: tuple[int, int, int, int], emb: np.ndarray,
                                               linked: bool) -> None:
    f = face_set([(0, LEFT, A, 100.0), (1, box, emb, 100.0)], 2)
    assert (link_tracks(f).n == 1) is linked


def test_the_closest_pair_is_linked_first() -> None:
    # two faces near the previous one, both close enough: the one with the nearer embedding continues it
    f = face_set([(0, LEFT, A, 100.0), (1, (30, 40, 130, 160), A + 0.04, 100.0),
                  (1, (50, 40, 150, 160), A + 0.02, 100.0)], 2)
    t = link_tracks(f)
    nearer = np.flatnonzero(f.boxes[:, 0] == 50)[0]
    assert t.n == 2 and t.track[0] == t.track[nearer]


def test_a_tracks_embedding_is_weighted_by_face_quality() -> None:
    f = face_set([(0, LEFT, A, 300.0), (1, LEFT, A + 0.05, 3.0)], 2)
    p = pool(f, link_tracks(f))
    assert p.sharp.tolist() == [True]
    w_sharp, w_blurred = 120 / 150 * 300.0, 120 / 150 * 3.0  # height 120 px of 150, times sharpness
    expected = (w_sharp * A + w_blurred * (A + 0.05)) / (w_sharp + w_blurred)
    assert np.allclose(p.embeddings[0], expected.astype(np.float32), atol=1e-6)
    assert [s.tolist() for s in p.samples] == [[0, 1]]


def test_a_blurred_face_inside_a_confident_track_counts_and_a_bridged_moment_too() -> None:
    blurred = A + 0.05
    rows = [(0, LEFT, A, 150.0), (1, LEFT, blurred, 4.0), (3, LEFT, A, 150.0),  # 2 missed, bridged
            (5, RIGHT, C, 150.0)]  # someone seen once
    f = face_set(rows, 7)
    book = PeopleBook()
    book.attach(f)
    r = assemble(f, book)
    assert [(v.name, v.seconds, len(v.tracks)) for v in r.people] == [("Person 1", 4.0, 1)]
    assert r.timeline.present[:, 0].astype(int).tolist() == [1, 1, 1, 1, 0, 0, 0]
    assert r.timeline.probs[:, 0].tolist() == [1, 1, 0, 1, 0, 0, 0]  # seen, not bridged
    assert [(v.name, v.status) for v in r.unsure] == [("Unsure 1", "unsure")] and r.unsure_s == 1.0
    assert any("seen only once (0:01 of the video)" in m for m in r.messages)
    book.confirm(f, r.unsure[0].groups[0])  # the user says: someone new
    r = assemble(f, book)
    assert [(v.name, v.seconds) for v in r.people] == [("Person 1", 4.0), ("Person 2", 1.0)] and r.unsure == ()


def test_tracks_that_share_a_moment_are_never_one_person() -> None:
    # the same embedding twice in every frame (twins, a mirror): two people
    f = face_set([(k, LEFT, A, 100.0) for k in range(3)] + [(k, RIGHT, A, 100.0) for k in range(3)], 3)
    labels = group_faces(f)
    assert len(set(labels.tolist())) == 2
    assert all(len(set(f.face_sample[labels == g].tolist())) == (labels == g).sum() for g in set(labels.tolist()))


def test_tracks_of_one_person_in_different_shots_are_grouped() -> None:
    f = face_set([(0, LEFT, A, 100.0), (1, LEFT, A + 0.01, 100.0), (2, RIGHT, B, 100.0), (3, RIGHT, B, 100.0),
                  (4, (300, 100, 360, 172), A - 0.01, 100.0)], 5, cuts=(2, 4))
    assert link_tracks(f).n == 3
    assert group_faces(f).tolist() == [0, 0, 1, 1, 0]


def test_grouping_in_blocks_finds_the_same_people_as_one_pass() -> None:
    rng = np.random.default_rng(3)
    people = rng.normal(0, 0.09, (30, 128))
    who = rng.integers(0, 30, 900)
    emb = people[who] + rng.normal(0, 0.01, (900, 128))
    samples = [np.array([k]) for k in range(900)]  # one track a moment
    sharp = np.ones(900, bool)
    one = cluster_tracks(emb, samples, sharp, block=1000)
    blocks = cluster_tracks(emb, samples, sharp, block=100)
    same = lambda lab: lab[:, None] == lab[None, :]  # noqa: E731
    assert (same(one) == same(who)).all() and (same(blocks) == same(who)).all()
    assert len(set(blocks.tolist())) == 30


def test_a_frames_signature_is_its_hue_and_saturation_histogram() -> None:
    frame = np.zeros((90, 160, 3), np.uint8)
    frame[:, :80] = (255, 0, 0)  # half pure red (hue 0, saturated), half black (no saturation)
    sig = frame_signature(frame)
    assert sig.shape == (48 + 144,) and sig[:48].sum() == pytest.approx(1.0)
    assert sig[3] == pytest.approx(0.5) and sig[0] == pytest.approx(0.5)
    grey = sig[48:].reshape(9, 16)  # the thumbnail, mean 0 and deviation 1: bright left, dark right
    assert grey.mean() == pytest.approx(0.0, abs=1e-5) and (grey[:, :8] > 0).all() and (grey[:, 8:] < 0).all()
    frame[:, :80] = (0, 0, 255)  # blue instead of red: hue 120 of 180, bin 8
    blue = frame_signature(frame)
    assert blue[8 * 4 + 3] == pytest.approx(0.5)
    assert signature_change(sig, sig) == pytest.approx(0.0, abs=1e-6)
    assert signature_change(sig, blue) == pytest.approx(0.5 + 0.25 * (1 - np.mean(sig[48:] * blue[48:])))
    mirrored = frame_signature(np.ascontiguousarray(frame[:, ::-1]))  # same colours, the picture reversed
    assert signature_change(blue, mirrored) == pytest.approx(0.5, abs=0.01)
    black = frame_signature(np.zeros((90, 160, 3), np.uint8))  # colours half alike, no picture at all
    assert signature_change(sig, black) == pytest.approx(0.5 + 0.25, abs=1e-5)
    assert shot_ids(np.stack([sig, sig, black, black]), 4).tolist() == [0, 0, 1, 1]
