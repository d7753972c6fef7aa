"""The SQLite file of a project: its schema, and connections that wait their turn instead of failing.

WAL journaling lets readers go on while one writer writes; writes are short ``BEGIN IMMEDIATE`` transactions,
so two browser tabs (or a tab and the command line) queue rather than fail halfway.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, file TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL UNIQUE,
    fps REAL NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, duration_s REAL NOT NULL,
    size_bytes INTEGER NOT NULL, every REAL, backbone TEXT, n_moments INTEGER, added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS characters (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS labels (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    time_ms INTEGER NOT NULL,
    character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
    present INTEGER NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (video_id, time_ms, character_id));
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY, created REAL NOT NULL, dir TEXT NOT NULL, characters TEXT NOT NULL,
    skipped TEXT NOT NULL, n_labelled INTEGER NOT NULL, kind TEXT NOT NULL, scores TEXT NOT NULL,
    wrong TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    file TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (model_id, video_id));
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spot_checks (
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    time_ms INTEGER NOT NULL,
    character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
    present INTEGER NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (model_id, video_id, time_ms, character_id));
"""


@contextlib.contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection in autocommit mode with foreign keys on, waiting up to 15 s for a busy database."""
    c = sqlite3.connect(path, timeout=15.0, isolation_level=None)
    try:
        c.execute("PRAGMA foreign_keys=ON")
        c.execute("PRAGMA busy_timeout=15000")
        yield c
    finally:
        c.close()


@contextlib.contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """A short write transaction (BEGIN IMMEDIATE: writers queue instead of failing halfway)."""
    with connect(path) as c:
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")


def init(path: Path) -> bool:
    """Create the tables that are missing; False when the file is not a database we can use."""
    try:
        with connect(path) as c:
            c.execute("PRAGMA journal_mode=WAL")
            c.executescript(_SCHEMA)
            c.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
    except sqlite3.DatabaseError:
        return False
    return True
