"""Recent events (from `ui.events`), newest at the bottom, UTC times, coloured by severity."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import events
from textual.widgets import RichLog

from batchtui.ui import format as fmt
from batchtui.ui import palette as pal
from batchtui.ui.events import BAD, GOOD, INFO, WARN, Event
from batchtui.ui.palette import Role

LEVEL = {INFO: ("•", Role.MUTED), GOOD: ("✔", Role.SUCCEEDED), WARN: ("⚠", Role.WARNING), BAD: ("✘", Role.FAILED)}


def event_text(e: Event) -> Text:
    glyph, role = LEVEL.get(e.level, LEVEL[INFO])
    text = Text(fmt.clock_time(e.at), pal.style(Role.FAINT))
    text.append(f" {glyph} ", pal.style(role))
    text.append(e.text, pal.style(Role.TEXT) if e.level in (BAD, WARN) else pal.style(Role.SOFT))
    return text


class EventFeed(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=1000, wrap=True, markup=False, auto_scroll=True, min_width=20)
        self._pending: list[Event] = []

    def add(self, events: Iterable[Event]) -> None:
        self._pending.extend(events)
        self._flush()

    def _flush(self) -> None:
        # RichLog measures unsized text against the console (80 columns in tests): wrap to our own width instead,
        # once we know it.
        width = self.scrollable_content_region.width
        if width <= 0:
            return
        pending, self._pending = self._pending, []
        for e in pending:
            self.write(event_text(e), width=width)

    def on_resize(self, event: events.Resize) -> None:
        self._flush()
