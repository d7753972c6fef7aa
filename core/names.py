"""Names a person types that become file names, folder names or column names, made safe in one place."""

from __future__ import annotations

import re
import unicodedata

from .errors import ProjectError

#: Longest character name (letters), and names that clash with our own columns or words.
MAX_CHARACTER_NAME = 40
RESERVED_NAMES = ("nobody", "none", "time_s")
#: ``timeline.csv`` names a character's probability column ``p_<Name>``: a character whose own name starts
#: so would be read back as a probability column (compared ignoring case, as spreadsheets do).
RESERVED_PREFIX = "p_"
#: First characters that make a spreadsheet (Excel, LibreOffice, Google Sheets) run a cell as a formula: the
#: OWASP "CSV injection" list. A text cell starting with one of them is written with a leading single quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def csv_text(cell: str) -> str:
    """A text cell (a name a person typed) as every CSV we write stores it: with a leading single quote when
    a spreadsheet would otherwise run it as a formula (OWASP's rule). Numbers we write are not text: they
    never pass through here. :func:`csv_text_back` undoes it when we read our own files.

    >>> csv_text("=cmd|' /C calc'!A0"), csv_text("@SUM(1+1)"), csv_text("Tom")
    ("'=cmd|' /C calc'!A0", "'@SUM(1+1)", 'Tom')
    """
    s = str(cell)
    return "'" + s if s.startswith(FORMULA_STARTS) else s


def csv_text_back(cell: str) -> str:
    """The text that :func:`csv_text` wrote as ``cell``.

    >>> csv_text_back("'=1+1"), csv_text_back("'Tom"), csv_text_back("Tom")
    ('=1+1', "'Tom", 'Tom')
    """
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def character_name_problem(name: str) -> str | None:
    """What is wrong with a character name as the user wrote it, as the end of a sentence, or None.

    The one rule for every place a character is defined: a project's characters and a labels file's names.

    >>> character_name_problem("Tom"), character_name_problem("p_Tom")
    (None, "'p_Tom' starts with p_, which timeline.csv keeps for probabilities: choose another name")
    """
    n = str(name)
    if not n.strip():
        return "a character needs a name: type one, for example Tom"
    if len(n) > MAX_CHARACTER_NAME:
        return f"that name is too long: use at most {MAX_CHARACTER_NAME} letters"
    if n.strip().lower() in RESERVED_NAMES:
        return f"{n.strip()!r} is reserved: choose another name for the character"
    if n.strip().lower().startswith(RESERVED_PREFIX):
        return (f"{n.strip()!r} starts with {RESERVED_PREFIX}, which timeline.csv keeps for probabilities: "
                "choose another name")
    if any(ch in n for ch in ",\n\r\t\"") or not n.isprintable():
        return "character names cannot contain commas, quotes, tabs or line breaks: choose a plain name"
    return None


def clean_character_name(name: str) -> str:
    """The name of a character as it will be stored, or :class:`ProjectError` saying what to change.

    >>> clean_character_name("  Tom   Cat ")
    'Tom Cat'
    """
    n = re.sub(r"\s+", " ", str(name or "")).strip()
    problem = character_name_problem(n)
    if problem:
        raise ProjectError(problem[0].upper() + problem[1:] + ".")
    return n
