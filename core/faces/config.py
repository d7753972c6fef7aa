"""Defaults of face discovery, each with its unit and the measurement that chose it.

Figures are in ``docs/faces.md`` and ``docs/benchmarks-faces.md`` (2-core machine, dlib 20.0.1).
"""

from __future__ import annotations

#: Detectors on offer: dlib's HOG frontal detector (fast) and its CNN (MMOD) detector (small, turned faces).
DETECTORS: tuple[str, ...] = ("hog", "cnn")

#: Default detector. HOG takes ~50-70 ms per frame here; the CNN ~1.4 s (20x slower), see benchmarks-faces.md.
DETECTOR: str = "hog"

#: Pixels: frames are downscaled so that their longer side is at most this before detection; boxes are mapped
#: back to full-frame pixels. 640 keeps a 640x360 clip as it is and halves 720p; on the Hamilton clip 512 and
#: 640 found the same faces with HOG (48 vs 71 ms per frame), 640 found 4 audience faces at t=8 s with the CNN
#: where 512 found 2.
DETECT_MAX_SIDE: dict[str, int] = {"hog": 640, "cnn": 640}

#: Times the detector upsamples the (downscaled) frame. HOG's smallest face is 80 px without upsampling,
#: 40 px with one: with 0 the far shot of the Hamilton clip (t=0 s) gave no face, with 1 it gave Lin-Manuel
#: Miranda's. The CNN finds ~40-px faces without upsampling and one upsampling costs 4x (4.1 s per frame).
UPSAMPLE: dict[str, int] = {"hog": 1, "cnn": 0}

#: CNN detections below this confidence are dropped (dlib's MMOD score; 0 is its own decision threshold).
CNN_MIN_CONFIDENCE: float = 0.0

#: HOG detections below this score are dropped (dlib's own decision threshold is 0).
HOG_MIN_SCORE: float = 0.0

#: Name of the embedding model, part of the cache key: dlib's ResNet (128-d, LFW 99.38%) after 5-point alignment.
EMBEDDING_MODEL: str = "dlib-resnet-v1-5pt"

#: Side in pixels of the aligned face chip that dlib embeds (its model's own input size) and that we keep
#: as the face's thumbnail in the cache.
CHIP_SIZE: int = 150

#: Extra border around the aligned chip, as a share of the face (dlib's default is 0.25).
CHIP_PADDING: float = 0.25

#: JPEG quality of the cached face chips (~5 KB each).
CHIP_QUALITY: int = 90

#: Euclidean distance between 128-d embeddings under which two faces may be grouped as one person
#: (average linkage). dlib's published same-person threshold is 0.6 on LFW. On the Hamilton clip sampled every
#: 0.25 s (benchmarks/faces_threshold.py, docs/faces.md) 0.60 grouped the faces exactly (pair precision and
#: recall 1.0, CNN and HOG); 0.55 split Lin-Manuel Miranda in two (recall 0.87 CNN, 0.81 HOG); 0.65 merged two
#: audience members (precision 0.91).
CLUSTER_THRESHOLD: float = 0.6

#: Distance under which a group matches a named person (reference photo or a group named in an earlier video
#: of the project); median over the group's faces. A reference photo is a studio shot, further from video
#: frames than frames are from each other: on the Hamilton clip the true matches were 0.36-0.65 (the far shot
#: of Lin-Manuel Miranda 0.61-0.65, Alex Lacamoire's profile 0.57-0.64) and every wrong pair 0.69 or more,
#: so 0.65 rather than dlib's 0.6 (measured with benchmarks/faces_threshold.py, one clip: a small sample).
MATCH_THRESHOLD: float = 0.65

#: Groups with fewer faces than this are "unsure" (a face seen once): kept and listed, not counted as a
#: person until named, merged or matched to a reference photo.
MIN_GROUP_FACES: int = 2

#: Faces per person written to the gallery (the largest, sharpest ones).
GALLERY_SIZE: int = 6

#: Most faces clustered in one video: the distance matrix grows with the square (20 000 faces ~ 3 GB).
MAX_FACES: int = 20_000

from ..smoothing import Smoothing  # noqa: E402

#: Smoothing of a person's presence: a gap shorter than 2 s is bridged (a face turned away for a second does
#: not end an appearance), as for characters; but an appearance of one sampled moment is kept (0 s minimum),
#: because a detected face is direct evidence, not a guess: with the characters' 2-s minimum the only moment
#: of Alex Lacamoire in the Hamilton clip (his profile at 1 s, found by the CNN) is thrown away.
SMOOTHING: Smoothing = Smoothing(bridge_gaps_s=2.0, min_appearance_s=0.0)
