"""Which faces are embedded (core/faces/select.py): a face that plainly follows its track's face is not; the
first face of a track, its first sharp face, a clearly better face, a face every few moments, and any face that
is not plainly the same person (two faces close together, a cut, another look, moved) are."""

from __future__ import annotations

import numpy as np
import pytest
from test_faces_tracks import LEFT, RIGHT, A, face_set  # the tracks tests' small face sets

from core.faces import config
from core.faces.select import EmbedPlan, chip_cue, cue_similarity
from core.faces.tracks import pool

RNG = np.random.default_rng(11)
FACE_A, FACE_B = (RNG.integers(0, 256, (150, 150, 3), dtype=np.uint8) for _ in range(2))
SIG = np.zeros(192, np.float32)
SIG[0], SIG[48:] = 1.0, 1.0
OTHER_SIG = np.zeros(192, np.float32)
OTHER_SIG[7], OTHER_SIG[48:] = 1.0, 1.0  # all the colour in another bin: a cut


def cue(chip: np.ndarray) -> np.ndarray:
    return chip_cue(chip[None])


def run(moments: list[list[tuple[tuple[int, int, int, int], float, np.ndarray]]],
        sigs: list[np.ndarray] | None = None) -> tuple[list[list[bool]], list[int]]:
    """Feed moments of (box, sharpness, chip) faces to a plan: which were embedded, and every face's anchor."""
    plan = EmbedPlan()
    embedded = []
    for k, faces in enumerate(moments):
        sig = SIG if sigs is None else sigs[k]
        cues = chip_cue(np.stack([c for _, _, c in faces])) if faces else np.zeros((0, 256), np.float32)
        got = plan.add(k, sig, [b for b, _, _ in faces], np.asarray([s for _, s, _ in faces]), cues)
        embedded.append(got.tolist())
    return embedded, plan.anchors


def test_the_cue_tells_a_face_from_another_and_not_from_itself_slightly_changed() -> None:
    noisy = np.clip(FACE_A.astype(int) + RNG.integers(-20, 21, FACE_A.shape), 0, 255).astype(np.uint8)
    assert cue_similarity(cue(FACE_A)[0], cue(noisy)[0]) > 0.9
    assert cue_similarity(cue(FACE_A)[0], cue(FACE_B)[0]) < 0.2


def test_a_still_face_is_embedded_first_and_then_every_few_moments() -> None:
    embedded, anchors = run([[(LEFT, 100.0, FACE_A)]] * 12)
    assert [e[0] for e in embedded] == [k % config.EMBED_RECHECK == 0 for k in range(12)]
    every = config.EMBED_RECHECK
    assert anchors == [k - k % every for k in range(12)]  # each face takes the last embedded one's embedding


def test_a_clearly_better_face_is_embedded_up_to_a_few_per_track() -> None:
    sharpness = [50.0, 60.0, 100.0, 200.0, 400.0]  # 1.2, then 1.67, 2, 2 times the best embedded
    embedded, _ = run([[(LEFT, s, FACE_A)] for s in sharpness])
    assert [e[0] for e in embedded] == [True, False, True, True, False]  # the 4th is the third and last
    assert config.EMBED_PER_TRACK == 3


@pytest.mark.parametrize("second, why", [
    ((LEFT, 100.0, FACE_B), "another look in the same place"),
    (((100, 40, 200, 160), 100.0, FACE_A), "moved: the boxes overlap by 0.25 only"),
])
def test_a_face_that_is_not_plainly_the_same_is_embedded(second: tuple[tuple[int, int, int, int], float, np.ndarray],
                                                         why: str) -> None:
    embedded, anchors = run([[(LEFT, 100.0, FACE_A)], [second]])
    assert embedded == [[True], [True]], why
    assert anchors == [0, 1]


def test_the_first_sharp_face_of_a_blurred_chain_is_embedded_a_blurred_one_after_sharp_ones_not() -> None:
    embedded, anchors = run([[(LEFT, 10.0, FACE_A)], [(LEFT, 100.0, FACE_A)], [(LEFT, 12.0, FACE_A)]])
    assert [e[0] for e in embedded] == [True, True, False]
    assert anchors == [0, 1, 1]


def test_after_a_cut_the_same_face_in_the_same_place_is_embedded_again() -> None:
    embedded, _ = run([[(LEFT, 100.0, FACE_A)]] * 3, [SIG, SIG, OTHER_SIG])
    assert [e[0] for e in embedded] == [True, False, True]


def test_two_faces_close_together_are_embedded_every_time() -> None:
    near = (100, 40, 200, 160)  # beside LEFT, their boxes overlapping by 0.25
    crowd = [[(LEFT, 100.0, FACE_A), (near, 100.0, FACE_B)]] * 3
    embedded, _ = run(crowd)
    assert embedded == [[True, True], [True, True], [True, True]]
    apart = [[(LEFT, 100.0, FACE_A), (RIGHT, 100.0, FACE_B)]] * 3  # far apart: each follows itself
    embedded, anchors = run(apart)
    assert embedded == [[True, True], [False, False], [False, False]]
    assert anchors == [0, 1, 0, 1, 0, 1]


def test_a_missed_moment_does_not_break_the_chain_two_do() -> None:
    embedded, _ = run([[(LEFT, 100.0, FACE_A)], [], [(LEFT, 100.0, FACE_A)], [], [], [(LEFT, 100.0, FACE_A)]])
    assert [e[0] for e in embedded if e] == [True, False, True]


def test_faces_not_embedded_do_not_change_a_tracks_pooled_embedding() -> None:
    # faces 0 and 2 embedded; 1 and 3 carry face 0's and face 2's embedding
    rows = [(0, LEFT, A, 100.0), (1, LEFT, A, 300.0), (2, LEFT, A + 0.05, 100.0), (3, LEFT, A + 0.05, 100.0)]
    full = face_set(rows, 4)
    only = face_set([rows[0], rows[2]], 4)
    subset = face_set(rows, 4)
    object.__setattr__(subset, "embedded", np.array([True, False, True, False]))
    from core.faces.tracks import link_tracks

    p_subset, p_only, p_full = (pool(f, link_tracks(f)) for f in (subset, only, full))
    assert np.allclose(p_subset.embeddings, p_only.embeddings, atol=1e-5)
    assert np.allclose(p_subset.spread, p_only.spread, atol=1e-5)
    assert not np.allclose(p_full.embeddings, p_only.embeddings, atol=1e-5)  # with weight, face 1 would pull
    assert p_subset.samples[0].tolist() == [0, 1, 2, 3]  # and every face still counts for screen time
