"""Retry and cancel from the dashboard: the plan first (exact calls, jobs, indices, reason), then, once confirmed,
progress and the outcome – through the same planner and executor as `batchtui retry|cancel`, audited the same way.

Confirming runs the plan shown, exactly once: the confirm key is ignored after the first press, and the executor's
registry refuses a plan it has run already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from batchtui.errors import BatchtuiError

if TYPE_CHECKING:
    from batchtui.plan import Plan, Selection
    from batchtui.ui.app import BatchtuiApp

MUTED = Style(color="#8b949e")
GOOD = Style(color="#3fb950", bold=True)
BAD = Style(color="#f85149", bold=True)
WARN = Style(color="#e3b341", bold=True)


def make_plan(snap, kind: str, selections: list[Selection], *, reason: str | None = None,
              downstream: bool = False) -> Plan:
    from batchtui.plan import KIND_CANCEL, default_reason, plan_cancel, plan_retry

    if kind == KIND_CANCEL:
        return plan_cancel(snap, selections, reason or default_reason())
    return plan_retry(snap, selections, downstream=downstream)


class ActionScreen(ModalScreen[bool]):
    """Shows a plan; `y`/Enter runs it; Esc goes back (or closes once it ran). Dismisses True if anything ran."""

    BINDINGS = [
        Binding("y", "confirm", "Confirm", id="action.confirm"),
        Binding("d", "toggle_downstream", "Downstream on/off", id="action.downstream"),
        Binding("escape", "close", "Back", id="action.close"),
    ]

    def __init__(self, kind: str, selections: list[Selection], what: str) -> None:
        super().__init__()
        self.kind = kind
        self.picked = selections
        self.what = what  # "JobB[17], JobB[42]" – for the title
        self.downstream = False
        self.reason: str | None = None
        self.plan: Plan | None = None
        self.state = "plan"  # plan → running → done
        self.lines: list[Text] = []
        self.error: str | None = None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_downstream":
            return self.kind == "retry" and self.state == "plan"
        if action == "confirm":
            return self.state == "plan" and self.plan is not None and not self.plan.empty
        return True

    @property
    def dash(self) -> BatchtuiApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        from batchtui.plan import KIND_CANCEL, default_reason

        with Vertical(id="action-box"):
            with VerticalScroll(id="action-scroll"):
                yield Static(id="action-plan")
            if self.kind == KIND_CANCEL:
                yield Input(default_reason(), id="action-reason", placeholder="reason recorded with the jobs")
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
        reserved = 4 + 2 + (4 if self.query("#action-reason") else 0)
        self.query_one("#action-scroll").styles.max_height = max(3, min(30, int(height * 0.85) - reserved))

    # --- planning --------------------------------------------------------------------------------------------

    def replan(self) -> None:
        snap = self.dash.raw or self.dash.snap  # real job ids and lineage tags, not the folded view
        try:
            if snap is None:
                raise BatchtuiError("no snapshot yet: wait for the first refresh")
            self.plan = make_plan(snap, self.kind, self.picked, reason=self.reason, downstream=self.downstream)
            self.error = None
        except BatchtuiError as e:
            self.plan, self.error = None, str(e)
        self._render_plan()

    def _render_plan(self) -> None:
        t = Text()
        if self.plan is None:
            t.append(f"Cannot plan this: {self.error}", BAD)
        else:
            t.append(self.plan.summary(), Style(color="#e6edf3"))
            if self.state == "plan" and not self.plan.empty:
                t.append("\n\nNothing has been sent yet.", MUTED)
        for line in self.lines:
            t.append("\n")
            t.append_text(line)
        self.query_one("#action-plan", Static).update(t)
        keys = Text()
        if self.state == "plan":
            if self.plan is not None and not self.plan.empty:
                keys.append(" y ", Style(bgcolor="#238636", color="#ffffff", bold=True))
                keys.append(f" {'retry' if self.kind == 'retry' else 'cancel'} now   ", Style(bold=True))
            if self.kind == "retry":
                keys.append(" d ", Style(reverse=True))
                keys.append(f" downstream: {'on' if self.downstream else 'off'}   ")
            keys.append(" Esc ", Style(reverse=True))
            keys.append(" back, nothing sent")
        elif self.state == "running":
            keys.append("running… (Esc closes this window; the calls go on)", WARN)
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

    # --- keys ------------------------------------------------------------------------------------------------

    def action_toggle_downstream(self) -> None:
        if self.kind == "retry" and self.state == "plan":
            self.downstream = not self.downstream
            self.replan()

    def action_confirm(self) -> None:
        if self.state != "plan" or self.plan is None or self.plan.empty:
            return  # a second press, or nothing to do: never sent twice
        self.state = "running"
        self.refresh_bindings()
        reason = self.query("#action-reason")
        if reason:
            reason.first(Input).disabled = True
        self._render_plan()
        # An app worker, not this screen's: closing the window must not cancel calls half way.
        self.app.run_worker(self.run_plan(self.plan), group="action", exit_on_error=False)

    def action_close(self) -> None:
        self.dismiss(self.state != "plan")

    # --- running ---------------------------------------------------------------------------------------------

    async def run_plan(self, plan: Plan) -> None:
        from batchtui.actions import perform

        source: Any = self.dash.source
        self.dash.actions_running += 1
        try:
            await self._perform(perform, source, plan)
        finally:
            self.dash.actions_running -= 1

    async def _perform(self, perform: Any, source: Any, plan: Plan) -> None:
        try:
            # perform() audits with the client's own profile (`--profile`), region and endpoint.
            outcome, audit_error = await perform(source.api, plan, self._progress, registry=self.dash.registry)
        except BatchtuiError as e:  # already executed, actions disabled, or the intent could not be recorded
            self._add(Text(f"Not sent: {e}", BAD))
            self.state = "done"
            self._safe(self._render_plan)
            self.dash.notify(f"Not sent: {e}", severity="error")
            return
        except Exception as e:  # noqa: BLE001 - show it; the app must not die with an action half reported
            self._add(Text(f"Unexpected error: {type(e).__name__}: {e}", BAD))
            self.state = "done"
            self._safe(self._render_plan)
            self.dash.notify(f"{plan.kind} stopped: unexpected error {type(e).__name__}: {e}", severity="error")
            return
        self._add(Text(outcome.summary(), GOOD if outcome.ok else BAD))
        if audit_error is not None:
            self._add(Text(f"⚠ {audit_error}", WARN))
        self.state = "done"
        self._safe(self._render_plan)
        self._safe(self.refresh_bindings)
        self.dash.notify(outcome.summary().splitlines()[0], title=plan.kind.capitalize(),
                         severity="information" if outcome.ok else "error")
        self.dash.start_refresh()

    def _progress(self, p: Any) -> None:
        # Short lines while it runs; the outcome below lists every step with its result.
        if p.step is None:
            self._add(Text(f"… {p.message}", MUTED))
        elif p.result is None:
            self._add(Text(f"… sending {p.step + 1}/{p.total}: {self.plan_op(p.step)}", MUTED))
        elif not p.result.ok:
            self._add(Text(f"✘ step {p.step + 1} failed: {p.result.error}", BAD))

    def plan_op(self, step: int) -> str:
        return self.plan.calls[step].operation if self.plan and step < len(self.plan.calls) else "call"

    def _add(self, line: Text) -> None:
        self.lines.append(line)
        self._safe(self._render_plan)
        self._safe(lambda: self.query_one("#action-scroll").scroll_end(animate=False))

    @staticmethod
    def _safe(draw: Any) -> None:
        try:
            draw()
        except Exception:  # noqa: BLE001 - the window may have been closed while the calls go on
            pass
