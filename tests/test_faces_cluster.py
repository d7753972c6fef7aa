"""Grouping faces: never two faces of one frame in a group, whatever the embeddings say."""

from __future__ import annotations

import numpy as np
import pytest

from core.faces.cluster import cluster_faces, enforce_cannot_link, pairwise


def test_identical_faces_in_one_frame_are_two_people() -> None:
    e = np.ones((4, 128), np.float32) * 0.05
    frames = np.array([0, 0, 1, 1])
    labels = cluster_faces(e, frames, 0.6)
    assert labels[0] != labels[1] and labels[2] != labels[3]
    assert len(set(labels.tolist())) == 2  # and each of them joins one face of the other frame


@pytest.mark.parametrize("seed", range(20))
def test_clustering_never_merges_two_faces_of_one_frame(seed: int) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 0.06, (3, 128))
    n = 60
    emb = centres[rng.integers(0, 3, n)] + rng.normal(0, 0.02, (n, 128))  # 3 tight people...
    frames = rng.integers(0, 12, n)  # ...crowded into 12 frames, so frames hold the same person many times
    labels = cluster_faces(emb, frames, 0.9)
    for g in set(labels.tolist()):
        in_group = frames[labels == g]
        assert len(in_group) == len(set(in_group.tolist()))


def test_clear_people_are_found_and_ordered_by_size() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 0.1, 128), rng.normal(0, 0.1, 128)
    emb = np.stack([a] * 5 + [b] * 3 + [a + 2.0]) + rng.normal(0, 0.005, (9, 128))
    frames = np.arange(9)
    labels = cluster_faces(emb, frames, 0.6)
    assert labels.tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 2]


def test_enforce_cannot_link_keeps_the_face_nearest_the_centre() -> None:
    emb = np.array([[0.0, 0.0], [0.1, 0.0], [0.5, 0.0]])
    out = enforce_cannot_link(np.array([0, 0, 0]), np.array([0, 1, 1]), emb)
    assert out.tolist() == [0, 0, 1]


def test_pairwise_is_euclidean() -> None:
    d = pairwise(np.array([[0.0, 0.0], [3.0, 4.0]]))
    assert d.tolist() == [[0.0, 5.0], [5.0, 0.0]]


def test_no_faces_and_one_face() -> None:
    assert cluster_faces(np.zeros((0, 128)), np.zeros(0, int)).tolist() == []
    assert cluster_faces(np.zeros((1, 128)), np.zeros(1, int)).tolist() == [0]


def test_a_blurred_face_joins_no_group() -> None:
    e = np.zeros((4, 128))
    e[:, 0] = [0.0, 0.05, 0.1, 0.15]  # all four within 0.6 of each other
    frames = np.arange(4)
    assert cluster_faces(e, frames, 0.6).tolist() == [0, 0, 0, 0]
    labels = cluster_faces(e, frames, 0.6, sharp=np.array([True, False, True, False]))
    assert labels.tolist() == [0, 1, 0, 2]  # blurred faces are close to anyone: each stays alone
    with pytest.raises(ValueError, match="sharp must be"):
        cluster_faces(e, frames, 0.6, sharp=np.array([True]))
