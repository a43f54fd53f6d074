"""The Plans view (`W`, `:plans`, the command palette's "Waiting plans"): every pending plan – retry steps batchtui
sends itself once their condition holds (waitplans.py) – with its steps (waiting, blocked and why with the fix,
submitting, submitted with the job id, dropped and why), what each waits for in words, and when and by which process
it was made. ctrl+k cancels the plan under the cursor after a confirmation, exactly as `batchtui plans cancel ID`
(never under --readonly); Enter opens the job the plan waits for. The files are read again at every refresh and
after each plan event, so the view follows the plans as they move on.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Group, RenderableType
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from batchtui import waitplans
from batchtui.errors import BatchtuiError
from batchtui.plan import os_user
from batchtui.sanitize import printable as clean
from batchtui.ui import palette as pal
from batchtui.ui.palette import Role
from batchtui.ui.plans import created_text, plan_detail, steps_text, waits_for
from batchtui.ui.screens.base import DashboardScreen
from batchtui.ui.widgets.status_bar import StatusBar

COLUMNS = ("Plan", "Created", "By", "Steps", "Waits for")


class PlansScreen(DashboardScreen):
    BINDINGS = [
        Binding("escape,W", "back", "Back", id="plans.back"),
        Binding("ctrl+k", "cancel_plan", "Cancel plan", id="plans.cancel"),
    ]

    def __init__(self) -> None:
        super().__init__(id="plans")
        self.plans: list[waitplans.StoredPlan] = []
        self.problems: list[str] = []
        self.shown: RenderableType = ""  # the steps panel's content, as last drawn

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Vertical(id="plans-panel", classes="panel"):
            yield DataTable(id="plans-table", cursor_type="row", zebra_stripes=False)
        with VerticalScroll(id="plan-detail-panel", classes="panel"):
            yield Static(id="plan-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in COLUMNS:
            table.add_column(label, key=label)
        self.query_one("#plan-detail-panel").border_title = "Steps"
        table.focus()
        super().on_mount()
        if self.dash.snap is None:  # no refresh yet: the plan files are there all the same
            self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_plan" and self.dash.readonly:
            return False  # not shown, not run: --readonly changes nothing
        return super().check_action(action, parameters)

    # --- drawing ------------------------------------------------------------------------------------------------

    def snapshot_changed(self) -> None:
        self.reload()  # a refresh (or a plan event): the rounds may have moved the plans on
        super().snapshot_changed()

    def recolor(self) -> None:
        self.reload()
        super().recolor()

    def reload(self) -> None:
        """Read the plan files again and redraw, the cursor staying on the plan it was on."""
        try:
            table = self.query_one(DataTable)
        except NoMatches:  # not composed yet: on_mount draws it
            return
        on_plan = self.current()  # before the list changes: the plan the cursor is on, not the row
        plans, self.problems = waitplans.list_plans(self.dash.plan_watch.where())
        self.plans = [p for p in plans if p.state == waitplans.PENDING]
        table.clear()
        now = self.dash.now()
        for p in self.plans:
            table.add_row(Text(p.plan_id, pal.style(Role.TEXT, bold=True)), created_text(p, now),
                          clean(p.user), steps_text(p), waits_for(p), key=p.plan_id)
        if on_plan is not None and on_plan.plan_id in {p.plan_id for p in self.plans}:
            table.move_cursor(row=table.get_row_index(on_plan.plan_id))
        n = len(self.plans)
        self.query_one("#plans-panel").border_title = f"Waiting plans · {n} pending" if n else "Waiting plans"
        self._detail()

    def current(self) -> waitplans.StoredPlan | None:
        table = self.query_one(DataTable)
        if not self.plans or not 0 <= table.cursor_row < len(self.plans):
            return None
        return self.plans[table.cursor_row]

    def _detail(self) -> None:
        plan = self.current()
        parts: list[RenderableType] = []
        if plan is not None:
            parts.append(plan_detail(plan, self.dash.now()))
        else:
            parts.append(Text(f"No pending plans (in {self.dash.plan_watch.where()}). A retry with downstream of "
                              "a pipeline still running keeps its waiting steps here until batchtui sends them.",
                              pal.style(Role.MUTED)))
        for problem in self.problems:  # never executed; said every time it is seen
            parts.append(Text(f"\n{clean(problem)}", pal.style(Role.WARNING, bold=True)))
        keys = "Enter opens the job it waits for · " + ("" if self.dash.readonly else "ctrl+k cancels the plan · ")
        parts.append(Text(f"\n{keys}Esc goes back", pal.style(Role.MUTED)))
        self.shown = Group(*parts)
        self.query_one("#plan-detail", Static).update(self.shown)

    @on(DataTable.RowHighlighted, "#plans-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    # --- keys ---------------------------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#plans-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        """Enter: the job the plan's first open step waits for, where its progress shows."""
        plan, snap = self.current(), self.dash.snap
        step = next((s for s in plan.steps if s.open), None) if plan is not None else None
        found = [j for c in step.conditions if (j := snap.job(c.job_id)) is not None] \
            if step is not None and snap is not None else []
        job = found[0] if found else None
        if job is None:
            self.notify("the job this plan waits for is not in this queue's snapshot", severity="warning")
            return
        self.dash.open_job(job.job_id)

    def action_back(self) -> None:
        self.dismiss()

    def action_cancel_plan(self) -> None:
        plan = self.current()
        if plan is None or self.dash.readonly:
            return
        def answered(yes: bool | None) -> None:
            if yes:
                self._cancel(plan.plan_id)

        self.app.push_screen(CancelPlanScreen(plan), answered)

    @work(group="plans-cancel", exclusive=True, exit_on_error=False)
    async def _cancel(self, plan_id: str) -> None:
        # waitplans.cancel waits (up to 10 s, blocking) for a round that holds the plan's lock: in a thread
        directory: Path = self.dash.plan_watch.where()
        try:
            plan = await asyncio.to_thread(waitplans.cancel, plan_id, os_user(), directory)
        except BatchtuiError as e:
            self.notify(clean(str(e)), severity="error", title="Plan not cancelled")
            return
        self.notify(f"plan {plan.plan_id} cancelled: {plan.waiting} step(s) will not be submitted "
                    f"({plan.count(waitplans.SUBMITTED)} were already)", title="Plan cancelled")
        self.reload()


