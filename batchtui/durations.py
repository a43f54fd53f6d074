"""Durations as people type them on a command line: 90s, 15m, 24h, 2d, 1h30m, or plain seconds."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(text: str) -> float:
    """Seconds in `text`; raises ValueError with a message naming the text when it is not a duration."""
    t = text.strip().lower()
    try:
        value = float(t)
    except ValueError:
        pass
    else:
        if value < 0 or value != value or value == float("inf"):
            raise ValueError(f"not a duration: {text!r} (must be a finite number of seconds ≥ 0)")
        return value
    pos, total = 0, 0.0
    for m in _PART.finditer(t):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not t or pos != len(t):
        raise ValueError(f"not a duration: {text!r} (examples: 30s, 15m, 24h, 2d, 1h30m)")
    return total


def parse_window(text: str) -> tuple[float, float]:
    """`60s+30s` → (60.0, 30.0): a window starting 60 s after some moment, lasting 30 s (the simulator's --outage)."""
    start, sep, length = text.partition("+")
    try:
        if not sep:
            raise ValueError
        window = parse_duration(start), parse_duration(length)
    except ValueError:
        raise ValueError(f"not START+LENGTH: {text!r} (e.g. 60s+30s)") from None
    if window[1] <= 0:
        raise ValueError(f"the length must be more than zero: {text!r}")
    return window
