"""Plotly figures of timelines for the dashboard's Results and People pages.

Every function takes a :class:`~core.timeline.Timeline` (or screen times) and returns a ``plotly`` figure;
times on the axes are seconds of the video, shown as m:ss.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from core import CharacterTime, Timeline, mmss

PALETTE = ("#E4572E", "#17BEBB", "#FFC914", "#2E282A", "#76B041", "#7D5BA6", "#3F88C5", "#F49D37", "#D72638",
           "#140F2D")


def colour(names: Sequence[str], name: str) -> str:
    return PALETTE[list(names).index(name) % len(PALETTE)] if name in names else PALETTE[0]


def _ticks(duration: float) -> tuple[list[float], list[str]]:
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600) if duration / s <= 12), 7200)
    vals = list(np.arange(0, duration + 1e-9, step))
    return vals, [mmss(v) for v in vals]


def _layout(fig: go.Figure, height: int, title: str = "") -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=20, t=40 if title else 10, b=10), title=title or None,
                      plot_bgcolor="white", showlegend=False, font=dict(size=13))
    return fig


def screen_time_bars(rows: Sequence[CharacterTime], names: Sequence[str] = ()) -> go.Figure:
    """Horizontal bars: minutes:seconds and share of the video per character, largest on top."""
    rows = sorted(rows, key=lambda r: r.seconds)
    names = list(names) or [r.character for r in rows]
    fig = go.Figure(go.Bar(
        x=[r.seconds for r in rows], y=[r.character for r in rows], orientation="h",
        marker_color=[colour(names, r.character) for r in rows],
        text=[f"{r.mmss}  ({r.percent:.0f}%)" for r in rows], textposition="auto",
        customdata=[[r.mmss, r.percent, r.appearances] for r in rows],
        hovertemplate="<b>%{y}</b><br>%{customdata[0]} on screen<br>%{customdata[1]:.1f}% of the video<br>"
                      "%{customdata[2]} appearances<extra></extra>"))
    top = max([r.seconds for r in rows] + [1.0])
    vals, text = _ticks(top)
    fig.update_xaxes(title="time on screen (minutes:seconds)", tickvals=vals, ticktext=text, gridcolor="#eee",
                     range=[0, top * 1.05])
    return _layout(fig, 80 + 48 * len(rows))


def timeline_figure(tl: Timeline) -> go.Figure:
    """Appearances as horizontal segments along the video's time axis (go.Bar with ``base`` = start)."""
    fig = go.Figure()
    segs = tl.segments()
    for name in tl.names:
        mine = [s for s in segs if s.character == name]
        fig.add_trace(go.Bar(
            name=name, orientation="h", y=[name] * len(mine), x=[s.length_s for s in mine],
            base=[s.start_s for s in mine], marker_color=colour(tl.names, name),
            customdata=[[mmss(s.start_s), mmss(s.end_s), mmss(s.length_s)] for s in mine],
            hovertemplate="<b>" + name + "</b><br>from %{customdata[0]} to %{customdata[1]}<br>"
                          "%{customdata[2]} long<extra></extra>"))
    vals, text = _ticks(tl.duration_s)
    fig.update_xaxes(range=[0, tl.duration_s], tickvals=vals, ticktext=text, title="time in the video",
                     gridcolor="#eee")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(tl.names)))
    fig.update_layout(barmode="overlay", bargap=0.35)
    return _layout(fig, 90 + 42 * len(tl.names))


def heatmap_figure(tl: Timeline) -> go.Figure:
    """Characters by seconds: how sure the model is that each character is on screen at each moment."""
    z = (tl.probs if tl.probs is not None else tl.present.astype(float)).T
    fig = go.Figure(go.Heatmap(
        z=z, x=tl.times, y=list(tl.names), zmin=0, zmax=1, colorscale="YlOrRd",
        customdata=np.array([[mmss(t) for t in tl.times]] * len(tl.names)),
        colorbar=dict(title="sure", tickvals=[0, 0.5, 1], ticktext=["no", "50%", "yes"]),
        hovertemplate="<b>%{y}</b> at %{customdata}<br>%{z:.0%} sure<extra></extra>"))
    vals, text = _ticks(tl.duration_s)
    fig.update_xaxes(tickvals=vals, ticktext=text, title="time in the video")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, 90 + 36 * len(tl.names))


def together_figure(timelines: Sequence[Timeline]) -> go.Figure:
    """A grid of seconds two characters share the screen (the diagonal: each one's own screen time)."""
    names: list[str] = []
    for tl in timelines:
        names += [n for n in tl.names if n not in names]
    m = np.zeros((len(names), len(names)))
    for tl in timelines:
        w = tl.weights
        for i, a in enumerate(tl.names):
            for j, b in enumerate(tl.names):
                m[names.index(a), names.index(b)] += float(np.sum(w[tl.present[:, i] & tl.present[:, j]]))
    text = [[mmss(v) for v in row] for row in m]
    fig = go.Figure(go.Heatmap(z=m, x=names, y=names, colorscale="Blues", text=text, texttemplate="%{text}",
                               showscale=False,
                               hovertemplate="%{y} with %{x}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, 80 + 50 * len(names))


def series_figure(named: Sequence[tuple[str, Timeline]]) -> go.Figure:
    """Grouped bars: minutes on screen per character (one colour each) in each episode."""
    names: list[str] = []
    for _, tl in named:
        names += [n for n in tl.names if n not in names]
    fig = go.Figure()
    for name in names:
        secs = [next((ct.seconds for ct in tl.screen_time() if ct.character == name), 0.0) for _, tl in named]
        fig.add_trace(go.Bar(name=name, x=[v for v, _ in named], y=[s / 60 for s in secs],
                             marker_color=colour(names, name), customdata=[mmss(s) for s in secs],
                             hovertemplate="<b>" + name + "</b> in %{x}<br>%{customdata} on screen<extra></extra>"))
    fig.update_layout(barmode="group", height=380, margin=dict(l=10, r=20, t=10, b=10), plot_bgcolor="white",
                      legend=dict(orientation="h", y=1.08), font=dict(size=13))
    fig.update_yaxes(title="minutes on screen", gridcolor="#eee", rangemode="tozero")
    fig.update_xaxes(title="episode", type="category")
    return fig