class CancelPlanScreen(ModalScreen[bool]):
    """Cancel this plan? y cancels it, n or Esc keeps it."""

    BINDINGS = [Binding("y", "yes", "Cancel the plan", id="plans.cancel.yes"),
                Binding("n,escape", "no", "Keep it", id="plans.cancel.no")]

    def __init__(self, plan: waitplans.StoredPlan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        p = self.plan
        names = ", ".join(clean(s.name) for s in p.steps if s.open)
        text = Text(f"Cancel plan {p.plan_id}?\n\n", pal.style(Role.BRIGHT, bold=True))
        text.append(f"Its {p.waiting} step(s) still to be sent ({names}) will not be submitted; ", pal.style(Role.TEXT))
        sent = p.count(waitplans.SUBMITTED)
        text.append((f"the {sent} already submitted stay submitted. " if sent else "") + "Nothing is sent to AWS.\n\n",
                    pal.style(Role.SOFT))
        text.append("y", pal.style(Role.KEY, bold=True))
        text.append(" cancels the plan · ", pal.style(Role.MUTED))
        text.append("n", pal.style(Role.KEY, bold=True))
        text.append(" or ", pal.style(Role.MUTED))
        text.append("Esc", pal.style(Role.KEY, bold=True))
        text.append(" keeps it", pal.style(Role.MUTED))
        with Vertical(id="plan-cancel-box"):
            yield Static(text)

    def on_mount(self) -> None:
        self.query_one("#plan-cancel-box").border_title = "Cancel a waiting plan"

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)
