"""The dashboard app: `batchtui --queue ProdQueue` and `batchtui --demo`.

The app holds the current Snapshot and renders it; it never talks to AWS except through its `Source` (the poller
and the client facade). Refreshing works like Dolphie's monitor loop: one refresh at a time in a worker, the next
one scheduled `--refresh` seconds after the last one ended (`r` refreshes now). A failed refresh keeps the last good
state on screen, marked stale with the error in the status bar; it never crashes the app.

A crash inside the TUI (a bug) restores the terminal (Textual does) and writes the traceback to a log file whose path
is printed on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.timer import Timer

from batchtui.errors import BatchtuiError, UsageError, kind_of
from batchtui.history import with_cancels
from batchtui.lineage import effective
from batchtui.model import Cancel, Job, Snapshot, build_pipelines, ordered_jobs, split_child_id
from batchtui.sanitize import printable, printable_lines
from batchtui.triage import FailureGroup
from batchtui.ui import palette as pal
from batchtui.ui.dashboard import Dashboard
from batchtui.ui.events import BAD, TOAST_ORDER, WARN, Event, cancels_accepted, diff, retries_seen
from batchtui.ui.insight import JobInsight, job_insights
from batchtui.ui.screens.action import ActionScreen
from batchtui.ui.screens.array import ArrayScreen
from batchtui.ui.screens.base import MARK_ACTIONS, DashboardScreen
from batchtui.ui.screens.detail import DetailScreen
from batchtui.ui.screens.modals import COMMAND_HELP, FILTER_HELP, CommandScreen, HelpScreen
from batchtui.ui.screens.pipeline import PipelineScreen
from batchtui.ui.source import DEMO_QUEUE, Source, demo_simulator, open_source, sim_clock
from batchtui.ui.widgets.index_grid import IndexGrid
from batchtui.ui.widgets.jobs_table import JobsTable

if TYPE_CHECKING:
    from batchtui.aws import BatchPort

log = logging.getLogger(__name__)

ACTIONS = frozenset({"retry", "cancel_jobs"})
MAX_EVENTS = 1000
MAX_TOASTS = 3  # per refresh; the rest are in the feed
INDEX_ALERT_EVERY_S = 30.0  # failures trickling in: at most one toast and bell per this long (jobs and ends always)


def crash_log_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir("batchtui", appauthor=False)) / "batchtui-crash.log"


class JobCommands(Provider):
    """Command palette (ctrl+p): open any job of the snapshot, refresh, switch queue."""

    async def discover(self) -> Hits:
        app = self.app
        if not isinstance(app, BatchtuiApp) or app.snap is None:
            return
        yield DiscoveryHit("Refresh now", app.start_refresh, help="same as r")
        yield DiscoveryHit("Waiting plans", app.action_plans, help="retry steps batchtui sends later (same as W)")
        for job in app.snap.jobs:
            yield DiscoveryHit(f"Open {job.job_name}", partial(app.open_job, job.job_id),
                               help=f"{job.status.name} · {job.job_id}")

    async def search(self, query: str) -> Hits:
        app = self.app
        if not isinstance(app, BatchtuiApp) or app.snap is None:
            return
        matcher = self.matcher(query)
        for job in app.snap.jobs:
            text = f"Open {job.job_name}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(app.open_job, job.job_id),
                          help=f"{job.status.name} · {job.job_id}")
        for text, run, said in (("Refresh now", app.start_refresh, "same as r"),
                                ("Waiting plans", app.action_plans, "retry steps batchtui sends later (same as W)")):
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), run, help=said)


class BatchtuiApp(App[int]):
    CSS_PATH = "batchtui.tcss"
    TITLE = "batchtui"
    COMMANDS = App.COMMANDS | {JobCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("r", "refresh", "Refresh", id="app.refresh"),
        Binding("colon", "command", "Command", key_display=":", id="app.command"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        # Actions (k9s: ctrl+k kills). Under --readonly check_action removes them: not shown, not run.
        Binding("R", "retry", "Retry", key_display="R", id="actions.retry"),
        Binding("ctrl+k", "cancel_jobs", "Cancel", id="actions.cancel"),
        Binding("ctrl+s", "screenshot", "Screenshot", show=False, id="app.screenshot"),
        Binding("c", "capacity", "Capacity", show=False, id="app.capacity"),
        Binding("F", "failures", "Failures", show=False, key_display="F", id="app.failures"),
        Binding("W", "plans", "Waiting plans", show=False, key_display="W", id="app.plans"),
    ]

    def __init__(self, source: Source, *, refresh_s: float = 5.0, readonly: bool = False, bell: bool = True,
                 theme: str | None = None, clock: Callable[[], datetime] | None = None,
                 data_clock: Callable[[], datetime] | None = None, crash_log: Path | None = None) -> None:
        super().__init__()
        self.source = source
        self.refresh_s = refresh_s
        self.readonly = readonly
        self.ring_bell = bell
        self._clock = clock or (lambda: datetime.now(UTC))
        # Job times are compared with the data's clock: the same as the wall clock, except in the demo, where the
        # simulator's time runs --speed times faster.
        self._data_clock = data_clock or self._clock
        self.received_at: datetime | None = None  # wall time the current snapshot arrived
        self.good_at: datetime | None = None  # wall time the last snapshot without an error arrived
        self.crash_log = crash_log
        self.crashed_to: Path | None = None
        self.snap: Snapshot | None = None  # what the screens show: retries folded into their originals
        self.raw: Snapshot | None = None  # as the poller read it: what retry and cancel plans are made from
        self.first_error: str | None = None  # why the refreshes so far failed, before any succeeded
        self.insights: dict[str, JobInsight] = {}
        # Cancels sent from this app and accepted by AWS: every snapshot carries them, so the screens say
        # "cancelling" (who, when, what is left) from the moment AWS accepts, not when its statuses catch up.
        self.cancels: tuple[Cancel, ...] = ()
        # Retries sent from this app that the poller has not listed yet (ListJobs lags SubmitJob): added to every
        # snapshot until it has them, so a retry is in its original's node from the moment AWS accepts it.
        self.submitted: dict[str, Job] = {}
        self.events: list[Event] = []  # the latest MAX_EVENTS of this queue
        # Events ever added for this queue: `events` is trimmed, so screens count what they showed by this.
        self.events_added = 0
        self.refreshing = False
        self._again = False
        self._timer: Timer | None = None
        from batchtui.execute import Registry

        # Plans run from this app, by fingerprint: the same plan is never sent twice. Under --readonly it refuses
        # everything, so an action is impossible in code, not only hidden.
        self.registry = Registry()
        if readonly:
            self.registry.forbid("batchtui runs with --readonly")
        self.generation = 0  # bumped on a queue switch: results of an older refresh are dropped
        from batchtui.ui.plans import PlanWatch

        self.plan_watch = PlanWatch()  # waiting plans: moved on after each refresh (ui/plans.py)
        self._plans_running = False
        self._index_alert_at: datetime | None = None
        self.actions_running = 0  # retry/cancel plans being executed (quitting would cut them short)
        self._quit_asked: datetime | None = None
        if theme:
            self.theme = theme

    def now(self) -> datetime:
        """Wall-clock time: how fresh the data is."""
        return self._clock()

    def data_now(self) -> datetime:
        """The data's time: elapsed times and ETAs."""
        return self._data_clock()

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        if hasattr(self.source, "on_partial"):
            self.source.on_partial = self.apply_partial
        pal.use(self.current_theme)  # before the first screen draws
        self.push_screen(PipelineScreen())
        self.start_refresh()
        self.set_interval(1.0, self._tick)
        self.theme_changed_signal.subscribe(self, self._theme_changed)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Textual's notify, but plain text by default and made printable: toasts carry AWS's words (a
        statusReason, an error quoting a job name), and as markup "x[/] y" would raise and "[bold]" restyle."""
        super().notify(printable_lines(message) if not markup else message, title=printable(title),
                       severity=severity, timeout=timeout, markup=markup)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """An SVG of the screen, in a directory that exists: the current one if it can be written, else the state
        directory (Textual's default, ~/Downloads, is missing on most bastions: "Failed to save screenshot")."""
        import os

        from platformdirs import user_state_dir

        target = Path(path) if path else Path.cwd()
        if not os.access(target, os.W_OK):
            target = Path(user_state_dir("batchtui")) / "screenshots"
        try:
            target.mkdir(parents=True, exist_ok=True)
            saved = self.save_screenshot(filename, str(target))
        except OSError as e:
            self.notify(f"screenshot not saved in {target}: {e.strerror or e}", severity="error")
            return
        self.notify(f"screenshot saved: {saved}", title="Screenshot")

    remember_theme = False  # set by the real entry point: a theme chosen in the app is kept in the config file

    def _theme_changed(self, theme: Any) -> None:
        # The screens draw their Rich text with the palette's colours: take the new theme's, and redraw what was
        # drawn with the old ones (every screen of the stack, not only the top one: the command palette is on top).
        pal.use(theme)
        for screen in self.screen_stack:
            recolor = getattr(screen, "recolor", None)
            if callable(recolor):
                recolor()
        self.refresh(repaint=True)
        if not self.remember_theme:
            return
        from batchtui import config

        try:
            config.remember_theme(theme.name)
        except OSError as e:
            self.notify(f"theme {theme.name} not saved to the config file: {e.strerror or e}", severity="warning")

    def _tick(self) -> None:
        # No screen left: the app is closing, and a refresh timer fired meanwhile (`self.screen` would raise)
        if self.screen_stack and isinstance(self.screen, DashboardScreen):
            self.screen.tick()

    # --- refreshing --------------------------------------------------------------------------------------------

    def start_refresh(self) -> None:
        """Refresh now, unless one is running: then once more right after it (refreshes never overlap)."""
        if self.refreshing:
            self._again = True
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.refreshing = True
        self._tick()
        self._refresh_worker(self.generation)

    @work(group="refresh", exit_on_error=False)
    async def _refresh_worker(self, generation: int) -> None:
        snap: Snapshot | None
        try:
            snap = await self.source.refresh()
        except BatchtuiError as e:
            snap = self._failed(str(e), kind_of(e))
        except Exception as e:  # noqa: BLE001 - a bug in the data path must not kill the dashboard
            log.exception("refresh failed")
            snap = self._failed(f"unexpected error: {type(e).__name__}: {e}")
        finally:
            self.refreshing = False
        if generation == self.generation:
            if snap is not None:
                self.first_error = None
                self.apply_snapshot(snap)
                # self.raw: the snapshot whose effective state (lineage) apply_snapshot just folded, so judging
                # the plans on it costs no second fold
                self._advance_plans(self.raw if self.raw is not None else snap)
            else:
                self._tick()  # still loading: the status bar says what it is waiting for
        if self._again:
            self._again = False
            self.start_refresh()
        else:
            self._timer = self.set_timer(self.next_delay(), self.start_refresh)
        self._tick()

    def _advance_plans(self, snap: Snapshot) -> None:
        """Waiting plans' steps whose conditions this snapshot shows holding are sent – in a worker of their own, so
        that a slow SubmitJob, or the lookup of one whose answer was lost (up to 15 s), never holds the refresh. One
        round at a time: a refresh that ends while one runs starts none (the next refresh will)."""
        api = getattr(self.source, "api", None)
        if api is None or snap.error or snap.loading or self._plans_running:
            return
        self._plans_running = True
        self._plans_worker(api, snap)

    @work(group="plans", exit_on_error=False)
    async def _plans_worker(self, api: BatchPort, snap: Snapshot) -> None:
        try:
            events = await self.plan_watch.round(api, snap, self.now(), self.registry.forbidden)
        except Exception as e:  # noqa: BLE001 - a plan file problem must not stop the refresh loop
            log.exception("waiting plans")
            events = [Event(self.now(), WARN, f"waiting plans not checked: {type(e).__name__}: {e}")]
        finally:
            self._plans_running = False
        if events:
            self.add_events(events)
            if isinstance(self.screen, DashboardScreen):
                self.screen.snapshot_changed()

    def add_events(self, events: list[Event]) -> None:
        self.events.extend(events)
        self.events_added += len(events)
        del self.events[:-MAX_EVENTS]
        self._alert([e for e in events if e.alert])

    def next_delay(self) -> float:
        """--refresh, stretched by the source while AWS throttles us (the poller knows)."""
        stretch = getattr(self.source, "next_delay", None)
        try:
            return float(stretch(self.refresh_s)) if stretch else self.refresh_s
        except Exception:  # noqa: BLE001 - a pacing hint must never stop the refresh loop
            return self.refresh_s

    def _failed(self, message: str, kind: str | None = None) -> Snapshot | None:
        """The last good state, marked with the error. None before the first good one: an empty snapshot would
        say "0 jobs" about a queue nobody has read yet; the status bar says it is still loading, and why."""
        if self.raw is not None:
            return replace(self.raw, error=message, error_kind=kind,
                           stale_since=self.raw.stale_since or self.raw.polled_at)
        self.first_error = message
        return None

    def apply_partial(self, snap: Snapshot) -> None:
        """A partial snapshot of the first refresh (the queue's jobs, arrays filling in): drawn, no events yet."""
        if self.snap is None or self.snap.loading:
            snap = self._with_cancels(snap)
            self.raw, snap = snap, effective(snap)
            self.snap, self.insights = snap, job_insights(snap)
            self.received_at = self.now()
            if isinstance(self.screen, DashboardScreen):
                self.screen.snapshot_changed()

    def apply_snapshot(self, snap: Snapshot) -> None:
        # After partial snapshots, the first complete one is still "the first": its failures are a summary, not a
        # flood of "index failed" events for indices that were only not read yet.
        # The screens show retries folded into their originals (lineage.effective); actions plan on what AWS has.
        first = self.snap is None or self.snap.loading
        snap = self._with_cancels(snap)
        prev_raw, self.raw, snap = self.raw, snap, effective(snap)
        events = diff(None if first else self.snap, snap)
        if not first and prev_raw is not None and not snap.error:
            events.extend(retries_seen(prev_raw, self.raw))
        if not snap.error or not self.insights:
            self.insights = job_insights(snap)
        self.snap = snap
        self.received_at = self.now()
        if not snap.error:
            self.good_at = self.received_at
        self.add_events(events)
        if isinstance(self.screen, DashboardScreen):
            try:
                self.screen.snapshot_changed()
            except NoMatches:  # a first snapshot faster than the first screen's compose: its on_mount draws it
                pass

    def _with_cancels(self, snap: Snapshot) -> Snapshot:
        """The snapshot with what this app sent and AWS accepted that the snapshot cannot show yet (beside the
        cancels the source read from the audit log: those sent before this dashboard started)."""
        snap = with_cancels(snap, self.cancels)
        if not snap.error:  # the poller lists them: from now on they are its
            seen = {j.job_id for j in snap.jobs}
            self.submitted = {k: j for k, j in self.submitted.items() if k not in seen}
        return _with_jobs(snap, self.submitted.values())

    def retries_submitted(self, jobs: tuple[Job, ...]) -> None:
        """AWS accepted these SubmitJobs: show them in their originals now, not after the poller finds them."""
        if not jobs:
            return
        self.submitted.update((j.job_id, j) for j in jobs)
        follow = getattr(self.source, "follow", None)
        if follow is not None:  # the poller lists only the watched queue: a retry sent elsewhere is followed by id
            follow([j.job_id for j in jobs])
        if self.raw is None:
            return
        prev_raw = self.raw
        self.raw = _with_jobs(self.raw, jobs)
        self.snap = effective(self.raw)
        self.insights = job_insights(self.snap)
        events = retries_seen(prev_raw, self.raw)
        self.events.extend(events)
        self.events_added += len(events)
        del self.events[:-MAX_EVENTS]
        if isinstance(self.screen, DashboardScreen):
            self.screen.snapshot_changed()

    def cancel_accepted(self, cancels: tuple[Cancel, ...]) -> None:
        """AWS accepted these cancels: said once in the feed, and shown at once on the current snapshot (its
        failures to come are then the cancel's doing, never an alert)."""
        if not cancels:
            return
        self.cancels = (*self.cancels, *cancels)
        if self.raw is None or self.snap is None:
            return
        self.raw = with_cancels(self.raw, self.cancels)
        self.snap = with_cancels(self.snap, self.cancels)
        self.insights = job_insights(self.snap)
        events = cancels_accepted(self.snap, cancels)
        self.events.extend(events)
        self.events_added += len(events)
        del self.events[:-MAX_EVENTS]
        if isinstance(self.screen, DashboardScreen):
            self.screen.snapshot_changed()

    def _alert(self, alerts: list[Event]) -> None:
        # Index failures arriving refresh after refresh would toast and ring every few seconds: they are
        # coalesced to one alert per INDEX_ALERT_EVERY_S (the feed still lists each one).
        now = self.now()
        if any(e.kind == "index" for e in alerts):
            if self._index_alert_at and (now - self._index_alert_at).total_seconds() < INDEX_ALERT_EVERY_S:
                alerts = [e for e in alerts if e.kind != "index"]
            else:
                self._index_alert_at = now
        if not alerts:
            return
        toasts = sorted((e for e in alerts if e.kind != "index"), key=lambda e: TOAST_ORDER.get(e.kind, 9))
        failures = [e for e in alerts if e.kind == "index"]
        for e in toasts[:MAX_TOASTS]:
            title = {"job": "Job failed", "pipeline": "Pipeline finished", "plan": "Waiting plan"}.get(e.kind, "")
            severity: SeverityLevel = "error" if e.level == BAD else "warning" if e.level == WARN else "information"
            self.notify(e.text, title=title, severity=severity, timeout=8)
        if failures:  # one toast for every index failure of this refresh
            text = "\n".join(e.text for e in failures[:2])
            if len(failures) > 2:
                text += f"\n… and {len(failures) - 2} more (see Events)"
            self.notify(text, title="Index failed" if len(failures) == 1 else "Indices failed", severity="error",
                        timeout=8)
        if self.ring_bell:
            self.bell()

    # --- navigation --------------------------------------------------------------------------------------------

    def open_job(self, job_id: str) -> None:
        job = self.snap.job(job_id) if self.snap else None
        if job is None:
            self.notify(f"no job {job_id} in this queue's snapshot", severity="warning")
        elif job.array is not None:
            self.push_screen(ArrayScreen(job_id))
        else:
            self.push_screen(DetailScreen(job_id))

    def open_index(self, job_id: str, index: int) -> None:
        self.push_screen(DetailScreen(job_id, index))

    def home(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    # --- actions -----------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ACTIONS and (self.readonly or not isinstance(self.screen, DashboardScreen)):
            return False
        return True

    @contextmanager
    def _sending(self) -> Iterator[None]:
        self.actions_running += 1
        try:
            yield
        finally:
            self.actions_running -= 1

    def sending(self) -> AbstractContextManager[None]:
        """Around a retry or cancel being sent (by the plan window): `q` then asks twice."""
        return self._sending()

    async def action_quit(self) -> None:
        """Quit; while a retry or cancel is being sent, only when asked twice (it would stop half way)."""
        if self.actions_running:
            now = self.now()
            if self._quit_asked is None or (now - self._quit_asked).total_seconds() > 5:
                self._quit_asked = now
                self.notify("a retry/cancel is being sent: quitting now would stop it half way. "
                            "Press q again to quit anyway.", severity="warning")
                return
        self.exit(0)

    def action_retry(self) -> None:
        self._act("retry")

    def action_cancel_jobs(self) -> None:
        self._act("cancel")

    def _act(self, kind: str) -> None:
        if self.readonly:
            return
        screen = self.screen
        if not isinstance(screen, DashboardScreen) or self.snap is None:
            return
        picked = screen.picked_targets()
        if picked is None:
            self.notify("nothing selected", severity="warning")
            return
        selections, what = picked

        def done(ran: bool | None) -> None:
            if ran and isinstance(screen, DashboardScreen):
                screen.clear_marks()

        self.push_screen(ActionScreen(kind, selections, what), done)

    def action_refresh(self) -> None:
        self.start_refresh()
        if isinstance(self.screen, DetailScreen):
            self.screen.load_details()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        def plain(bindings) -> list[Binding]:  # the screen's own keys; marks and actions have their section
            return [b for b in bindings if b.action not in ACTIONS | MARK_ACTIONS]

        groups: list[tuple[str, Sequence[BindingType]]] = [("Everywhere", plain(self.BINDINGS)),
                  ("Pipeline screen", [*plain(PipelineScreen.BINDINGS), *JobsTable.BINDINGS,
                                       Binding("up,down", "", "move the cursor over jobs"),
                                       Binding("home,end", "", "first / last job")]),
                  ("Array screen", [*plain(ArrayScreen.BINDINGS), *IndexGrid.BINDINGS,
                                    Binding("left,right,up,down", "", "move over indices", key_display="arrows"),
                                    Binding("pageup,pagedown", "", "a screen of indices up or down"),
                                    Binding("home,end", "", "first / last index")]),
                  ("Detail screen", [*DetailScreen.BINDINGS, Binding("home,end", "", "top / end of the log")]),
                  *([] if self.readonly else [("Retry and cancel (not with --readonly)", [
                      Binding("R", "", "retry: the marked jobs or indices, else the one under the cursor",
                              key_display="R"),
                      Binding("ctrl+k", "", "cancel (running ones are terminated): marked, else under the cursor"),
                      Binding("space", "", "mark / unmark the job or index under the cursor"),
                      Binding("a", "", "array screen: mark every index the filter matches"),
                      Binding("U", "", "unmark all", key_display="U"),
                      Binding("y", "", "plan window: send it (once); d: downstream on/off; Esc: back")])]),
                  ("Also", [Binding("ctrl+p", "", "command palette: open a job, switch theme…"),
                            Binding("ctrl+s", "", "save a screenshot (SVG) in the current directory"),
                            Binding("c", "", "capacity: the queue's environments, its front, why work waits"),
                            Binding("F", "", "failures: every failure group, its size and its repair",
                                    key_display="F"),
                            Binding("W", "", "waiting plans: retry steps batchtui sends later, blocked or not; "
                                    "ctrl+k there cancels one", key_display="W"),
                            Binding("ctrl+q", "", "quit (even from inside a text box)")])]
        self.push_screen(HelpScreen.from_bindings(self, groups, [("Commands (:)", list(COMMAND_HELP)),
                                                                 ("Array filters (/)", list(FILTER_HELP))]))

    def action_capacity(self) -> None:
        from batchtui.ui.screens.capacity import CapacityScreen

        if not isinstance(self.screen, CapacityScreen):
            self.push_screen(CapacityScreen())

    def action_failures(self) -> None:
        from batchtui.ui.screens.failures import FailuresScreen

        if not isinstance(self.screen, FailuresScreen):
            self.push_screen(FailuresScreen())

    def action_plans(self) -> None:
        from batchtui.ui.screens.plans import PlansScreen

        if not isinstance(self.screen, PlansScreen):
            self.push_screen(PlansScreen())

    def open_group(self, job_id: str, group: FailureGroup) -> None:
        """A failure group: the array's grid filtered to it, or the plain job's detail."""
        job = self.snap.job(job_id) if self.snap else None
        if job is None:
            return
        if job.array is None:
            self.push_screen(DetailScreen(job_id))
            return
        first = min(group.indices) if group.indices else 0
        screen = ArrayScreen(job_id, first)
        self.push_screen(screen)
        self.call_after_refresh(screen.set_filter, f"group:{group.cause}")

    def action_command(self) -> None:
        self.push_screen(CommandScreen(), self.run_command)

    def run_command(self, text: str | None) -> None:
        """A `:` command: queue NAME, job NAME[:INDEX], filter TEXT, theme NAME, refresh, help, q."""
        if not text or not text.strip():
            return
        verb, _, rest = text.strip().lstrip(":").partition(" ")
        verb, rest = verb.lower(), rest.strip()
        if verb in ("q", "q!", "quit", "exit"):
            self.exit(0)
        elif verb in ("queue", "qu"):
            if rest:
                self.switch_queue(rest)
            else:
                self.notify(f"watching {self.source.queue}; :queue NAME switches", severity="information")
        elif verb in ("job", "open", "j"):
            self._open_by_name(rest)
        elif verb in ("filter", "f"):
            screen = self.screen
            if isinstance(screen, PipelineScreen | ArrayScreen):
                screen.set_filter(rest)
            else:
                self.notify("this screen has no filter", severity="warning")
        elif verb == "theme":
            if rest in self.available_themes:
                self.theme = rest
            else:
                self.notify(f"unknown theme {rest!r}: {', '.join(sorted(self.available_themes))}",
                            severity="error")
        elif verb in ("refresh", "r"):
            self.action_refresh()
        elif verb in ("capacity", "cap"):
            self.action_capacity()
        elif verb in ("failures", "fail"):
            self.action_failures()
        elif verb in ("plans", "plan", "waiting"):
            self.action_plans()
        elif verb in ("help", "h", "?"):
            self.action_help()
        else:
            self.notify(f"unknown command {verb!r} (:queue, :job, :filter, :theme, :refresh, :plans, :help, :q)",
                        severity="error")

    def _open_by_name(self, ref: str) -> None:
        if self.snap is None or not ref:
            self.notify(":job NAME[:INDEX] opens a job", severity="warning")
            return
        head, index = split_child_id(ref)
        job = self.snap.by_name(head) or self.snap.job(head)
        if job is None:
            self.notify(f"no job named {head!r} in {self.snap.queue}", severity="error")
        elif index is not None and job.array is not None and 0 <= index < job.array.size:
            self.open_index(job.job_id, index)
        elif index is not None:
            self.notify(f"{job.job_name} has no index {index}", severity="error")
        else:
            self.open_job(job.job_id)

    @work(exclusive=True, group="queue", exit_on_error=False)
    async def switch_queue(self, queue: str) -> None:
        self.notify(f"switching to {queue}…", timeout=3)
        try:
            await self.source.switch_queue(queue)
        except BatchtuiError as e:
            self.notify(str(e), title=f"queue {queue}", severity="error")
            return
        self.generation += 1
        self.home()
        if isinstance(self.screen, DashboardScreen):
            self.screen.clear_marks()  # marks name the old queue's jobs: "2 marked" would point at nothing here
        self.snap, self.insights, self.events, self.events_added = None, {}, [], 0
        self.raw = None
        self.received_at = self.good_at = self.first_error = None
        self._again = False
        if self.refreshing:
            self._again = True  # the refresh in flight is for the old queue: its result is dropped
        else:
            self.start_refresh()

    # --- crashes -----------------------------------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        # A bug: keep the traceback (without locals, which could hold secrets) in a file the user can send us.
        self.crashed_to = write_crash_log(error, self.crash_log or crash_log_path())
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        # Textual would print a traceback with local variables; ours is in the crash log instead.
        from rich.text import Text

        self._exit_renderables.append(Text(f"batchtui crashed: {self._exception!r}"))
        self._close_messages_no_wait()


if TYPE_CHECKING:  # mypy checks here that the app is everything its screens may use of it (ui/dashboard.py)
    _THE_APP_IS_A_DASHBOARD: type[Dashboard] = BatchtuiApp


def _with_jobs(snap: Snapshot, extra: Iterable[Job]) -> Snapshot:
    have = {j.job_id for j in snap.jobs}
    jobs = [*snap.jobs, *(j for j in extra if j.job_id not in have)]
    if len(jobs) == len(snap.jobs):
        return snap
    pipelines = build_pipelines(jobs)
    return replace(snap, jobs=ordered_jobs(pipelines, jobs), pipelines=pipelines)


def write_crash_log(error: BaseException, path: Path) -> Path | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(f"--- batchtui crash at {datetime.now(UTC).isoformat()} ---\n")
            f.write("".join(traceback.format_exception(error)))
        return path
    except OSError:
        return None


# --- entry point -----------------------------------------------------------------------------------------------


def main(args: argparse.Namespace) -> int:
    """`batchtui [--queue Q | --demo] ...`: runs the dashboard; returns the exit code."""
    try:
        return asyncio.run(_run(args))
    except BatchtuiError:
        raise
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - outside the app (opening, closing): still one line and a log file
        path = write_crash_log(e, crash_log_path())
        print(f"batchtui: crashed: {type(e).__name__}: {e}" +
              (f" (traceback in {path})" if path else ""), file=sys.stderr)
        return 1


@contextmanager
def _exit_on_signals(app: BatchtuiApp) -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal, `kill`) end the app the way `q` does, so the terminal is given back
    (alternate screen left, mouse reporting off) and the exit code says why: 128 + the signal's number."""
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            loop.add_signal_handler(sig, partial(app.exit, return_code=128 + sig))
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no such signal here
            pass
    try:
        yield
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


def binding_ids() -> set[str]:
    """Every id a `[keys]` table may remap: the bindings of the app, its screens and widgets."""
    from batchtui.ui.screens import action, array, detail, modals, pipeline
    from batchtui.ui.widgets import index_grid, jobs_table

    owners: list[Any] = [BatchtuiApp]
    for module in (action, array, detail, modals, pipeline, index_grid, jobs_table):
        owners += [v for v in vars(module).values() if isinstance(v, type) and "BINDINGS" in vars(v)]
    return {b.id for owner in owners for b in owner.BINDINGS if isinstance(b, Binding) and b.id}


def check_keymap(keymap: dict[str, str] | None) -> dict[str, str]:
    """A `[keys]` table naming a binding that does not exist is a usage error, before anything starts."""
    if not keymap:
        return {}
    unknown = sorted(set(keymap) - binding_ids())
    if unknown:
        raise UsageError(f"unknown key binding id{'s' if len(unknown) > 1 else ''} in [keys]: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(binding_ids()))})")
    return keymap


def check_theme(name: str | None) -> None:
    """A bad --theme is a usage error, found before anything starts."""
    from textual.theme import BUILTIN_THEMES

    if name and name not in BUILTIN_THEMES:
        raise UsageError(f"unknown theme {name!r} (one of: {', '.join(sorted(BUILTIN_THEMES))})")


async def _run(args: argparse.Namespace) -> int:
    check_theme(args.theme)
    keymap = check_keymap(getattr(args, "keymap", None))
    with ExitStack() as stack:
        queue, endpoint, where, data_clock = args.queue, args.endpoint_url, None, None
        if args.demo:
            sim = stack.enter_context(demo_simulator(args))
            queue, endpoint = queue or DEMO_QUEUE, sim.url
            where = f"demo simulator {sim.url} · {args.speed:g}× speed"
            data_clock = sim_clock(sim.engine.now_ms, args.speed)
        if args.readonly:  # process-wide too: nothing in this process may act
            from batchtui.execute import forbid_actions

            forbid_actions()
        async with open_source(queue, region=args.region, profile=None if args.demo else args.profile,
                               endpoint_url=endpoint, max_tps=args.max_tps, since_s=args.since, where=where,
                               clock=data_clock) as source:
            app = BatchtuiApp(source, refresh_s=args.refresh, readonly=args.readonly, bell=not args.no_bell,
                              data_clock=data_clock)
            if args.theme:
                app.theme = args.theme
            if keymap:
                app.set_keymap(keymap)
            app.remember_theme = True
            with _exit_on_signals(app):
                await app.run_async()
    if app.crashed_to is not None or app._exception is not None:
        where_log = f"; traceback written to {app.crashed_to}" if app.crashed_to else ""
        print(f"batchtui: the dashboard crashed{where_log}", file=sys.stderr)
        return 1
    return app.return_code or 0
