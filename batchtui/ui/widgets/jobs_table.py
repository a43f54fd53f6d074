"""The queue's top-level jobs, one row each in dependency order; the cursor survives refreshes (rows keyed by id)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from batchtui.model import DependencyType, Job, Snapshot, Status
from batchtui.sanitize import printable
from batchtui.ui import format as fmt
from batchtui.ui import palette as pal
from batchtui.ui.insight import JobInsight, describe_eta
from batchtui.ui.palette import Role

BAR_W = 16
NAME_MAX = 32  # cells of the Job column

COLUMNS = (("job", "Job"), ("kind", "Kind"), ("status", "Status"), ("progress", "Progress"), ("done", "Done"),
           ("children", "Children ✘ ▶ ◷"), ("elapsed", "Elapsed"), ("rate", "Rate"), ("eta", "ETA"),
           ("outlook", "Outlook"), ("after", "After"))
# On a narrow screen columns give way in this order, least useful first: Job, Status, Progress and Outlook stay
# (at 80×24 the table used to stop at "Childre" and hide the outlook, the main value).
DROP_ORDER = ("kind", "after", "elapsed", "rate", "done", "children", "eta")
CELL_PADDING = 2  # DataTable's one cell of padding on each side


class JobsTable(DataTable):
    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="jobs.open"),
        Binding("home", "first", "First job", show=False, id="jobs.first"),
        Binding("end", "last", "Last job", show=False, id="jobs.last"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cursor_foreground_priority="renderable")
        self._ids: tuple[str, ...] = ()
        self._cells: dict[str, list[Text | str]] = {}  # what each row shows now (every column, hidden ones too)
        self._hidden: set[str] = set()  # columns that do not fit the width
        self._row_cache: dict[str, tuple[tuple, list[Text | str]]] = {}  # job id → (what it showed, its cells)
        self._filter = ""

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for key, label in COLUMNS:
            if key not in self._hidden:
                self.add_column(label, key=key)

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Hide the columns that do not fit the width, in DROP_ORDER, and show them again when there is room."""
        avail = self.size.width
        if not avail:
            return
        widths = {key: max([cell_len(label)] + [_width(cells[n]) for cells in self._cells.values()]) + CELL_PADDING
                  for n, (key, label) in enumerate(COLUMNS)}
        total, hidden = sum(widths.values()), set()
        for key in DROP_ORDER:
            if total <= avail:
                break
            hidden.add(key)
            total -= widths[key]
        if hidden != self._hidden:
            self._hidden = hidden
            keep = self.selected_job_id()
            self.clear(columns=True)
            self._add_columns()
            for job_id in self._ids:
                self.add_row(*self._shown(self._cells[job_id]), key=job_id)
            if keep in self._ids:
                self.move_cursor(row=self._ids.index(keep), animate=False)

    def _row(self, job: Job, insight: JobInsight | None, now: datetime, names: Mapping[str, str],
             marked: bool) -> list[Text | str]:
        """row(), reused while nothing it shows changed: a 5,000-job queue rebuilt 55,000 cells a refresh."""
        elapsed = fmt.elapsed_s(job, now)
        key = (job.job_name, job.status, job.gone, job.stale_error, job.started_at, job.stopped_at,
               bytes(job.array.statuses) if job.array is not None else None, job.depends_on,
               tuple(names.get(d.job_id or "") for d in job.depends_on), insight, marked,
               None if elapsed is None else int(elapsed), None if insight is None or insight.eta is None
               else int((insight.eta - now).total_seconds()), pal.current())
        cached = self._row_cache.get(job.job_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        cells = row(job, insight, now, names, marked)
        self._row_cache[job.job_id] = (key, cells)
        return cells

    def _shown(self, cells: list[Text | str]) -> list[Text | str]:
        return [c for (key, _), c in zip(COLUMNS, cells, strict=True) if key not in self._hidden]

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=max(0, self.row_count - 1))

    @property
    def job_ids(self) -> tuple[str, ...]:
        return self._ids

    def selected_job_id(self) -> str | None:
        if not self._ids or self.cursor_row < 0 or self.cursor_row >= len(self._ids):
            return None
        return self._ids[self.cursor_row]

    def select_job(self, job_id: str) -> None:
        if job_id in self._ids:
            self.move_cursor(row=self._ids.index(job_id))

    def set_filter(self, text: str) -> None:
        self._filter = text.strip().lower()

    def matches(self, job: Job) -> bool:
        if not self._filter:
            return True
        hay = f"{job.job_name} {job.status.name} {job.job_id} {fmt.kind_label(job)}".lower()
        return all(word in hay for word in self._filter.split())

    def show(self, snap: Snapshot, insights: Mapping[str, JobInsight], now: datetime,
             marked: Collection[str] = ()) -> None:
        jobs = [j for j in snap.jobs if self.matches(j)]
        ids = tuple(j.job_id for j in jobs)
        names = {j.job_id: j.job_name for j in snap.jobs}
        rows = {j.job_id: self._row(j, insights.get(j.job_id), now, names, j.job_id in marked) for j in jobs}
        if ids != self._ids:
            keep = self.selected_job_id()
            self.clear()
            for job_id in ids:
                self.add_row(*self._shown(rows[job_id]), key=job_id)
            self._ids, self._cells = ids, rows
            if keep in ids:
                self.move_cursor(row=ids.index(keep), animate=False)
            self._fit()
            return
        # Only cells that changed are touched, and a column is re-measured only when a cell outgrows it: Textual
        # re-measures the whole column for every cell updated with update_width, which on a 1,000-job queue made
        # each refresh cost rows² measurements and froze the dashboard. (A column that could shrink stays as wide
        # until the rows change.)
        widths = {c.key.value: c.content_width for c in self.columns.values()}
        for job_id, cells in rows.items():
            old = self._cells.get(job_id)
            for n, ((key, _), value) in enumerate(zip(COLUMNS, cells, strict=True)):
                if key in self._hidden or (old is not None and _same(old[n], value)):
                    continue
                self.update_cell(job_id, key, value, update_width=_width(value) > widths.get(key, 0))
        self._cells = rows


