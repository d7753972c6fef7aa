"""Writing results: timeline.csv, screen_time.csv, segments.csv, report.json and screen_time.srt.

Every file is written to a temporary name and renamed into place, so an interrupted export never leaves a
half-written result beside good ones. Every name in a CSV goes through :func:`core.names.csv_text` (a
character called ``=HYPERLINK(...)`` is not run by a spreadsheet), and ``report.json`` is strict JSON
(:func:`core.atomic.json_text`: no bare ``NaN`` or ``Infinity``).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ._version import __version__
from .atomic import finite_or_none, json_text, write_text
from .names import csv_text
from .timeline import Timeline, mmss
from .video import moment_ms

FILES = ("timeline.csv", "screen_time.csv", "segments.csv", "report.json", "screen_time.srt")


def _csv(write_rows: Callable[[Any], None]) -> str:
    buf = io.StringIO()
    write_rows(csv.writer(buf, lineterminator="\n"))
    return buf.getvalue()


def timeline_csv(tl: Timeline) -> str:
    """``time_s``, a 0/1 column per character, then a ``p_<Name>`` probability column per character."""
    def rows(w: Any) -> None:
        w.writerow(["time_s", *(csv_text(n) for n in tl.names), *(csv_text(f"p_{n}") for n in tl.names)])
        for i, t in enumerate(tl.times):
            probs = tl.probs[i] if tl.probs is not None else [float(v) for v in tl.present[i]]
            w.writerow([f"{t:g}", *[int(v) for v in tl.present[i]], *[f"{p:.4f}" for p in probs]])
    return _csv(rows)


def screen_time_csv(tl: Timeline) -> str:
    def rows(w: Any) -> None:
        w.writerow(["character", "seconds", "percent", "appearances"])
        for ct in tl.screen_time():
            w.writerow([csv_text(ct.character), f"{ct.seconds:g}", f"{ct.percent:.2f}", ct.appearances])
    return _csv(rows)


def segments_csv(tl: Timeline) -> str:
    def rows(w: Any) -> None:
        w.writerow(["character", "start_s", "end_s"])
        for s in tl.segments():
            w.writerow([csv_text(s.character), f"{s.start_s:g}", f"{s.end_s:g}"])
    return _csv(rows)


def _srt_time(t: float) -> str:
    ms = moment_ms(t)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def srt(tl: Timeline) -> str:
    """One cue per stretch of time during which the same characters are on screen; nobody, no cue.

    >>> import numpy as np
    >>> tl = Timeline(np.array([0., 1., 2.]), 1.0, 3.0, ("A", "B"), np.array([[1, 0], [1, 1], [0, 0]], bool))
    >>> print(srt(tl))
    1
    00:00:00,000 --> 00:00:01,000
    A
    <BLANKLINE>
    2
    00:00:01,000 --> 00:00:02,000
    A, B
    <BLANKLINE>
    """
    ends = tl.ends
    cues: list[tuple[float, float, str]] = []
    for i, t in enumerate(tl.times):
        who = ", ".join(n for n, p in zip(tl.names, tl.present[i]) if p)
        if cues and who and cues[-1][2] == who and abs(cues[-1][1] - t) < 1e-6:
            cues[-1] = (cues[-1][0], float(ends[i]), who)
        elif who:
            cues.append((float(t), float(ends[i]), who))
    return "".join(f"{k}\n{_srt_time(a)} --> {_srt_time(b)}\n{who}\n\n" for k, (a, b, who) in enumerate(cues, 1))


def report_dict(tl: Timeline, meta: Mapping[str, Any]) -> dict[str, Any]:
    """Everything in one JSON-able dictionary: ``meta`` (video, sampling, backbone, model, smoothing...)
    plus screen time, segments, pairs and the timeline itself. Plain Python values only, and no non-finite
    number (None instead), so any ``json.dumps`` of it is strict JSON."""
    out: dict[str, Any] = finite_or_none({
        "program": {"name": "screentime", "version": __version__},
        **meta,
        "characters": list(tl.names),
        "screen_time": [{"character": c.character, "seconds": c.seconds, "mmss": c.mmss, "percent": c.percent,
                         "appearances": c.appearances} for c in tl.screen_time()],
        "segments": [{"character": s.character, "start_s": s.start_s, "end_s": s.end_s,
                      "start": mmss(s.start_s), "end": mmss(s.end_s)} for s in tl.segments()],
        "together": [{"a": p.a, "b": p.b, "seconds": p.seconds} for p in tl.together()],
        "timeline": {"time_s": [float(t) for t in tl.times],
                     "present": {n: [int(v) for v in tl.present[:, j]] for j, n in enumerate(tl.names)},
                     "probability": None if tl.probs is None else
                     {n: [round(float(v), 4) for v in tl.probs[:, j]] for j, n in enumerate(tl.names)}},
    })
    return out


def report_json(tl: Timeline, meta: Mapping[str, Any]) -> str:
    """``report.json``'s text: strict JSON of :func:`report_dict` (the dashboard's download uses it too)."""
    return json_text(report_dict(tl, meta))


def write_outputs(tl: Timeline, out_dir: os.PathLike[str] | str, meta: Mapping[str, Any]) -> dict[str, Path]:
    """Write the five result files into ``out_dir`` (created if needed); returns their paths by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    texts = {
        "timeline.csv": timeline_csv(tl),
        "screen_time.csv": screen_time_csv(tl),
        "segments.csv": segments_csv(tl),
        "report.json": report_json(tl, meta),
        "screen_time.srt": srt(tl),
    }
    paths = {}
    for name, text in texts.items():
        write_text(out / name, text)
        paths[name] = out / name
    return paths
