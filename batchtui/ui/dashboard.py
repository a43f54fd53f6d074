"""What a screen may use of the app it runs in: the dashboard's current state (read-only) and the intents a screen
sends back (open this, refresh now, AWS accepted that).

Screens and widgets depend on this Protocol, never on the concrete app (ui/app.py), which imports the screens to
open them: that way the dependency runs one way (an import-linter contract forbids the other). `BatchtuiApp` is
checked against it by mypy (in ui/app.py) and at run time when a screen first asks (`dashboard`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from textual.notifications import SeverityLevel

from batchtui.model import Cancel, Job, Snapshot

if TYPE_CHECKING:
    from batchtui.execute import Registry
    from batchtui.triage import FailureGroup
    from batchtui.ui.events import Event
    from batchtui.ui.insight import JobInsight
    from batchtui.ui.plans import PlanWatch
    from batchtui.ui.source import Source


@runtime_checkable
class Dashboard(Protocol):
    """The app as its screens see it. State is read-only here: only the app changes it, through its refreshes and
    the intents below."""

    @property
    def source(self) -> Source: ...

    @property
    def snap(self) -> Snapshot | None:
        """What the screens show: retries folded into their originals."""
        ...

    @property
    def raw(self) -> Snapshot | None:
        """As the poller read it: what retry and cancel plans are made from."""
        ...

    @property
    def insights(self) -> Mapping[str, JobInsight]: ...

    @property
    def events(self) -> Sequence[Event]:
        """The latest events of this queue (trimmed: count what was shown by `events_added`)."""
        ...

    @property
    def events_added(self) -> int: ...

    @property
    def generation(self) -> int:
        """Bumped on a queue switch: what a screen kept of the older queue is stale."""
        ...

    @property
    def readonly(self) -> bool: ...

    @property
    def refresh_s(self) -> float: ...

    @property
    def refreshing(self) -> bool: ...

    @property
    def received_at(self) -> datetime | None: ...

    @property
    def good_at(self) -> datetime | None: ...

    @property
    def first_error(self) -> str | None: ...

    @property
    def registry(self) -> Registry:
        """The plans run from this app: the same plan is never sent twice."""
        ...

    @property
    def plan_watch(self) -> PlanWatch: ...

    def now(self) -> datetime:
        """Wall-clock time: how fresh the data is."""
        ...

    def data_now(self) -> datetime:
        """The data's time: elapsed times and ETAs."""
        ...

    # --- intents -----------------------------------------------------------------------------------------------

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """A toast: plain text (AWS's words are never read as markup), made printable."""

    def open_job(self, job_id: str) -> None: ...

    def open_index(self, job_id: str, index: int) -> None: ...

    def open_group(self, job_id: str, group: FailureGroup) -> None: ...

    def start_refresh(self) -> None: ...

    def retries_submitted(self, jobs: tuple[Job, ...]) -> None: ...

    def cancel_accepted(self, cancels: tuple[Cancel, ...]) -> None: ...

    def sending(self) -> AbstractContextManager[None]:
        """Around a retry or cancel being sent: quitting meanwhile would cut it short, so the app asks twice."""
        ...


def dashboard(app: object) -> Dashboard:
    """The app a screen runs in, as a Dashboard (a screen hosted by anything else is a bug: said at once)."""
    if not isinstance(app, Dashboard):
        raise TypeError(f"batchtui's screens run in a Dashboard, not in {type(app).__name__}")
    return app