def _same(a: Text | str, b: Text | str) -> bool:
    if a is b:
        return True
    return a == b if isinstance(a, str) or isinstance(b, str) else (a.plain == b.plain and a.spans == b.spans
                                                                     and a.style == b.style)


def _width(cell: Text | str) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def row(job: Job, insight: JobInsight | None, now: datetime, names: Mapping[str, str],
        marked: bool = False) -> list[Text | str]:
    counts = fmt.job_counts(job)
    done, total = fmt.done_fraction(job)
    name = Text("● ", pal.style(Role.MARK, bold=True)) if marked else Text()
    name.append(printable(job.job_name), Style(bold=True))
    if job.gone:
        name.append(" (gone)", pal.style(Role.MUTED))
    name.truncate(NAME_MAX, overflow="ellipsis")  # a 128-character name must not push Status off the screen
    bar = fmt.progress_bar(counts, BAR_W)
    if job.array is not None:
        bar.append(f" {100 * done // total:>3}%" if total else "", pal.style(Role.MUTED))
        done_text = Text(f"{done:,} / {total:,}", justify="right")
    else:
        done_text = Text("–", pal.style(Role.MUTED), justify="right")
    elapsed = fmt.elapsed_s(job, now)
    rate = ""
    eta = Text("–", pal.style(Role.MUTED))
    outlook = Text("")
    if insight is not None:
        if insight.rate_per_min is not None and job.array is not None and not job.status.terminal:
            r = insight.rate_per_min
            rate = f"{r:,.0f}/min" if r >= 10 else f"{r:.1f}/min"
        if insight.cancel is not None:
            rate = ""  # what moves now is AWS failing the work, not its pace
            eta = Text(insight.cancel_who or "", pal.style(Role.MUTED))
        elif insight.index_cancels is not None:  # why it will fail: the user's act, said where the ETA goes
            eta = Text(insight.index_cancels, pal.style(Role.CANCELLED))
        elif insight.paced and not job.status.terminal:
            eta = Text(f"{insight.at_a_time:,} at a time → "
                       f"{describe_eta(insight.eta, now, insight.eta_lower_bound)}")
        elif insight.stalled:
            eta = Text("⊘ " + insight.stalled, pal.style(Role.WARNING, bold=True))
        elif insight.eta is not None and not job.status.terminal:
            eta = Text(describe_eta(insight.eta, now, insight.eta_lower_bound))
        if insight.outlook:
            outlook = Text(insight.outlook, Style(color=fmt.outlook_color(insight.outlook), bold=True))
    status = fmt.status_text(job.status)
    if insight is not None and insight.cancelling:
        status = Text("⊘ CANCELLING", pal.style(Role.CANCELLED, bold=True))
    return [name, Text(fmt.kind_label(job), pal.style(Role.MUTED)), status, bar, done_text,
            children_text(counts, job), Text(fmt.duration(elapsed), justify="right") if elapsed is not None else
            Text("–", pal.style(Role.MUTED), justify="right"), Text(rate, justify="right"), eta, outlook,
            after_text(job, names)]


def children_text(counts: Mapping[Status, int], job: Job) -> Text:
    if job.array is None:
        return Text("")
    out = Text()
    for st in (Status.FAILED, Status.RUNNING, Status.RUNNABLE):
        n = counts.get(st, 0)
        if n:
            if out:
                out.append(" ")
            out.append(f"{fmt.STATUS_GLYPH[st]}{n:,}", pal.status_style(st))
    return out


def after_text(job: Job, names: Mapping[str, str]) -> Text:
    out = Text(style=pal.style(Role.MUTED))
    for dep in job.depends_on:
        if out:
            out.append(", ")
        if dep.type == DependencyType.SEQUENTIAL and not dep.job_id:
            out.append("↻ seq")
            continue
        out.append(names.get(dep.job_id or "", (dep.job_id or "?")[:8]))
        if dep.type == DependencyType.N_TO_N:
            out.append(" N:N", pal.style(Role.KEY))
    return out
