"""Home: the pipeline graph, the queue's jobs in dependency order, and the feed of recent events."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.scalar import Scalar
from textual.widgets import DataTable, Footer, Input, Static

from batchtui.model import Snapshot, Status
from batchtui.sanitize import printable as clean
from batchtui.ui import format as fmt
from batchtui.ui import palette as pal
from batchtui.ui.insight import describe_eta, pipeline_eta
from batchtui.ui.palette import Role
from batchtui.ui.screens.base import DashboardScreen
from batchtui.ui.widgets.event_feed import EventFeed
from batchtui.ui.widgets.jobs_table import JobsTable
from batchtui.ui.widgets.pipeline_graph import PipelineGraph
from batchtui.ui.widgets.status_bar import StatusBar


class PipelineScreen(DashboardScreen):
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="pipeline.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="pipeline.clear_filter"),
        Binding("space", "mark", "Mark", id="pipeline.mark"),
        Binding("U", "clear_marks", "Unmark all", show=False, key_display="U", id="pipeline.unmark"),
    ]

    def __init__(self) -> None:
        super().__init__(id="pipeline")
        # How many of the app's events the feed shows, and for which queue (the app's generation). Counted by
        # `events_added`, not len(events): that list is trimmed at MAX_EVENTS, and starts over on a queue switch.
        self._shown_events = 0
        self._events_generation = 0
        self.marked: list[str] = []  # job ids marked for retry/cancel, in the order marked

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Vertical(id="graph-panel", classes="panel"):
            yield PipelineGraph(id="graph")
            yield Static(id="pipeline-summary")
        yield Input(id="jobs-filter", placeholder="filter jobs by name, status or id – Enter to keep, Esc to clear",
                    classes="filter-input")
        with Vertical(id="jobs-panel", classes="panel"):
            yield JobsTable(id="jobs")
        with Vertical(id="feed-panel", classes="panel"):
            yield EventFeed(id="feed")
        yield Footer()

    def on_mount(self) -> None:
        # Until the first refresh answers, say so: an empty panel must not read as an empty queue.
        self.query_one("#graph-panel").border_title = f"Pipeline · loading {clean(self.dash.source.queue)}…"
        self.query_one("#jobs-panel").border_title = "Jobs"
        self.query_one("#feed-panel").border_title = "Events"
        self.query_one("#jobs-filter").display = False
        self.query_one(JobsTable).focus()

    @property
    def table(self) -> JobsTable:
        return self.query_one(JobsTable)

    def snapshot_changed(self) -> None:
        d = self.dash
        snap = d.snap
        if snap is None:
            return
        now = d.data_now()
        self.table.show(snap, d.insights, now, marked=self.marked)
        self._draw_graph()
        self._titles()
        self.query_one("#pipeline-summary", Static).update(pipeline_summary(snap, now))
        feed = self.query_one(EventFeed)
        if self._events_generation != d.generation:  # the app started over (another queue)
            feed.clear()
            self._shown_events, self._events_generation = 0, d.generation
        new = d.events_added - self._shown_events
        if new > 0:
            feed.add(d.events[-new:])
        self._shown_events = d.events_added
        self.call_after_refresh(self._fit_jobs_panel)  # the graph may have grown or shrunk
        super().snapshot_changed()

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_jobs_panel)

    def recolor(self) -> None:
        """The feed's lines were written in the old theme's colours: write the kept events again."""
        d = self.dash
        if self.is_mounted and self._events_generation == d.generation:
            self.query_one(EventFeed).clear()
            self._shown_events = d.events_added - len(d.events)
        super().recolor()

    def _fit_jobs_panel(self) -> None:
        """Keep the events panel on screen: auto heights do not shrink, so on a short terminal (80×24) the graph and
        the jobs table took every row and pushed the feed under the footer. The table scrolls (its cursor row stays
        in view), so it gives up rows first, down to JOBS_MIN_ROWS."""
        height = self.size.height
        if not height:
            return
        jobs, feed = self.query_one("#jobs-panel"), self.query_one("#feed-panel")
        others = sum(w.outer_size.height for w in self.children if w.display and w not in (jobs, feed))
        fit = max(JOBS_MIN_ROWS, min(height - others - FEED_MIN_ROWS, int(height * JOBS_MAX_SHARE)))
        if jobs.styles.max_height != Scalar.from_number(fit):
            jobs.styles.max_height = fit

    def _titles(self) -> None:
        snap = self.dash.snap
        if snap is None:
            return
        n, p = len(snap.jobs), len(snap.pipelines)
        state = "done" if snap.done else ("empty queue" if not snap.jobs else "running")
        if snap.done and snap.failed:
            state = "finished with failures"
        title = f"Pipeline{'s' if p > 1 else ''} · {n} job{'s' * (n != 1)}"
        if p > 1:
            title += f" in {p} pipelines"
        self.query_one("#graph-panel").border_title = f"{title} · {state}"
        self.query_one("#graph-panel").border_subtitle = "→ after  ═▶ N:N (index by index)  ↻ sequential"
        shown = len(self.table.job_ids)
        self.query_one("#jobs-panel").border_title = f"Jobs · {shown} of {n}" if shown != n else f"Jobs · {n}"
        marks = f"{len(self.marked)} marked · R retry · ctrl+k cancel · " if self.marked else ""
        self.query_one("#jobs-panel").border_subtitle = f"{marks}Enter opens · / filters"

    def _draw_graph(self) -> None:
        d = self.dash
        if d.snap is not None:
            self.query_one(PipelineGraph).show(d.snap, selected=self.table.selected_job_id(), now=d.data_now(),
                                               insights=d.insights)

    def tick(self) -> None:
        super().tick()

    # --- interaction ---------------------------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#jobs")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.query_one(PipelineGraph).select(self.table.selected_job_id())

    @on(DataTable.RowSelected, "#jobs")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.dash.open_job(event.row_key.value)

    @on(PipelineGraph.NodeClicked)
    def _node_clicked(self, event: PipelineGraph.NodeClicked) -> None:
        self.table.select_job(event.job_id)
        self.table.focus()
        if event.double:
            self.dash.open_job(event.job_id)

    def action_filter(self) -> None:
        box = self.query_one("#jobs-filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#jobs-filter", Input)
        if box.display or box.value:
            box.value = ""
            box.display = False
            self._apply_filter("")
            self.table.focus()

    @on(Input.Changed, "#jobs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._apply_filter(event.value)

    @on(Input.Submitted, "#jobs-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.display = False
        self.table.focus()

    def _apply_filter(self, text: str) -> None:
        self.table.set_filter(text)
        if self.dash.snap is not None:
            self.table.show(self.dash.snap, self.dash.insights, self.dash.data_now(), marked=self.marked)
            self._titles()
            self._draw_graph()

    # --- marks and actions -----------------------------------------------------------------------------------

    def action_mark(self) -> None:
        job_id = self.table.selected_job_id()
        if job_id is None:
            return
        if job_id in self.marked:
            self.marked.remove(job_id)
        else:
            self.marked.append(job_id)
        self._redraw_table()

    def action_clear_marks(self) -> None:
        self.clear_marks()

    def clear_marks(self) -> None:
        self.marked.clear()
        self._redraw_table()

    def _redraw_table(self) -> None:
        if self.dash.snap is not None:
            self.table.show(self.dash.snap, self.dash.insights, self.dash.data_now(), marked=self.marked)
            self._titles()

    def picked_targets(self):
        from batchtui.plan import Selection

        snap = self.dash.snap
        if snap is None:
            return None
        picked: list[str | None] = [j for j in self.marked if snap.job(j)] or [self.table.selected_job_id()]
        ids = [j for j in picked if j]
        if not ids:
            return None
        names = ", ".join(job.job_name if (job := snap.job(j)) else j for j in ids)
        return [Selection(j) for j in ids], names

    def set_filter(self, text: str) -> None:
        box = self.query_one("#jobs-filter", Input)
        box.value = text
        box.display = bool(text)
        self._apply_filter(text)


MAX_SUMMARY_LINES = 3
FEED_MIN_ROWS = 4  # the events panel: its border and two lines
JOBS_MIN_ROWS = 5  # the jobs panel: its border, the header, a row and a scrollbar
JOBS_MAX_SHARE = 0.45  # of the screen's height, as on a tall terminal


def pipeline_summary(snap: Snapshot, now) -> Text:
    """One line per pipeline of several jobs: its chain, how much is done, failures, ETA and critical path."""
    out = Text()
    by_id = {j.job_id: j for j in snap.jobs}
    shown = 0
    for n, p in enumerate(snap.pipelines):
        jobs = [by_id[i] for i in p.job_ids if i in by_id]
        if len(jobs) < 2:
            continue
        if shown == MAX_SUMMARY_LINES:
            out.append("\n…", pal.style(Role.MUTED))
            break
        if shown:
            out.append("\n")
        shown += 1
        done = total = failed = 0
        for j in jobs:
            d, t = fmt.done_fraction(j)
            done, total = done + d, total + t
            failed += j.array.count(Status.FAILED) if j.array is not None else int(j.status is Status.FAILED)
        out.append("▸ ", pal.style(Role.ACCENT))
        out.append(f"{jobs[0].job_name} … {jobs[-1].job_name}" if len(jobs) > 4 else
                   " → ".join(j.job_name for j in jobs), pal.style(Role.TEXT, bold=True))
        out.append(f"   {done:,} / {total:,} finished ({100 * done // max(total, 1)}%)", pal.style(Role.SOFT))
        if failed:
            out.append(f"   ✘ {failed:,} failed", Style(color=fmt.status_color(Status.FAILED), bold=True))
        if all(j.status.terminal for j in jobs):
            ok = not any(j.status is Status.FAILED for j in jobs)
            out.append("   finished" if ok else "   finished with failures",
                       Style(color=fmt.status_color(Status.SUCCEEDED if ok else Status.FAILED), bold=True))
            continue
        eta = pipeline_eta(snap, n)
        if eta is not None:
            at, lower, path = eta
            out.append("   ETA ", pal.style(Role.MUTED))
            out.append(describe_eta(at, now, lower), pal.style(Role.TEXT, bold=True))
            if len(path) > 1:
                names = " → ".join(by_id[i].job_name for i in path if i in by_id)
                out.append(f"  (critical path {names})", pal.style(Role.MUTED))
    return out
