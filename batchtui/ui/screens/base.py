"""What every dashboard screen shares: the status bar, and being told when a new snapshot or a clock tick arrives."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from textual.css.query import NoMatches
from textual.screen import Screen

from batchtui.ui.dashboard import Dashboard, dashboard
from batchtui.ui.widgets.status_bar import StatusBar, loading

if TYPE_CHECKING:
    from batchtui.plan import Selection

MARK_ACTIONS = frozenset({"mark", "mark_matches", "clear_marks"})


class DashboardScreen(Screen):
    """A screen that renders the app's current snapshot. Only the active screen renders; one coming back to the top
    catches up with the snapshots it missed."""

    _seen: object = None

    @cached_property
    def dash(self) -> Dashboard:
        """The app this screen runs in, as what a screen may use of it (checked once: a screen has one app)."""
        return dashboard(self.app)

    def on_screen_resume(self) -> None:
        try:
            self.tick()
            if self.dash.snap is not None and self.dash.snap is not self._seen:
                self.snapshot_changed()
        except NoMatches:  # resumed before its widgets were mounted: on_mount renders it instead
            pass

    def on_mount(self) -> None:
        if self.dash.snap is not None:
            self.snapshot_changed()
        else:
            self.tick()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MARK_ACTIONS and self.dash.readonly:
            return False  # marks only serve actions: none under --readonly
        return True

    def picked_targets(self) -> tuple[list[Selection], str] | None:
        """What retry/cancel would act on here, and how to name it: the marks, else what the cursor is on."""
        return None

    def clear_marks(self) -> None:
        """After an action ran."""

    def recolor(self) -> None:
        """The theme changed: draw the current snapshot again with the new palette."""
        self._seen = None
        try:
            if self.dash.snap is not None:
                self.snapshot_changed()
            else:
                self.tick()
        except NoMatches:  # not composed yet: it draws with the new palette when it mounts
            pass

    def snapshot_changed(self) -> None:
        """Called with `self.dash.snap` new; subclasses render it, then call super()."""
        self._seen = self.dash.snap
        self.tick()

    def tick(self) -> None:
        """The clock moved (every second) or the refresh state changed: redraw the ages."""
        d = self.dash
        for bar in self.query(StatusBar):
            bar.show(d.snap, queue=d.source.queue, where=d.source.where, now=d.now(), refresh_s=d.refresh_s,
                     refreshing=d.refreshing, max_tps=d.source.max_tps, readonly=d.readonly,
                     slowdown=getattr(d.source, "slowdown", 1.0), received_at=d.received_at, good_at=d.good_at,
                     loading=loading(d.source, d.first_error) if d.snap is None else None)
