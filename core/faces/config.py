"""Defaults of face discovery, each with its unit and the measurement that chose it.

Figures are in ``docs/faces.md`` and ``docs/benchmarks-faces.md`` (2-core machine, dlib 20.0.1).
"""

from __future__ import annotations

#: Detectors on offer. ``hog+cnn`` (default): dlib's HOG frontal detector on every sampled frame, and dlib's
#: CNN (MMOD) detector on a small copy (:data:`FALLBACK_MAX_SIDE`) of the frames where HOG found no face, for
#: close-ups turned beyond HOG's reach (profiles). ``hog``: HOG only (fastest). ``cnn``: the CNN on every frame
#: at 640 px (small and turned faces, ~20x slower than HOG).
DETECTORS: tuple[str, ...] = ("hog+cnn", "hog", "cnn")

#: Default detector. On the Hamilton clip at 1 sample/s HOG alone never sees Alex Lacamoire (his face is in
#: profile); the CNN fallback finds his profile at 1 s, and his reference photo names it. Cost: the fallback
#: runs only on frames without a HOG face, ~0.2-0.4 s each at 320 px (docs/benchmarks-faces.md).
DETECTOR: str = "hog+cnn"

#: Pixels: frames are downscaled so that their longer side is at most this before detection; boxes are mapped
#: back to full-frame pixels. 640 keeps a 640x360 clip as it is and halves 720p; on the Hamilton clip 512 and
#: 640 found the same faces with HOG (48 vs 71 ms per frame), 640 found 4 audience faces at t=8 s with the CNN
#: where 512 found 2.
DETECT_MAX_SIDE: dict[str, int] = {"hog+cnn": 640, "hog": 640, "cnn": 640}

#: Times the detector upsamples the (downscaled) frame. HOG's smallest face is 80 px without upsampling,
#: 40 px with one: with 0 the far shot of the Hamilton clip (t=0 s) gave no face, with 1 it gave Lin-Manuel
#: Miranda's. Two upsamplings cost 10x (680 vs 72 ms per frame) and found Alex Lacamoire at the piano (~27 px)
#: only with a lowered threshold (score -0.02). The CNN's smallest face is ~80 px of its input (at 480 px it
#: found Lin-Manuel Miranda's 107-px face of the 640-px frame, at 400 px not), and one upsampling costs 4x.
UPSAMPLE: dict[str, int] = {"hog+cnn": 1, "hog": 1, "cnn": 0}

#: Pixels: the longer side of the copy the CNN fallback of ``hog+cnn`` searches (upsample 0), so it finds
#: faces of at least ~1/4 of the frame's width: close-ups, which is where a turned face is big enough to
#: matter and to be recognised. On the Hamilton clip every 0.25 s, 256, 320 and 400 px all found Alex
#: Lacamoire's profile at 0.75, 1.0 and 1.25 s and nothing else; 320 px took ~0.25 s a frame on a quiet
#: machine (0.5 s busy), 640 px 1.4 s. Its cost does not grow with the video's resolution.
FALLBACK_MAX_SIDE: int = 320

#: CNN detections below this confidence are dropped (dlib's MMOD score; 0 is its own decision threshold).
CNN_MIN_CONFIDENCE: float = 0.0

#: HOG detections below this score are dropped (dlib's own decision threshold is 0). Measured on the Hamilton
#: clip every 0.25 s (40 frames, 30 faces at 0): -0.3 added 9 boxes: one useful face (Lin-Manuel Miranda
#: turned, at 4 s, a moment smoothing already bridges), 6 blurred background faces and 2 that are no face
#: (a hand, a glass; one of them 0.58 from Alex Lacamoire's photo). So it stays 0.
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
#: of the project); median over the group's sharp faces (:data:`BLUR_SHARPNESS`). A reference photo is a studio
#: shot, further from video
#: frames than frames are from each other: on the Hamilton clip the true matches were 0.36-0.65 (the far shot
#: of Lin-Manuel Miranda 0.61-0.65, Alex Lacamoire's profile 0.57-0.64) and every wrong pair 0.69 or more,
#: so 0.65 rather than dlib's 0.6 (measured with benchmarks/faces_threshold.py, one clip: a small sample).
MATCH_THRESHOLD: float = 0.65

#: Variance of the Laplacian of the 150x150 aligned chip under which a face is "blurred" (out of focus,
#: moving, or tiny and upscaled). Blurred faces are close to everyone: on the Hamilton clip blurred audience
#: faces (2-12) were 0.40 from other people's and a blurred glass 0.58 from Alex Lacamoire's photo, while sharp
#: faces (28-217) of different people were never under 0.59 apart and sharp wrong photo pairs never under 0.67.
#: So a blurred face never shares a group with a sharp one, a group of blurred faces only is "unsure" (kept,
#: not counted until named or merged), and only sharp faces decide which known person a group is.
BLUR_SHARPNESS: float = 20.0

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
# no probabilities: rules only
SMOOTHING: Smoothing = Smoothing(bridge_gaps_s=2.0, min_appearance_s=0.0, typical_run_s=0.0)
