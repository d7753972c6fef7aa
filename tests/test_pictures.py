"""The network's input and the thumbnails, scaled from the decoder's frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core import config
from core.pictures import Scaler, Thumbnails
from core.video import SampleReader


def test_the_input_is_the_area_average_of_the_frame(two_video: Path) -> None:
    """FFmpeg's area scaling of the YUV frame agrees with averaging the full RGB frame to within rounding."""
    to_input = Scaler((64, 80))
    rgb = {s.index: s.frame for s in SampleReader(two_video, 5.0)}
    for index, _, _, frame in SampleReader(two_video, 5.0).decoded():
        small = to_input(frame)
        assert small.shape == (64, 80, 3) and small.dtype == np.uint8
        reference = cv2.resize(rgb[index], (80, 64), interpolation=cv2.INTER_AREA).astype(int)
        assert np.abs(small.astype(int) - reference).mean() < 3, index


def test_bgr_is_rgb_reversed(two_video: Path) -> None:
    """Thumbnails are scaled to BGR for OpenCV's JPEG writer (FFmpeg rounds that path slightly differently)."""
    for _, _, _, frame in SampleReader(two_video, 10.0).decoded():
        rgb = Scaler((32, 32))(frame).astype(int)
        bgr = Scaler((32, 32), "bgr24")(frame).astype(int)
        assert np.abs(bgr[..., ::-1] - rgb).mean() < 2
        assert np.abs(bgr - rgb).mean() > 10  # the frames are coloured: swapped channels would show


def test_thumbnails_keep_the_shape_of_the_frame(two_video: Path, tmp_path: Path) -> None:
    thumbnails = Thumbnails()
    for index, _, _, frame in SampleReader(two_video, 20.0).decoded():
        thumbnails.write(frame, tmp_path / f"{index}.jpg")
    pictures = [cv2.imread(str(p)) for p in sorted(tmp_path.glob("*.jpg"))]
    assert len(pictures) == 3
    # 192x108 frames: 320 wide, 180 high
    assert all(p.shape == (round(108 * config.THUMB_WIDTH / 192), config.THUMB_WIDTH, 3) for p in pictures)
    assert not np.array_equal(pictures[0], pictures[1])


@pytest.mark.parametrize("size", [(224, 224), (224, 400)])
def test_any_input_size(two_video: Path, size: tuple[int, int]) -> None:
    _, _, _, frame = next(iter(SampleReader(two_video, 1.0).decoded()))
    assert Scaler(size)(frame).shape == (*size, 3)
