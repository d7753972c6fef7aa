"""Key presses that are never dropped: a small browser component that numbers every press.

A Streamlit button's keyboard shortcut is a trigger: two presses of N that arrive while the page is still
running merge into one click (three quick presses of N labelled one frame). Here the browser keeps a numbered
list of the last presses and sends all of it with each one; the page applies, in order, every press it has
not applied yet (``apply`` in its callback), so a quick run of presses lands on as many frames.

Not a page itself (app.py's navigation does not list it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import streamlit as st

#: The keys the page listens to (a key typed in a text box is left alone).
KEYS = tuple("123456789") + ("n", "ArrowLeft", "ArrowRight")
_KEPT = 64  # presses the browser resends: far more than can arrive during one rerun

_JS = """
export default function(component) {
  const { setStateValue } = component;
  const keys = new Set(KEYS);
  const box = window.__screentimeKeys || (window.__screentimeKeys = { seq: 0, presses: [], handler: null });
  if (box.handler) { document.removeEventListener("keydown", box.handler, true); }
  box.handler = (e) => {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (!keys.has(k)) return;
    e.preventDefault();
    box.seq += 1;
    box.presses.push([box.seq, k]);
    box.presses = box.presses.slice(-KEPT);
    setStateValue("presses", { seq: box.seq, presses: box.presses });
  };
  document.addEventListener("keydown", box.handler, true);
  return () => { document.removeEventListener("keydown", box.handler, true); box.handler = null; };
}
""".replace("KEYS", json.dumps(list(KEYS))).replace("KEPT", str(_KEPT))

_component: Any = None


def _mount() -> Any:
    global _component
    if _component is None:
        _component = st.components.v2.component("screentime_keys", js=_JS)
    return _component


def new_presses(state: Any, done: int) -> list[tuple[int, str]]:
    """The presses in the component's ``state`` numbered after ``done``, in order (bad entries ignored)."""
    if not isinstance(state, dict):
        return []
    out = []
    for item in state.get("presses") or []:
        try:
            seq, key = int(item[0]), str(item[1])
        except (TypeError, ValueError, IndexError):
            continue
        if seq > done and key in KEYS:
            out.append((seq, key))
    return sorted(out)


def listen(key: str, on_press: Callable[[str], None]) -> None:
    """Mount the listener; each new press calls ``on_press(key)`` once, in order: in the component's callback,
    before the page runs (so the page shows the result), and else here (a press that arrived otherwise)."""

    def changed() -> None:
        apply(st.session_state, key, on_press)

    _mount()(key=key, default={"presses": None}, on_presses_change=changed, height=0)
    apply(st.session_state, key, on_press)


def apply(state: Any, key: str, on_press: Callable[[str], None]) -> int:
    """Apply the presses of the component ``key`` not applied yet; returns how many."""
    value = state.get(key)
    presses = getattr(value, "presses", None) if value is not None and not isinstance(value, dict) else (
        (value or {}).get("presses"))
    done_key = f"{key}_done"
    fresh = new_presses(presses, int(state.get(done_key, 0)))
    for seq, k in fresh:
        on_press(k)
        state[done_key] = seq
    return len(fresh)
