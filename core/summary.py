"""Summaries of timelines: totals over several videos (a series), and the moments to show as evidence."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from .names import csv_text
from .timeline import CharacterTime, Timeline

#: Screen time of one character summed over several videos: the same fields as in one video.
Total = CharacterTime


def totals(timelines: Sequence[Timeline]) -> list[Total]:
    """Per character over all ``timelines``: seconds, percent of their summed length, appearances."""
    names: list[str] = []
    for tl in timelines:
        names += [n for n in tl.names if n not in names]
    duration = sum(tl.duration_s for tl in timelines)
    out = []
    for n in names:
        cts = [ct for tl in timelines for ct in tl.screen_time() if ct.character == n]
        secs = sum(ct.seconds for ct in cts)
        out.append(Total(n, round(secs, 3), round(100 * secs / duration, 2) if duration else 0.0,
                         sum(ct.appearances for ct in cts)))
    return out


def totals_csv(rows: Sequence[CharacterTime]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["character", "seconds", "mmss", "percent", "appearances"])
    for r in rows:
        w.writerow([csv_text(r.character), f"{r.seconds:g}", r.mmss, f"{r.percent:.2f}", r.appearances])
    return buf.getvalue()


def evidence_times(tl: Timeline, name: str, k: int = 6) -> list[float]:
    """Moments to show as evidence for a character: the middle of its longest appearances, then more."""
    segs = sorted((s for s in tl.segments() if s.character == name), key=lambda s: -s.length_s)
    j = tl.names.index(name)
    out: list[float] = []
    for s in segs[:k]:
        inside = [t for t, p in zip(tl.times, tl.present[:, j]) if p and s.start_s <= t < s.end_s]
        if inside:
            out.append(float(inside[len(inside) // 2]))
    return sorted(out)
