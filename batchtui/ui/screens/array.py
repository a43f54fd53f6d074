"""One array job: every index as a cell, a legend with counts by status, a filter, and the selected index's story."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Input, Static

from batchtui.analysis import analyze
from batchtui.lineage import Repair, join
from batchtui.model import DependencyType, IndexDetail, Job, Status
from batchtui.sanitize import printable as clean
from batchtui.ui import filters
from batchtui.ui import format as fmt
from batchtui.ui import palette as pal
from batchtui.ui.events import failure_text
from batchtui.ui.insight import explain_index
from batchtui.ui.palette import Role
from batchtui.ui.partners import Partner, downstream, upstream
from batchtui.ui.screens.base import DashboardScreen
from batchtui.ui.widgets.index_grid import IndexGrid
from batchtui.ui.widgets.status_bar import StatusBar

COMPACT_BELOW = 100  # screen columns under which the legend collapses
SIDE_FULL, SIDE_COMPACT = 34, 24

class ArrayScreen(DashboardScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="array.back"),
        Binding("slash", "filter", "Filter", id="array.filter"),
        Binding("n", "next_match(1)", "Next match", id="array.next"),
        Binding("N", "next_match(-1)", "Prev match", id="array.prev", key_display="N"),
        Binding("space", "mark", "Mark", id="array.mark"),
        Binding("a", "mark_matches", "Mark matches", show=False, id="array.mark_matches"),
        Binding("U", "clear_marks", "Unmark all", show=False, key_display="U", id="array.unmark"),
    ]

    def __init__(self, job_id: str, index: int = 0) -> None:
        super().__init__()
        self.job_id = job_id
        self._start_index = index
        self._filter: filters.Filter | None = None
        self._mask: bytes | None = None
        self._matches: list[int] = []
        self.marked: set[int] = set()

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="array-title")
        yield Input(id="array-filter", classes="filter-input",
                    placeholder="/ filter: status:FAILED  exit:137  100-199  reason:memory  doomed  !status:SUCCEEDED  "
                                "(same kind = or, different kinds = and)")
        with Horizontal(id="array-body"):
            with Vertical(id="grid-panel", classes="panel"):
                yield IndexGrid(id="grid")
            with VerticalScroll(id="side", classes="panel"):
                yield Static(id="legend")
                yield Static(id="index-info")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#side").border_title = "Legend"
        grid = self.query_one(IndexGrid)
        grid.focus()
        job = self.job
        if job is not None and job.array is not None:
            grid.set_data(job.array.statuses, doomed=self._doomed(job))
            grid.move_to(self._start_index)

    @property
    def job(self) -> Job | None:
        snap = self.dash.snap
        return snap.job(self.job_id) if snap else None

    def _doomed(self, job: Job) -> bytes:
        """1 per index that has not finished but can no longer succeed (the grid draws them apart, `doomed` filters)."""
        snap = self.dash.snap
        return analyze(snap).doomed_mask.get(job.job_id, b"") if snap is not None else b""

    def _repair(self) -> Repair | None:
        """This array's retries joined back (from what AWS has: the dashboard's raw snapshot)."""
        raw = self.dash.raw
        return join(raw).of(self.job_id) if raw is not None else None

    def _retried(self, job: Job) -> bytes:
        """1 per index a retry re-ran (the `retried` filter)."""
        repair = self._repair()
        if repair is None or job.array is None:
            return b""
        out = bytearray(job.array.size)
        for i in repair.latest:
            if 0 <= i < len(out):
                out[i] = 1
        return bytes(out)

    @property
    def grid(self) -> IndexGrid:
        return self.query_one(IndexGrid)

    def snapshot_changed(self) -> None:
        job = self.job
        if job is None or job.array is None:
            self.query_one("#array-title", Static).update(Text("this job is no longer in the snapshot",
                                                                    pal.style(Role.MUTED)))
            super().snapshot_changed()
            return
        if self._filter is not None:
            self._apply(self._filter, job)
        self.grid.set_data(job.array.statuses, self._mask, frozenset(self.marked), self._doomed(job))
        self._render_title(job)
        self._render_legend(job)
        self._render_index(job, self.grid.cursor)
        super().snapshot_changed()

    # --- rendering ------------------------------------------------------------------------------------------

    def _render_title(self, job: Job) -> None:
        snap = self.dash.snap
        t = Text()
        t.append(f" {clean(job.job_name)} ", Style(color=pal.color(Role.BRIGHT), bold=True, reverse=True))
        t.append(f"  ▦ array of {job.array.size:,}" if job.array else "", pal.style(Role.BRIGHT, bold=True))
        if job.sequential:
            t.append("  ↻ sequential", pal.style(Role.KEY))
        t.append("  ")
        t.append_text(fmt.status_text(job.status))
        elapsed = fmt.elapsed_s(job, self.dash.data_now())
        if elapsed is not None:
            t.append(f"  {fmt.duration(elapsed)}", pal.style(Role.MUTED))
        if snap is not None:
            # upstream() of the whole job (index None) calls every edge "whole job": the N:N mark comes from the edge.
            ups = [p.name + (" N:N" if job.dependency_type(p.job_id) == DependencyType.N_TO_N else "")
                   for p in upstream(snap, job, None)]
            downs = [d.job_name for d in snap.downstream_of(job.job_id)]
            if ups:
                t.append(clean(f"   after {', '.join(ups)}"), pal.style(Role.MUTED))
            if downs:
                t.append(clean(f"   → {', '.join(downs)}"), pal.style(Role.MUTED))
        t.append(f"   {job.job_id}", pal.style(Role.FAINT))
        self.query_one("#array-title", Static).update(t)
        panel = self.query_one("#grid-panel")
        panel.border_title = clean(f"{job.job_name} · {job.array.size:,} indices" if job.array else job.job_name)
        if self._filter is not None and self._filter.terms:
            n = len(self._matches)
            panel.border_subtitle = f"filter {self._filter.text!r}: {n:,} match{'es' * (n != 1)} · n/N to jump"
        else:
            panel.border_subtitle = "arrows/PgUp/PgDn/Home/End move · click picks · Enter opens"

    def _compact(self) -> bool:
        return 0 < self.app.size.width < COMPACT_BELOW

    def _render_legend(self, job: Job) -> None:
        assert job.array is not None
        raw = job.array.statuses
        size = len(raw)
        t = Text()
        # On a narrow screen the legend collapses: statuses with no index and the percentages give way, so the
        # grid keeps most of the width (at 80×24 the full legend took 34 of 80 columns).
        compact = self._compact()
        self.query_one("#side").styles.width = SIDE_COMPACT if compact else SIDE_FULL
        for st in fmt.LEGEND_ORDER:
            n = raw.count(st)
            if (st is Status.UNKNOWN or compact) and not n:
                continue
            t.append("██ ", pal.status_style(st))
            t.append(f"{st.name:<{9 if compact else 10}}", pal.style(Role.TEXT if n else Role.FAINT, bold=bool(n)))
            t.append(f"{n:>7,}", pal.style(Role.TEXT if n else Role.FAINT))
            pct = f" {100 * n / size:5.1f}%" if size and not compact else ""
            t.append(f"{pct}\n", pal.style(Role.MUTED))
        if self.marked:
            t.append("██ ", pal.style(Role.MARK))
            t.append(f"{'marked':<10}{len(self.marked):>7,}\n", pal.style(Role.MARK, bold=True))
        done = job.array.finished()
        t.append(f"\n{done:,} of {size:,} finished", pal.style(Role.BRIGHT, bold=True))
        t.append(f" ({100 * done // size if size else 0}%)", pal.style(Role.MUTED))
        repair = self._repair()
        if repair is not None and repair.latest:
            t.append("\n↻ ", pal.style(Role.KEY, bold=True))
            t.append(f"{repair.summary()} (/retried)", pal.style(Role.TEXT))
        insight = self.dash.insights.get(job.job_id)
        if insight is not None:
            if insight.doomed and insight.cancel is None:  # doomed by the cancel: said below
                t.append("\n██ ", Style(color=self.grid.doomed_color))
                t.append(f"{insight.doomed:,} more can no longer succeed (/doomed)",
                         pal.status_style(Status.FAILED))
            if insight.cancel is not None:
                t.append("\n⊘ ", pal.style(Role.CANCELLED, bold=True))
                t.append(insight.cancel, pal.style(Role.CANCELLED))
            if insight.outlook:
                t.append("\noutlook ", pal.style(Role.MUTED))
                t.append(insight.outlook, Style(color=fmt.outlook_color(insight.outlook), bold=True))
                if insight.index_cancels is not None:  # the array ends FAILED, because of the user's cancels
                    t.append(f": {insight.index_cancels}", pal.style(Role.CANCELLED))
        self.query_one("#legend", Static).update(t)

    def _render_index(self, job: Job, index: int) -> None:
        snap = self.dash.snap
        if job.array is None or snap is None or not 0 <= index < job.array.size:
            return
        status = job.array.status(index)
        d = job.array.details.get(index) or IndexDetail(index)
        t = Text()
        t.append("\n")
        t.append(f"Index {index:,}", pal.style(Role.BRIGHT, bold=True))
        t.append(f"   {clean(job.job_name)}[{index}]\n", pal.style(Role.MUTED))
        t.append_text(fmt.status_text(status))
        if d.exit_code is not None:
            t.append(f"   exit {d.exit_code}", pal.style(Role.BRIGHT if d.exit_code == 0 else Role.FAILED,
                                                                     bold=True))
        t.append("\n")
        if status is Status.FAILED or d.reason:
            t.append(clean(failure_text(None, d.reason, d.status_reason)) + "\n", pal.style(Role.TEXT))
        if d.started_at:
            t.append(f"started {fmt.clock_time(d.started_at)}", pal.style(Role.MUTED))
            if d.stopped_at:
                t.append(f" · ran {fmt.duration((d.stopped_at - d.started_at) / 1000)}", pal.style(Role.MUTED))
            t.append("\n")
        if len(d.attempts) > 1:
            t.append(f"{len(d.attempts)} attempts\n", pal.style(Role.MUTED))
        repair = self._repair()
        runs = repair.runs(index) if repair is not None else ()
        if runs:
            first, now = runs
            t.append("↻ retried as ", pal.style(Role.KEY, bold=True))
            where = f"[{now.child}]" if now.child is not None else ""
            t.append(f"{clean(now.job_name)}{where}\n", pal.style(Role.TEXT))
            t.append("  first run: ", pal.style(Role.MUTED))
            t.append_text(fmt.status_text(first.status))
            if first.detail is not None and first.status is Status.FAILED:
                t.append(" " + clean(fmt.truncate(failure_text(first.detail.exit_code, first.detail.reason,
                                                              first.detail.status_reason), 60)), pal.style(Role.MUTED))
            t.append("\n")
        why = explain_index(snap, job.job_id, index)
        if why is not None:
            t.append("\nwhy: ", pal.style(Role.KEY, bold=True))
            t.append(clean(why.summary) + "\n", pal.style(Role.TEXT))
        insight = self.dash.insights.get(job.job_id)
        if insight is not None and insight.waiting_text and job.array.status(index) is Status.RUNNABLE:
            t.append("capacity: ", pal.style(Role.WARNING, bold=True))
            t.append(clean(insight.waiting_text) + "\n", pal.style(Role.TEXT))
            if insight.waiting_fix:
                t.append("fix: ", pal.style(Role.MUTED))
                t.append(clean(insight.waiting_fix) + "\n", pal.style(Role.TEXT))
        ups, downs = upstream(snap, job, index), downstream(snap, job, index)
        if ups:
            t.append("\nwaits for\n", pal.style(Role.BRIGHT, bold=True))
            for p in ups:
                t.append_text(_partner_line(p))
        if downs:
            t.append("\nfeeds\n", pal.style(Role.BRIGHT, bold=True))
            for p in downs:
                t.append_text(_partner_line(p))
        t.append("\nN:N same index · seq next/previous · all whole job", pal.style(Role.MUTED))
        t.append("\nEnter: details and log" + (" (of the latest run)" if runs else ""), pal.style(Role.MUTED))
        self.query_one("#index-info", Static).update(t)

    # --- interaction ----------------------------------------------------------------------------------------

    @on(IndexGrid.Moved)
    def _moved(self, event: IndexGrid.Moved) -> None:
        job = self.job
        if job is not None:
            self._render_index(job, event.index)

    @on(IndexGrid.Opened)
    def _opened(self, event: IndexGrid.Opened) -> None:
        self.dash.open_index(self.job_id, event.index)

    def action_back(self) -> None:
        box = self.query_one("#array-filter", Input)
        if box.has_focus:
            self.grid.focus()
            return
        self.dismiss()

    def action_filter(self) -> None:
        self.query_one("#array-filter", Input).focus()

    def set_filter(self, text: str) -> None:
        box = self.query_one("#array-filter", Input)
        box.value = text
        self._submit(text)

    @on(Input.Submitted, "#array-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._submit(event.value)

    def _submit(self, text: str) -> None:
        job = self.job
        try:
            flt = filters.parse(text)
        except filters.FilterError as e:
            self.notify(str(e), title="filter", severity="error")
            return
        self._filter = flt if flt.terms else None
        if job is None or job.array is None:
            return
        if self._filter is None:
            self._mask, self._matches = None, []
        else:
            self._apply(self._filter, job)
        self.grid.set_data(job.array.statuses, self._mask, frozenset(self.marked), self._doomed(job))
        self._render_title(job)
        self.grid.focus()
        if self._matches and self.grid.cursor not in self._matches:
            self.action_next_match(1)
        elif self._filter is not None and not self._matches:
            self.notify(f"no index matches {flt.text!r}", title="filter", severity="warning")

    def _apply(self, flt: filters.Filter, job: Job) -> None:
        assert job.array is not None
        self._mask = flt.mask(job.array, self._doomed(job), self._retried(job))
        self._matches = filters.matches(self._mask)

    # --- marks and actions -----------------------------------------------------------------------------------

    def action_mark(self) -> None:
        self.marked ^= {self.grid.cursor}
        self._marks_changed()

    def action_mark_matches(self) -> None:
        if not self._matches:
            self.notify("no filter matches to mark (/ to filter first)", severity="warning")
            return
        self.marked |= set(self._matches)
        self._marks_changed()

    def action_clear_marks(self) -> None:
        self.clear_marks()

    def clear_marks(self) -> None:
        self.marked.clear()
        self._marks_changed()

    def _marks_changed(self) -> None:
        job = self.job
        if job is not None and job.array is not None:
            self.grid.set_data(job.array.statuses, self._mask, frozenset(self.marked), self._doomed(job))
            self._render_legend(job)
            panel = self.query_one("#grid-panel")
            if self.marked:
                panel.border_subtitle = f"{len(self.marked):,} marked · R retry · ctrl+k cancel · U unmark"
            else:
                self._render_title(job)

    def picked_targets(self):
        from batchtui.plan import Selection, describe_indices

        job = self.job
        if job is None or job.array is None:
            return None
        indices = sorted(self.marked) or [self.grid.cursor]
        return [Selection(self.job_id, frozenset(indices))], describe_indices(job.job_name, indices)

    def action_next_match(self, step: int) -> None:
        if not self._matches:
            self.notify("no filter matches to jump between (/ to filter)", severity="information")
            return
        cur = self.grid.cursor
        if step > 0:
            nxt = next((i for i in self._matches if i > cur), self._matches[0])
        else:
            nxt = next((i for i in reversed(self._matches) if i < cur), self._matches[-1])
        self.grid.move_to(nxt)


RELATION = {"N:N": "N:N", "sequential": "seq", "whole job": "all"}


def _partner_line(p: Partner) -> Text:
    t = Text("  ")
    t.append(f"{fmt.truncate(p.name, 11):<12}", pal.style(Role.TEXT))
    t.append_text(fmt.status_text(p.status, bold=False))
    t.append(" " * max(1, 10 - len(p.status.name)) + RELATION.get(p.relation, p.relation) + "\n", pal.style(Role.MUTED))
    return t
