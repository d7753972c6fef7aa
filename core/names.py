"""Names a person types that become file names, folder names or column names, made safe in one place."""

from __future__ import annotations

import re
import unicodedata

from .errors import ProjectError

#: Longest character name (letters), and names that clash with our own columns or words.
MAX_CHARACTER_NAME = 40
RESERVED_NAMES = ("nobody", "none", "time_s")


def safe_filename(name: str, default: str = "video.mp4") -> str:
    """A file name that is safe to create inside a folder: no folders, no ``..``, no control characters.

    >>> safe_filename("../../etc/passwd.mp4"), safe_filename("C:\\\\x\\\\My clip (1).MP4")
    ('passwd.mp4', 'My clip (1).MP4')
    """
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = unicodedata.normalize("NFKC", base)
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    base = re.sub(r"\s+", " ", base).strip().lstrip(".").strip()
    if not base or base in (".", ".."):
        return default
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = stem[:80].strip() or "video"
    return f"{stem}.{ext[:10]}" if ext else stem


def slugify(name: str) -> str:
    """A folder name for a project name.

    >>> slugify("Tom & Jerry: season 1")
    'tom-jerry-season-1'
    """
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-zA-Z0-9]+", "-", s).strip("-").lower()
    return s[:60] or "project"


def clean_character_name(name: str) -> str:
    """The name of a character as it will be stored, or :class:`ProjectError` saying what to change.

    >>> clean_character_name("  Tom   Cat ")
    'Tom Cat'
    """
    n = re.sub(r"\s+", " ", str(name or "")).strip()
    if not n:
        raise ProjectError("A character needs a name: type one, for example Tom.")
    if len(n) > MAX_CHARACTER_NAME:
        raise ProjectError(f"That name is too long: use at most {MAX_CHARACTER_NAME} letters.")
    if n.lower() in RESERVED_NAMES:
        raise ProjectError(f"{n!r} is reserved: choose another name for the character.")
    if any(ch in n for ch in ",\n\r\t\"") or not n.isprintable():
        raise ProjectError("Character names cannot contain commas, quotes or line breaks: choose a plain name.")
    return n
