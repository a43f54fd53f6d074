"""Retry and cancel from the dashboard: the plan first (exact calls, jobs, indices, reason), then, once confirmed,
progress and the outcome – through the same planner and executor as `batchtui retry|cancel`, audited the same way.

Confirming runs the plan shown, exactly once: the confirm key is ignored after the first press, and the executor's
registry refuses a plan it has run already.

A retry's changes (`memory=x1.5 vcpus=4 timeout=2h queue=NAME env=KEY=VALUE`, as `batchtui retry`'s flags) are
edited in the window's line and applied with Enter; a failure group's repair pre-fills them. A change of resources
is checked against the target queue's instance types (read once per queue, in the background) before the plan can
be confirmed; one no instance type holds is refused, as on the command line.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from batchtui.capacity import World
from batchtui.errors import BatchtuiError
from batchtui.overrides import Overrides
from batchtui.sanitize import printable, printable_lines
from batchtui.ui import palette as pal
from batchtui.ui.dashboard import Dashboard, dashboard
from batchtui.ui.palette import Role

if TYPE_CHECKING:
    from batchtui.plan import Plan, Selection



CHANGES_HINT = "no changes · e.g. memory=x1.5 vcpus=4 timeout=2h queue=NAME env=KEY=VALUE · Enter applies"


def make_plan(snap, kind: str, selections: list[Selection], *, reason: str | None = None,
              downstream: bool = False, changes: Overrides | None = None,
              worlds: dict[str, World] | None = None) -> Plan:
    from batchtui.plan import KIND_CANCEL, default_reason, plan_cancel
    from batchtui.retry_plan import plan_retry
    from batchtui.waitplans import pending_originals

    if kind == KIND_CANCEL:
        return plan_cancel(snap, selections, reason or default_reason())
    pending = pending_originals() if downstream else {}  # what a pending plan waits to re-run is not planned twice
    return plan_retry(snap, selections, downstream=downstream, changes=changes, worlds=worlds, pending=pending)


class ActionScreen(ModalScreen[bool]):
    """Shows a plan; `y`/Enter runs it; Esc goes back (or closes once it ran). Dismisses True if anything ran."""

    BINDINGS = [
        Binding("y", "confirm", "Confirm", id="action.confirm"),
        Binding("d", "toggle_downstream", "Downstream on/off", id="action.downstream"),
        Binding("escape", "close", "Back", id="action.close"),
    ]

    def __init__(self, kind: str, selections: list[Selection], what: str, *, downstream: bool = False,
                 changes: Overrides | None = None, warning: str | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.picked = selections
        self.what = what  # "JobB[17], JobB[42]" – for the title
        self.downstream = downstream
        self.changes = changes or Overrides()
        self.warning = warning  # said above the plan (a failure group's repair that may not help)
        self.edited: str | None = None  # the changes line differs from what the plan was made with: why or ""
        self.worlds: dict[str, World] = {}  # queue → its capacity, for the fit of changed resources
        self.checking: set[str] = set()  # queues being read: the plan cannot be confirmed until they are
        self.reason: str | None = None
        self.plan: Plan | None = None
        self.state = "plan"  # plan → running → done
        self.lines: list[Text] = []
        self.error: str | None = None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_downstream":
            return self.kind == "retry" and self.state == "plan"
        if action == "confirm":
            return self.sendable
        return True

    @property
    def sendable(self) -> bool:
        """The plan on screen is the one that would be sent: made, not empty, its changes applied and checked."""
        return (self.state == "plan" and self.plan is not None and not self.plan.empty and self.edited is None
                and not self.checking)

    @cached_property
    def dash(self) -> Dashboard:
        return dashboard(self.app)

    def compose(self) -> ComposeResult:
        from batchtui.plan import KIND_CANCEL, default_reason

        with Vertical(id="action-box"):
            with VerticalScroll(id="action-scroll"):
                yield Static(id="action-plan")
            if self.kind == KIND_CANCEL:
                yield Input(default_reason(), id="action-reason", placeholder="reason recorded with the jobs")
            else:
                yield Input(self.changes.text(), id="action-changes", placeholder=CHANGES_HINT)
            yield Static(id="action-keys")

    def on_mount(self) -> None:
        box = self.query_one("#action-box")
        box.border_title = f"{'Retry' if self.kind == 'retry' else 'Cancel'} · {self.what}"
        self.replan()
        self.query_one("#action-scroll").focus()
        self._fit_plan()

    def on_resize(self) -> None:
        self._fit_plan()

    def _fit_plan(self) -> None:
        """The plan scrolls; the keys line (y · d · Esc) and the reason box always stay on screen. The box may take
        85% of the height: less its border and padding (4), the keys (2) and, for a cancel, the reason (4)."""
        height = self.app.size.height
        if not height:
            return
        reserved = 4 + 2 + (4 if self.query("#action-reason") or self.query("#action-changes") else 0)
        self.query_one("#action-scroll").styles.max_height = max(3, min(30, int(height * 0.85) - reserved))

    # --- planning --------------------------------------------------------------------------------------------

    def replan(self) -> None:
        from batchtui.retry_plan import queues_to_check

        snap = self.dash.raw or self.dash.snap  # real job ids and lineage tags, not the folded view
        try:
            if snap is None:
                raise BatchtuiError("no snapshot yet: wait for the first refresh")
            unread = [q for q in queues_to_check(snap, self.picked, self.changes) if q not in self.worlds]
            if unread and not self.checking:
                self.checking = set(unread)
                self.run_worker(self._read_worlds(unread), group="action-capacity", exit_on_error=False)
            self.plan = make_plan(snap, self.kind, self.picked, reason=self.reason, downstream=self.downstream,
                                  changes=self.changes, worlds=self.worlds)
            self.error = None
        except BatchtuiError as e:
            self.plan, self.error = None, str(e)
        self.refresh_bindings()
        self._render_plan()

    async def _read_worlds(self, queues: list[str]) -> None:
        """The target queues' compute environments (two calls a queue), then the plan again, checked."""
        from batchtui.actions import read_worlds

        try:
            self.worlds.update(await read_worlds(self.dash.source.api, queues))
        except BatchtuiError as e:  # an unknown queue: nothing could be sent there
            self.checking = set()
            self.plan, self.error = None, str(e)
            self._safe(self.refresh_bindings)
            self._safe(self._render_plan)
            return
        except Exception as e:  # noqa: BLE001 – a source that cannot read capacity: the plan says the fit is unchecked
            why = f"not readable from this source ({type(e).__name__})"
            self.worlds.update({q: World(None, missing=(why,)) for q in queues})
        self.checking = set()
        self._safe(self.replan)

    def recolor(self) -> None:
        """The theme changed while open: the plan and its keys again, in its colours."""
        if self.is_mounted:
            self._render_plan()

    def _render_plan(self) -> None:
        t = Text()
        if self.warning and self.state == "plan":
            t.append(f"⚠ {printable(self.warning)}\n\n", pal.style(Role.WARNING, bold=True))
        if self.plan is None:
            t.append(f"Cannot plan this: {printable(str(self.error))}", pal.style(Role.FAILED, bold=True))
        else:
            t.append(printable_lines(self.plan.summary()), pal.style(Role.FAILED, bold=True) if self.plan.refused else
                     pal.style(Role.TEXT))
            if self.state == "plan" and not self.plan.empty:
                t.append("\n\nNothing has been sent yet.", pal.style(Role.MUTED))
        if self.state == "plan" and self.checking:
            t.append(f"\n… checking what {', '.join(sorted(self.checking))} can hold",
                     pal.style(Role.WARNING, bold=True))
        if self.state == "plan" and self.edited is not None:
            t.append(f"\n{self.edited or 'the changes were edited: Enter applies them'}",
                     pal.style(Role.WARNING, bold=True))
        for line in self.lines:
            t.append("\n")
            t.append_text(line)
        self.query_one("#action-plan", Static).update(t)
        keys = Text()
        if self.state == "plan":
            if self.sendable:
                keys.append(" y ", Style(bgcolor=pal.color(Role.SUCCEEDED), color=pal.color(Role.ON_FILL), bold=True))
                keys.append(f" {'retry' if self.kind == 'retry' else 'cancel'} now   ", Style(bold=True))
            if self.kind == "retry":
                keys.append(" d ", Style(reverse=True))
                keys.append(f" downstream: {'on' if self.downstream else 'off'}   ")
                keys.append(" Tab ", Style(reverse=True))
                keys.append(" changes   ")
            keys.append(" Esc ", Style(reverse=True))
            keys.append(" back, nothing sent")
        elif self.state == "running":
            keys.append("running… (Esc closes this window; the calls go on)", pal.style(Role.WARNING, bold=True))
        else:
            keys.append(" Esc ", Style(reverse=True))
            keys.append(" close")
        self.query_one("#action-keys", Static).update(keys)

    @on(Input.Changed, "#action-reason")
    def _reason_changed(self, event: Input.Changed) -> None:
        from batchtui.plan import check_reason

        if self.state != "plan":
            return
        try:
            self.reason = check_reason(event.value) if event.value.strip() else None
        except BatchtuiError as e:
            self.notify(str(e), severity="error")
            return
        self.replan()

    @on(Input.Submitted, "#action-reason")
    def _reason_submitted(self) -> None:
        self.query_one("#action-scroll").focus()

    @on(Input.Changed, "#action-changes")
    def _changes_edited(self, event: Input.Changed) -> None:
        if self.state != "plan":
            return
        self.edited = None if event.value.strip() == self.changes.text() else ""
        self.refresh_bindings()
        self._render_plan()

    @on(Input.Submitted, "#action-changes")
    def _changes_submitted(self, event: Input.Submitted) -> None:
        if self.state != "plan":
            return
        try:
            self.changes = Overrides.parse(event.value)
        except ValueError as e:
            self.edited = f"✘ {e}: nothing applied"
            self.refresh_bindings()
            self._render_plan()
            return
        self.edited = None
        self.replan()
        self.query_one("#action-scroll").focus()

    # --- keys ------------------------------------------------------------------------------------------------

    def action_toggle_downstream(self) -> None:
        if self.kind == "retry" and self.state == "plan":
            self.downstream = not self.downstream
            self.replan()

    def action_confirm(self) -> None:
        if not self.sendable or self.plan is None:
            return  # a second press, nothing to do, changes not applied or not checked yet: never sent twice
        self.state = "running"
        self.refresh_bindings()
        for box in self.query(Input):
            box.disabled = True
        self._render_plan()
        # An app worker, not this screen's: closing the window must not cancel calls half way.
        self.app.run_worker(self.run_plan(self.plan), group="action", exit_on_error=False)

    def action_close(self) -> None:
        self.dismiss(self.state != "plan")

    # --- running ---------------------------------------------------------------------------------------------

    async def run_plan(self, plan: Plan) -> None:
        from batchtui.actions import perform

        source: Any = self.dash.source
        with self.dash.sending():
            await self._perform(perform, source, plan)

    async def _perform(self, perform: Any, source: Any, plan: Plan) -> None:
        try:
            # perform() audits with the client's own profile (`--profile`), region and endpoint.
            outcome, audit_error = await perform(source.api, plan, self._progress, registry=self.dash.registry)
        except BatchtuiError as e:  # already executed, actions disabled, or the intent could not be recorded
            self._add(Text(f"Not sent: {e}", pal.style(Role.FAILED, bold=True)))
            self.state = "done"
            self._safe(self._render_plan)
            self.dash.notify(f"Not sent: {e}", severity="error")
            return
        except Exception as e:  # noqa: BLE001 - show it; the app must not die with an action half reported
            self._add(Text(f"Unexpected error: {type(e).__name__}: {e}", pal.style(Role.FAILED, bold=True)))
            self.state = "done"
            self._safe(self._render_plan)
            self.dash.notify(f"{plan.kind} stopped: unexpected error {type(e).__name__}: {e}", severity="error")
            return
        self._add(Text(outcome.summary(), pal.style(Role.SUCCEEDED if outcome.ok else Role.FAILED, bold=True)))
        self._keep_waiting(plan, outcome)
        if audit_error is not None:
            self._add(Text(f"⚠ {audit_error}", pal.style(Role.WARNING, bold=True)))
        self.state = "done"
        self._safe(self._render_plan)
        self._safe(self.refresh_bindings)
        self.dash.notify(outcome.summary().splitlines()[0], title=plan.kind.capitalize(),
                         severity="information" if outcome.ok else "error")
        from batchtui.execute import accepted_cancels, submitted_jobs

        now = self.dash.data_now()
        self.dash.cancel_accepted(accepted_cancels(outcome, now))
        self.dash.retries_submitted(submitted_jobs(outcome, int(now.timestamp() * 1000)))
        self.dash.start_refresh()

    def _keep_waiting(self, plan: Plan, outcome: Any) -> None:
        """The waiting steps become a pending plan this dashboard moves on at each refresh (ui/plans.py)."""
        if not plan.waiting:
            return
        from batchtui.actions import waiting_queue

        try:
            raw = self.dash.raw
            stored = self.dash.plan_watch.keep(plan, outcome, waiting_queue(plan, raw) if raw else "")
        except (OSError, BatchtuiError) as e:
            self._add(Text(f"✘ the {len(plan.waiting)} waiting step(s) were not kept: {e}",
                           pal.style(Role.FAILED, bold=True)))
            return
        if stored is None:
            self._add(Text(f"✘ the {len(plan.waiting)} waiting step(s) were not kept: not every call before them "
                           "was made", pal.style(Role.FAILED, bold=True)))
            return
        self._add(Text(f"Kept plan {stored.plan_id}: {len(stored.steps)} waiting step(s), submitted by batchtui "
                       f"once their condition holds (batchtui plans lists it)", pal.style(Role.SUCCEEDED, bold=True)))

    def _progress(self, p: Any) -> None:
        # Short lines while it runs; the outcome below lists every step with its result.
        if p.step is None:
            self._add(Text(f"… {p.message}", pal.style(Role.MUTED)))
        elif p.result is None:
            self._add(Text(f"… sending {p.step + 1}/{p.total}: {self.plan_op(p.step)}", pal.style(Role.MUTED)))
        elif not p.result.ok:
            self._add(Text(f"✘ step {p.step + 1} failed: {p.result.error}", pal.style(Role.FAILED, bold=True)))

    def plan_op(self, step: int) -> str:
        return self.plan.calls[step].operation if self.plan and step < len(self.plan.calls) else "call"

    def _add(self, line: Text) -> None:
        """A line of progress or outcome; they quote AWS (a step's error, a job name): made printable here, once."""
        self.lines.append(Text(printable_lines(line.plain), style=line.style))
        self._safe(self._render_plan)
        self._safe(lambda: self.query_one("#action-scroll").scroll_end(animate=False))

    @staticmethod
    def _safe(draw: Any) -> None:
        try:
            draw()
        except Exception:  # noqa: BLE001 - the window may have been closed while the calls go on
            pass
