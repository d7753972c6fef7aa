"""Colour statistics of frames: which colours a frame holds, overall and in its most colourful cell.

The offline VGG16 weights (HED) were fine-tuned to find edges, and their deep layers keep little of the
colours that tell drawn characters apart (a red squirrel, a blue-grey chinchilla, a purple bird). These
statistics give the colours back, cheaply (about a millisecond a frame, no network):

* every pixel goes into one of :data:`N_BINS` bins: :data:`HUE_BINS` hues in two saturation levels for
  coloured pixels (saturation >= :data:`CHROMA_S` and value >= :data:`CHROMA_V`, OpenCV's 0-255 scales),
  and three grey levels (dark, mid, light) for the others;
* the frame is cut into :data:`CELLS` x :data:`CELLS` cells; each cell's share of each bin is counted;
* the features are the mean over cells (the whole frame's colour histogram: how much of the frame) and the
  maximum over cells (whether any cell is full of that colour: a small character in a corner still counts).

``docs/accuracy.md`` ("Colour") measured what they add to the VGG16 features on every protocol.

>>> frames = np.zeros((2, 224, 224, 3), np.uint8)
>>> frames[1, :32, :32] = (230, 30, 30)                  # a red corner, one cell of 49
>>> f = colour_statistics(frames)
>>> f.shape, DIM
((2, 54), 54)
>>> red = hue_bin((230, 30, 30))
>>> round(float(f[1, red]), 4), float(f[1, N_BINS + red])   # 1/49 of the frame; all of one cell
(0.0204, 1.0)
"""

from __future__ import annotations

import cv2
import numpy as np

HUE_BINS = 12
#: Saturation (0-255) from which a coloured pixel counts as strongly coloured (the second hue level).
STRONG_S = 150
#: A pixel is coloured (has a hue) from this saturation and this value (brightness) on, else it is grey.
CHROMA_S, CHROMA_V = 60, 50
GREY_LEVELS = 3
N_BINS = 2 * HUE_BINS + GREY_LEVELS
CELLS = 7
DIM = 2 * N_BINS


def pixel_bins(rgb: np.ndarray) -> np.ndarray:
    """The bin (0 .. N_BINS - 1) of every pixel of an (H, W, 3) uint8 RGB image."""
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb, np.uint8), cv2.COLOR_RGB2HSV)
    h, s, v = (hsv[..., i].astype(np.int32) for i in range(3))
    hue = (h * HUE_BINS) // 180 + HUE_BINS * (s >= STRONG_S)
    grey = 2 * HUE_BINS + np.minimum(v * GREY_LEVELS // 256, GREY_LEVELS - 1)
    out: np.ndarray = np.where((s >= CHROMA_S) & (v >= CHROMA_V), hue, grey)
    return out


def hue_bin(rgb: tuple[int, int, int]) -> int:
    """The bin of one colour (for tests and explanations)."""
    return int(pixel_bins(np.array([[rgb]], np.uint8))[0, 0])


def colour_statistics(batch: np.ndarray, cells: int = CELLS) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB frames -> (N, 2 * N_BINS) float32: per bin, the mean share over the cells, then
    the largest share in any cell. Pixels beyond the last whole cell (when H or W is not a multiple of
    ``cells``) are left out."""
    if batch.ndim != 4 or batch.shape[-1] != 3:
        raise ValueError(f"expected (N, H, W, 3) RGB frames, got {batch.shape}")
    n, h, w, _ = batch.shape
    ch, cw = h // cells, w // cells
    if ch < 1 or cw < 1:
        raise ValueError(f"frames of {h}x{w} are too small for {cells}x{cells} cells")
    out = np.zeros((n, DIM), np.float32)
    offsets = np.arange(cells * cells)[:, None] * N_BINS
    for i in range(n):
        b = pixel_bins(batch[i])[:ch * cells, :cw * cells]
        b = b.reshape(cells, ch, cells, cw).transpose(0, 2, 1, 3).reshape(cells * cells, ch * cw)
        counts = np.bincount((b + offsets).ravel(), minlength=cells * cells * N_BINS)
        share = counts.reshape(cells * cells, N_BINS) / float(ch * cw)
        out[i, :N_BINS] = share.mean(axis=0)
        out[i, N_BINS:] = share.max(axis=0)
    return out
