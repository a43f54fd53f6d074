"""The Failures view (`F`, `:failures`): how many different problems there are, and what to do about each – one row
per failure group across the queue's jobs (triage.py), largest first. Enter opens the group: the array's grid
filtered to it (`group:CAUSE`), or a plain job's detail. `R` opens the retry plan for the whole group with its
repair applied (repair.py: an OOM's memory ×1.5, a timeout's doubled, a dependency failure's upstream retried with
downstream), in the usual plan window, where the changes can still be edited before anything is sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from batchtui.model import Snapshot
from batchtui.plan import describe_indices, format_indices
from batchtui.repair import repair_of
from batchtui.sanitize import printable as clean
from batchtui.triage import FailureGroup, groups_of
from batchtui.ui import format as fmt
from batchtui.ui import palette as pal
from batchtui.ui.dashboard import Dashboard, dashboard
from batchtui.ui.palette import Role

CAUSE_ROLE = {"oom": Role.FAILED, "app": Role.FAILED, "spot": Role.WARNING, "timeout": Role.WARNING,
              "start": Role.WARNING, "dependency": Role.MUTED, "cancelled": Role.MUTED}
REPAIR_TEXT = {"retry": "retry as is", "retry-more-memory": "retry with more memory",
               "retry-longer-timeout": "retry with a longer timeout", "fix-first": "fix the code first",
               "retry-upstream": "retry upstream, --downstream", "none": "nothing (on purpose)"}


def failure_rows(snap: Snapshot | None) -> list[tuple[str, FailureGroup]]:
    """(job id, group) for every group of every job, largest first."""
    if snap is None:
        return []
    rows = [(job.job_id, g) for job in snap.jobs for g in groups_of(job)]
    return sorted(rows, key=lambda r: -r[1].count)


def _signature(g: FailureGroup) -> Text:
    """The group's signature; one read from its logs is marked (▤) – a sample of them, said in the foot."""
    text = Text(clean(fmt.truncate(g.label or "–", 40)))
    if g.sampled:
        text = Text("▤ ", pal.style(Role.MUTED)) + text
    return text


def _when(ms: int | None) -> str:
    return fmt.clock_time(datetime.fromtimestamp(ms / 1000, UTC)) if ms else "–"


class FailuresScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,F", "dismiss", "Close", id="failures.close"),
                Binding("enter", "open", "Open the group", id="failures.open"),
                Binding("R", "repair", "Repair the group", id="failures.repair")]

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[tuple[str, FailureGroup]] = []

    @cached_property
    def dash(self) -> Dashboard:
        return dashboard(self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="failures-box"):
            yield DataTable(id="failures-table", cursor_type="row", zebra_stripes=False)
            yield Static(id="failures-foot")

    def on_mount(self) -> None:
        snap = self.dash.snap
        self._rows = failure_rows(snap)
        n = sum(g.count for _, g in self._rows)
        self.query_one("#failures-box").border_title = (
            f"Failures · {n:,} in {len(self._rows)} group{'s' * (len(self._rows) != 1)}")
        table = self.query_one(DataTable)
        for label in ("Job", "Cause", "Count", "Signature", "Indices", "First", "Last", "Repair"):
            table.add_column(label)
        names = {j.job_id: j.job_name for j in snap.jobs} if snap else {}
        for job_id, g in self._rows:
            table.add_row(clean(names.get(job_id, job_id)),
                          Text(g.cause, pal.style(CAUSE_ROLE.get(g.cause, Role.TEXT), bold=True)),
                          Text(f"{g.count:,}", justify="right"), _signature(g),
                          fmt.truncate(format_indices(sorted(g.indices), 3) if g.indices else "–", 24),
                          _when(g.first_ms), _when(g.last_ms), REPAIR_TEXT.get(g.repair, g.repair))
        if not self._rows:
            table.add_row("no failed work in this queue", "", "", "", "", "", "", "")
        repair = "" if self.dash.readonly else " · R retries it with its repair"
        foot = Text(f"Enter opens the group (the grid filtered to it){repair} · Esc closes", pal.style(Role.MUTED))
        if any(g.sampled for _, g in self._rows):
            foot.append("\n▤ the last error line of the logs read (a few per exit code)", pal.style(Role.MUTED))
        if snap is not None and snap.log_note:
            foot.append("\n" + clean(snap.log_note), pal.style(Role.WARNING))
        self.query_one("#failures-foot", Static).update(foot)
        table.focus()

    @on(DataTable.RowSelected, "#failures-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self._rows or not 0 <= table.cursor_row < len(self._rows):
            return
        job_id, group = self._rows[table.cursor_row]
        dash = self.dash
        self.dismiss()
        dash.open_group(job_id, group)

    def action_repair(self) -> None:
        """The group's retry plan, its repair pre-filled: nothing is sent before the plan window's `y`."""
        from batchtui.ui.screens.action import ActionScreen

        table = self.query_one(DataTable)
        if self.dash.readonly or not self._rows or not 0 <= table.cursor_row < len(self._rows):
            return
        job_id, group = self._rows[table.cursor_row]
        snap = self.dash.snap
        r = repair_of(snap, job_id, group) if snap is not None else None
        if snap is None or r is None:
            self.notify("nothing a retry could repair here: no upstream job failed on its own", severity="warning")
            return
        names = {j.job_id: j.job_name for j in snap.jobs}
        what = ", ".join(describe_indices(names.get(s.job_id, s.job_id), sorted(s.indices) if s.indices else None)
                         for s in r.selections)
        self.app.push_screen(ActionScreen("retry", list(r.selections), clean(what), downstream=r.downstream,
                                          changes=r.changes, warning=r.warning))
