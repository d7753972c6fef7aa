"""The one error type of face discovery."""

from __future__ import annotations

from ..errors import ScreenTimeError


class FaceError(ScreenTimeError):
    """A face step cannot go on: bad reference photo, impossible edit, unknown group. One sentence, what to do."""
