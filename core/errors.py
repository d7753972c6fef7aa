"""Error types of Screen Time.

Every error the engine raises on purpose is a :class:`ScreenTimeError`. Its message is one sentence for a
person: what is wrong and what to do about it. The command line and the dashboard show that sentence as it is,
never a traceback.
"""

from __future__ import annotations


class ScreenTimeError(Exception):
    """Base of all errors that carry a message meant for the user."""


class VideoError(ScreenTimeError):
    """The file is not a video we can read: missing, empty, not a video, truncated or without frames."""


class LabelError(ScreenTimeError):
    """A labels or truth file is malformed; the message names the line."""


class ModelError(ScreenTimeError):
    """A model cannot be trained, saved or loaded (too few labels, wrong folder, other backbone)."""


class OutputError(ScreenTimeError):
    """A results or model folder cannot be written where the user asked (a file is in the way)."""


class BackboneError(ScreenTimeError):
    """The feature network cannot be built (no weights available)."""


class ProjectError(ScreenTimeError):
    """Something the user asked of a project cannot be done; the message says what to do instead."""


class Cancelled(ScreenTimeError):
    """A progress callback asked the running job to stop."""
