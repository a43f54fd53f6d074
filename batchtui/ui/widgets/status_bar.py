"""The bar at the top of every screen: queue, where, how fresh the data is, the API budget in use.

When the last refresh failed it grows a second line with the error, and the age turns into a STALE warning, while
the screen below keeps showing the last good state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.widgets import Static

from batchtui.errors import CREDENTIALS
from batchtui.model import Snapshot
from batchtui.sanitize import printable
from batchtui.ui import format as fmt
from batchtui.ui import palette as pal
from batchtui.ui.palette import Role

STALE_AFTER_REFRESHES = 3  # data older than this many refresh periods is called stale even without an error



@dataclass(frozen=True, slots=True)
class Freshness:
    age_s: float | None  # since the data shown was fetched; None before the first refresh
    stale: bool
    error: str | None


def freshness(snap: Snapshot | None, now: datetime, refresh_s: float, received_at: datetime | None = None,
              good_at: datetime | None = None) -> Freshness:
    """How old the data on screen is, by the wall clock: since the last snapshot without an error arrived.

    Measured from when snapshots arrived here (not from their polled_at), so a clock that differs from the
    data's (the demo's fast simulator, a skewed host) cannot make fresh data look stale."""
    if snap is None:
        return Freshness(None, False, None)
    if received_at is None:  # no arrival times known: trust the snapshot's own times
        fresh = snap.stale_since if (snap.error and snap.stale_since) else snap.polled_at
    else:
        fresh = (good_at if snap.error else received_at) or received_at
    age = max(0.0, (now - fresh).total_seconds())
    stale = bool(snap.error) or age > STALE_AFTER_REFRESHES * refresh_s + 5
    return Freshness(age, stale, snap.error)


@dataclass(frozen=True, slots=True)
class Loading:
    """Before the first good refresh: what it has cost so far and what went wrong, so the screen never shows an
    empty queue it has not read."""

    calls: int = 0
    throttled: int = 0
    retrying: int = 0
    error: str | None = None


def loading(source: Any, error: str | None) -> Loading:
    api = getattr(source, "api", None)
    return Loading(int(getattr(api, "calls", 0) or 0), int(getattr(api, "throttled", 0) or 0),
                   int(getattr(api, "retrying", 0) or 0), error)


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: auto; background: $panel; padding: 0 1; }
    """

    def show(self, snap: Snapshot | None, *, queue: str, where: str, now: datetime, refresh_s: float,
             refreshing: bool, max_tps: float | None, readonly: bool, slowdown: float = 1.0,
             received_at: datetime | None = None, good_at: datetime | None = None,
             loading: Loading | None = None) -> None:
        self._args = dict(snap=snap, queue=queue, where=where, now=now, refresh_s=refresh_s, refreshing=refreshing,
                          max_tps=max_tps, readonly=readonly, slowdown=slowdown, received_at=received_at,
                          good_at=good_at, loading=loading)
        self._draw()

    def _draw(self) -> None:
        args = getattr(self, "_args", None)
        if args is not None:
            # The bar spans the screen: the app's width is known before this widget is laid out, so the line is
            # cut to fit from the first frame (no reflow, no 2-line bar that turns into 1).
            width = max(20, (self.size.width or self.app.size.width) - 2)
            self.update(render(**args, width=width))

    def on_resize(self) -> None:
        self._draw()


def render(snap: Snapshot | None, *, queue: str, where: str, now: datetime, refresh_s: float, refreshing: bool,
           max_tps: float | None, readonly: bool, slowdown: float = 1.0, width: int = 200,
           received_at: datetime | None = None, good_at: datetime | None = None,
           loading: Loading | None = None) -> Text:
    """The first line drops its least useful parts (budget, interval, totals) until it fits `width`."""
    f = freshness(snap, now, refresh_s, received_at, good_at)
    for detail in (3, 2, 1, 0):
        line = _first_line(snap, f, queue=queue, where=where, refresh_s=refresh_s, refreshing=refreshing,
                           max_tps=max_tps, readonly=readonly, slowdown=slowdown, detail=detail, loading=loading)
        if line.cell_len <= width:
            break
    if snap is None and loading is not None and loading.error:
        line.append("\n")
        line.append("⚠ no answer yet: ", pal.style(Role.WARNING, bold=True))
        line.append(printable(loading.error), pal.style(Role.TEXT))
        line.append(" – trying again", pal.style(Role.MUTED))
    if f.error and snap is not None:
        line.append("\n")
        # Expired credentials do not mend by waiting: say so, rather than an ever older "stale".
        line.append("⚠ credentials: " if snap.error_kind == CREDENTIALS else "⚠ last refresh failed: ",
                    pal.style(Role.FAILED, bold=True))
        line.append(printable(f.error), pal.style(Role.TEXT))
        line.append(f" – showing the state of {fmt.clock_time(snap.stale_since or snap.polled_at)} UTC",
                    pal.style(Role.MUTED))
    return line


def _first_line(snap: Snapshot | None, f: Freshness, *, queue: str, where: str, refresh_s: float, refreshing: bool,
                max_tps: float | None, readonly: bool, slowdown: float, detail: int,
                loading: Loading | None = None) -> Text:
    line = Text()
    line.append("◆ batchtui", pal.style(Role.ACCENT, bold=True))
    line.append(" │ ", pal.style(Role.SEPARATOR))
    line.append(queue, pal.style(Role.BRIGHT, bold=True))
    if detail >= 1:
        line.append(" │ ", pal.style(Role.SEPARATOR))
        line.append(where, pal.style(Role.MUTED))
    if readonly:
        line.append(" │ ", pal.style(Role.SEPARATOR))
        line.append("read-only", pal.style(Role.WARNING, bold=True))
    line.append(" │ ", pal.style(Role.SEPARATOR))
    if f.age_s is None:
        line.append("⟳ loading…" if refreshing or (loading and loading.error) else "no data yet", pal.style(Role.MUTED))
        if loading is not None and loading.calls:
            line.append(" │ ", pal.style(Role.SEPARATOR))
            line.append(f"API {loading.calls:,} calls", pal.style(Role.TEXT))
            if loading.throttled:
                line.append(f" · {loading.throttled:,} throttled", pal.style(Role.WARNING, bold=True))
            if loading.retrying:
                line.append(f" · {loading.retrying:,} retried", pal.style(Role.MUTED))
    elif f.error and snap is not None and snap.error_kind == CREDENTIALS:
        line.append("⚠ CREDENTIALS EXPIRED", pal.style(Role.FAILED, bold=True))
    elif f.error:
        line.append(f"⚠ STALE {fmt.duration(f.age_s)}", pal.style(Role.FAILED, bold=True))
    elif f.stale:
        line.append(f"⚠ updated {fmt.age(f.age_s)}", pal.style(Role.WARNING, bold=True))
    else:
        line.append(f"● updated {fmt.age(f.age_s)}", pal.style(Role.SUCCEEDED))
    if snap is not None and snap.loading:
        line.append("  ⟳ reading arrays…", pal.style(Role.ACCENT, bold=True))
    elif refreshing and f.age_s is not None:
        line.append("  ⟳", pal.style(Role.ACCENT, bold=True))
    if snap is not None:
        line.append(" │ ", pal.style(Role.SEPARATOR))
        line.append(f"API {snap.api_calls:,} calls", pal.style(Role.TEXT))
        if detail >= 2:
            line.append(f" · {snap.total_api_calls:,} total", pal.style(Role.MUTED))
        if detail >= 1 or snap.throttled_calls:
            line.append(f" · {snap.throttled_calls:,} throttled",
                        pal.style(Role.WARNING, bold=True) if snap.throttled_calls else pal.style(Role.MUTED))
    if slowdown > 1.0:
        line.append(f" · throttled: polling {slowdown:g}× slower", pal.style(Role.WARNING, bold=True))
    if detail >= 3:
        if max_tps:
            line.append(f" · budget {max_tps:g}/s", pal.style(Role.MUTED))
        line.append(f" · every {fmt.duration(refresh_s)}", pal.style(Role.MUTED))
    return line
