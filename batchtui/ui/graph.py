"""Lay a queue's pipelines out as boxes and arrows on a character canvas (pure: no Textual, no I/O).

Columns come from `Pipeline.depth`, so JobA → JobB ⇒ JobC → JobD → JobE reads left to right. Within a column the
nodes are ordered by the mean row of their upstream nodes (fewer crossings). Edges between neighbouring columns are
routed through the gap between them; an edge that skips columns runs along a lane under the pipeline. Lines that meet
are merged into junction characters, so fan-in and fan-out read as one bus. Standard edges are light lines (──▶),
N_TO_N edges double lines labelled N:N (══▶); a SEQUENTIAL array carries ↻ in its title. Pipelines narrow enough are
packed side by side (a queue of independent jobs becomes one row), the others stacked one under another. Whatever the
shape, the result is a canvas of any width: the widget scrolls it when it does not fit.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rich.segment import Segment
from rich.style import Style

from batchtui.model import DependencyType, Job, Pipeline, Snapshot, Status
from batchtui.ui import format as fmt
from batchtui.ui import palette as pal
from batchtui.ui.insight import JobInsight, describe_eta
from batchtui.ui.palette import Role

BOX_H = 7
GAP = 7
MIN_W, MAX_W = 20, 34
SHELF_GAP = 4  # between pipelines packed side by side
ROW_GAP = 1  # between nodes of one column
N, E, S, W = 1, 2, 4, 8

_LIGHT = {E | W: "─", N | S: "│", E | S: "╭", W | S: "╮", N | E: "╰", N | W: "╯", N | S | E: "├", N | S | W: "┤",
          E | W | S: "┬", E | W | N: "┴", N | E | S | W: "┼", E: "╶", W: "╴", N: "╵", S: "╷"}
_DOUBLE = {E | W: "═", N | S: "║", E | S: "╔", W | S: "╗", N | E: "╚", N | W: "╝", N | S | E: "╠", N | S | W: "╣",
           E | W | S: "╦", E | W | N: "╩", N | E | S | W: "╬", E: "═", W: "═", N: "║", S: "║"}



class Canvas:
    """A grid of characters with a style each; grows as things are drawn on it."""

    def __init__(self) -> None:
        self.chars: list[list[str]] = []
        self.styles: list[list[Style | None]] = []
        self.width = 0

    @property
    def height(self) -> int:
        return len(self.chars)

    def _ensure(self, x: int, y: int) -> None:
        if x >= self.width:
            for row, srow in zip(self.chars, self.styles, strict=True):
                row.extend(" " * (x + 1 - self.width))
                srow.extend([None] * (x + 1 - self.width))
            self.width = x + 1
        while y >= len(self.chars):
            self.chars.append([" "] * self.width)
            self.styles.append([None] * self.width)

    def put(self, x: int, y: int, text: str, style: Style | None = None) -> None:
        if not text:
            return
        n = len(text)
        self._ensure(x + n - 1, y)
        self.chars[y][x:x + n] = text  # slices, not a loop per cell: a big queue draws thousands of boxes
        self.styles[y][x:x + n] = [style] * n

    def get(self, x: int, y: int) -> str:
        if 0 <= y < len(self.chars) and 0 <= x < self.width:
            return self.chars[y][x]
        return " "

    def put_text(self, x: int, y: int, parts: list[tuple[str, Style | None]]) -> None:
        for text, style in parts:
            self.put(x, y, text, style)
            x += len(text)

    def segments(self, y: int) -> list[Segment]:
        """One line as Rich segments, runs of one style merged."""
        if not 0 <= y < len(self.chars):
            return []
        out: list[Segment] = []
        chars, styles = self.chars[y], self.styles[y]
        start = 0
        for x in range(1, len(chars) + 1):
            if x == len(chars) or styles[x] is not styles[start]:
                out.append(Segment("".join(chars[start:x]), styles[start]))
                start = x
        return out


@dataclass(slots=True)
class Node:
    job_id: str
    x: int
    y: int
    w: int
    h: int = BOX_H

    @property
    def mid(self) -> int:
        return self.y + self.h // 2

    def contains(self, x: int, y: int) -> bool:
        return self.x <= x < self.x + self.w and self.y <= y < self.y + self.h


@dataclass(slots=True)
class Layout:
    canvas: Canvas
    nodes: dict[str, Node] = field(default_factory=dict)

    def node_at(self, x: int, y: int) -> str | None:
        return next((n.job_id for n in self.nodes.values() if n.contains(x, y)), None)


@dataclass(slots=True)
class _Placed:
    pipeline: Pipeline
    columns: list[list[str]]  # job ids per depth column, top to bottom
    lanes: list[tuple[str, str, str | None]]  # edges that skip columns: one lane row each
    width: int = 0
    height: int = 0


def box_width(pipelines: tuple[Pipeline, ...], avail: int) -> int:
    ncols = max((max(p.depth.values(), default=0) + 1 for p in pipelines), default=1)
    w = (avail - (ncols - 1) * GAP) // max(ncols, 1)
    return max(MIN_W, min(MAX_W, w))


def _columns(p: Pipeline) -> list[list[str]]:
    ncols = max(p.depth.values(), default=0) + 1
    cols: list[list[str]] = [[] for _ in range(ncols)]
    ups: dict[str, list[str]] = {}
    for e in p.edges:
        ups.setdefault(e.downstream, []).append(e.upstream)
    row: dict[str, float] = {}
    for c in range(ncols):
        members = [j for j in p.job_ids if p.depth[j] == c]  # job_ids is dependency order: a stable tie-break
        if c:
            order = {j: i for i, j in enumerate(members)}
            members.sort(key=lambda j: (_mean([row[u] for u in ups.get(j, []) if u in row], order[j]), order[j]))
        for i, j in enumerate(members):
            row[j] = float(i)
        cols[c] = members
    return cols


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def _place(p: Pipeline, w: int) -> _Placed:
    cols = _columns(p)
    lanes = [(e.upstream, e.downstream, e.type) for e in p.edges if p.depth[e.downstream] - p.depth[e.upstream] > 1]
    rows = max(len(c) for c in cols)
    placed = _Placed(p, cols, lanes)
    placed.width = len(cols) * w + (len(cols) - 1) * GAP
    placed.height = rows * BOX_H + (rows - 1) * ROW_GAP + (len(lanes) + 1 if lanes else 0)
    return placed


def layout(snap: Snapshot, avail_width: int, *, selected: str | None = None, now: datetime,
           insights: Mapping[str, JobInsight] | None = None) -> Layout:
    """Every pipeline of the snapshot drawn; `selected` gets a bright border."""
    insights = insights or {}
    lay = Layout(Canvas())
    if not snap.pipelines:
        if not snap.error:  # say why the screen is empty, and what to do, rather than draw nothing
            text = (f"No jobs in {snap.queue} created within the look-back window (--since, default 24h). Waiting "
                    "for some to be submitted; `:queue NAME` watches another queue.")
            for y, line in enumerate(textwrap.wrap(text, max(20, avail_width - 2))):
                lay.canvas.put(1, y, line, pal.style(Role.MUTED))
        return lay
    w = box_width(snap.pipelines, avail_width)
    placed = [_place(p, w) for p in snap.pipelines]
    by_id = {j.job_id: j for j in snap.jobs}
    x = y = shelf_h = 0
    for pl in placed:
        if x and x + SHELF_GAP + pl.width > avail_width:  # next shelf
            x, y = 0, y + shelf_h + 1
            shelf_h = 0
        ox = x + (SHELF_GAP if x else 0)
        _draw_pipeline(lay, pl, by_id, ox, y, w, selected, now, insights)
        x = ox + pl.width
        shelf_h = max(shelf_h, pl.height)
    return lay


def _draw_pipeline(lay: Layout, pl: _Placed, by_id: Mapping[str, Job], ox: int, oy: int, w: int,
                   selected: str | None, now: datetime, insights: Mapping[str, JobInsight]) -> None:
    # Only this pipeline's nodes and jobs are visited: with hundreds of pipelines, going over every node drawn so
    # far made the layout quadratic (5,000 jobs took seconds per refresh).
    mine: dict[str, Node] = {}
    for c, members in enumerate(pl.columns):
        for r, job_id in enumerate(members):
            node = Node(job_id, ox + c * (w + GAP), oy + r * (BOX_H + ROW_GAP), w)
            lay.nodes[job_id] = mine[job_id] = node
    lines: dict[tuple[int, int], list[int]] = {}  # (x, y) -> [directions, double?]
    arrows: list[tuple[int, int, bool]] = []
    labels: list[tuple[int, int]] = []
    lane_y = oy + pl.height - len(pl.lanes)
    for e in pl.pipeline.edges:
        up, down = mine.get(e.upstream), mine.get(e.downstream)
        if up is None or down is None:
            continue
        double = e.type == DependencyType.N_TO_N
        x0, x1 = up.x + up.w, down.x - 1  # first gap cell after the source, the arrowhead cell
        if down.x - (up.x + up.w) == GAP:  # neighbouring columns: turn in the middle of the gap
            xm = x0 + GAP // 2 - 1
            path = [(x, up.mid) for x in range(x0, xm + 1)]
            path += _vertical(xm, up.mid, down.mid)
            path += [(x, down.mid) for x in range(xm + 1, x1 + 1)]
        else:  # skips columns: down under everything to a lane, along it, up into the target's gap
            ly = lane_y
            lane_y += 1
            xa, xb = x0 + 1, x1 - 2
            path = [(x, up.mid) for x in range(x0, xa + 1)] + _vertical(xa, up.mid, ly)
            path += [(x, ly) for x in range(xa + 1, xb + 1)] + _vertical(xb, ly, down.mid)
            path += [(x, down.mid) for x in range(xb + 1, x1 + 1)]
        _trace(lines, path, double)
        arrows.append((x1, down.mid, double))
        if double:
            labels.append((x1 - 3, down.mid - 1))
    for (x, y), (dirs, n_to_n) in lines.items():
        table = _DOUBLE if n_to_n else _LIGHT
        lay.canvas.put(x, y, table.get(dirs, "·"), pal.style(Role.EDGE_NTON) if n_to_n else pal.style(Role.EDGE))
    for x, y, double in arrows:
        lay.canvas.put(x, y, "▶", pal.style(Role.EDGE_NTON) if double else pal.style(Role.EDGE))
    for x, y in labels:
        if all(lay.canvas.get(x + i, y) == " " for i in range(3)):
            lay.canvas.put(x, y, "N:N", pal.style(Role.KEY, bold=True))
    sources = {e.upstream for e in pl.pipeline.edges}
    for job_id, node in mine.items():
        job = by_id.get(job_id)
        if job is not None:
            draw_node(lay.canvas, node, job, selected == job_id, now, insights.get(job_id))
            if job_id in sources and node.x + node.w < lay.canvas.width:  # the line leaves through the border
                lay.canvas.put(node.x + node.w - 1, node.mid, "├", _border_style(job, selected == job_id))


def reselect(lay: Layout, snap: Snapshot, old: str | None, new: str | None, now: datetime,
             insights: Mapping[str, JobInsight]) -> None:
    """Move the bright border from `old` to `new` by drawing those two boxes again, not the whole graph: a cursor
    move on a 1,000-job queue must not lay out 1,000 boxes."""
    for job_id in dict.fromkeys((old, new)):
        node = lay.nodes.get(job_id or "")
        job = snap.job(job_id) if job_id else None
        pipeline = snap.pipeline_of(job_id) if job_id else None
        if not job_id or node is None or job is None or pipeline is None:
            continue
        draw_node(lay.canvas, node, job, job_id == new, now, insights.get(job_id))
        if any(e.upstream == job_id for e in pipeline.edges) and node.x + node.w < lay.canvas.width:
            lay.canvas.put(node.x + node.w - 1, node.mid, "├", _border_style(job, job_id == new))


def _vertical(x: int, y0: int, y1: int) -> list[tuple[int, int]]:
    step = 1 if y1 >= y0 else -1
    return [(x, y) for y in range(y0 + step, y1 + step, step)] if y0 != y1 else []


def _trace(lines: dict[tuple[int, int], list[int]], path: list[tuple[int, int]], double: bool) -> None:
    for i, (x, y) in enumerate(path):
        cell = lines.setdefault((x, y), [0, False])
        cell[1] = cell[1] or double
        if i == 0:
            cell[0] |= W  # joins the source box
        for j in (i - 1, i + 1):
            if 0 <= j < len(path):
                nx, ny = path[j]
                cell[0] |= E if nx > x else W if nx < x else S if ny > y else N
        if i == len(path) - 1:
            cell[0] |= E  # runs into the arrowhead


def _border_style(job: Job, selected: bool) -> Style:
    if selected:
        return pal.style(Role.BRIGHT, bold=True)
    return Style(color=fmt.dim(fmt.status_color(job.status), 0.35))


def draw_node(canvas: Canvas, node: Node, job: Job, selected: bool, now: datetime,
              insight: JobInsight | None) -> None:
    x, y, w = node.x, node.y, node.w
    iw = w - 4  # inside the border, one space of padding each side
    border = _border_style(job, selected)
    tl, tr, bl, br, hz, vt = ("┏", "┓", "┗", "┛", "━", "┃") if selected else ("╭", "╮", "╰", "╯", "─", "│")
    title = f" {fmt.truncate(job.job_name, max(4, iw - 10))} "
    kind = f" ↻ {job.array_size:,} seq " if job.sequential and job.is_array else (
        f" ▦ {job.array_size:,} " if job.is_array else " job ")
    fill = w - 3 - len(title) - len(kind)
    if fill < 1:
        kind = ""
        fill = w - 3 - len(title)
    canvas.put(x, y, tl + hz, border)
    canvas.put(x + 2, y, title, Style(color=pal.color(Role.BRIGHT), bold=True, reverse=selected))
    canvas.put(x + 2 + len(title), y, hz * max(0, fill) + kind + tr, border)
    canvas.put(x + w - 1 - len(kind), y, kind, pal.style(Role.MUTED))
    for row in range(1, BOX_H - 1):
        canvas.put(x, y + row, vt + " " * (w - 2) + vt, border)
    outlook = (insight.outlook if insight else None) or ""
    bottom_label = f" {outlook} " if outlook and not job.status.terminal else ""
    canvas.put(x, y + BOX_H - 1, bl + hz * (w - 2 - len(bottom_label) - 1) + bottom_label + hz + br, border)
    if bottom_label:
        canvas.put(x + w - 2 - len(bottom_label), y + BOX_H - 1, bottom_label,
                   Style(color=fmt.outlook_color(outlook) or pal.color(Role.SOFT), bold=True))
    for i, parts in enumerate(node_lines(job, iw, now, insight)):
        canvas.put_text(x + 2, y + 1 + i, parts)


def _lr(left: list[tuple[str, Style | None]], right: str, width: int, rstyle: Style | None = None
        ) -> list[tuple[str, Style | None]]:
    rstyle = rstyle or pal.style(Role.MUTED)
    used = sum(len(t) for t, _ in left)
    room = width - used - 1
    if right and room >= len(right):
        return left + [(" " * (width - used - len(right)), None), (right, rstyle)]
    return left


def node_lines(job: Job, iw: int, now: datetime, insight: JobInsight | None) -> list[list[tuple[str, Style | None]]]:
    """The five lines inside a node: status + elapsed, bar, done/total, child counts, rate and ETA."""
    color = fmt.status_color(job.status)
    status: list[tuple[str, Style | None]] = [(f"{fmt.STATUS_GLYPH[job.status]} {job.status.name}",
                                               Style(color=color, bold=True))]
    if insight is not None and insight.cancelling:  # not "PENDING": nothing it waits for matters any more
        status = [("⊘ CANCELLING", pal.style(Role.CANCELLED, bold=True))]
    if job.gone:
        status.append((" (gone)", pal.style(Role.MUTED)))
    elapsed = fmt.elapsed_s(job, now)
    lines = [_lr(status, fmt.duration(elapsed) if elapsed is not None else "", iw)]
    counts = fmt.job_counts(job)
    bar = fmt.progress_bar(counts, iw)
    lines.append(_bar_parts(bar))
    done, total = fmt.done_fraction(job)
    if job.array is not None:
        pct = f"{100 * done // total}%" if total else ""
        lines.append(_lr([(f"{done:,} / {total:,}", pal.style(Role.SOFT))], pct, iw))
        parts: list[tuple[str, Style | None]] = []
        for st in (Status.FAILED, Status.RUNNING, Status.STARTING, Status.RUNNABLE):
            n = counts.get(st, 0)
            if n:
                parts.append((f"{fmt.STATUS_GLYPH[st]} {n:,}  ", pal.status_style(st)))
        if insight is not None and insight.cancelling:
            parts = [(f"{insight.cancel_left:,} left to fail", pal.style(Role.CANCELLED))]
        elif not parts:
            waiting = sum(counts.get(s, 0) for s in (Status.PENDING, Status.SUBMITTED, Status.UNKNOWN))
            parts = [(f"{waiting:,} waiting", pal.style(Role.MUTED))] if waiting else []
        lines.append(_fit(parts, iw))
    else:
        outcome = "AWS has still to fail it" if insight is not None and insight.cancelling else _plain_outcome(job)
        lines.append([(fmt.truncate(outcome, iw), pal.style(Role.SOFT))])
        lines.append([(fmt.truncate(_plain_times(job), iw), pal.style(Role.MUTED))])
    lines.append(_rate_line(job, iw, now, insight))
    return lines


def _bar_parts(bar) -> list[tuple[str, Style | None]]:
    out: list[tuple[str, Style | None]] = []
    for span in bar.spans:
        out.append((bar.plain[span.start:span.end], span.style if isinstance(span.style, Style) else None))
    return out


def _fit(parts: list[tuple[str, Style | None]], width: int) -> list[tuple[str, Style | None]]:
    out, used = [], 0
    for text, style in parts:
        text = text.rstrip() if used + len(text) > width else text
        if used + len(text) > width:
            break
        out.append((text, style))
        used += len(text)
    return out


def _plain_outcome(job: Job) -> str:
    if job.status is Status.SUCCEEDED:
        return f"exit {job.exit_code}" if job.exit_code is not None else "done"
    if job.status is Status.FAILED:
        what = f"exit {job.exit_code}" if job.exit_code is not None else ""
        why = job.reason or job.status_reason or ""
        return " · ".join(p for p in (what, why) if p) or "failed"
    return {Status.RUNNING: "running", Status.STARTING: "starting", Status.RUNNABLE: "waiting for compute",
            Status.PENDING: "waiting on dependencies", Status.SUBMITTED: "submitted"}.get(job.status, "")


def _plain_times(job: Job) -> str:
    if job.started_at is None:
        return f"created {fmt.clock_time(job.created_at, seconds=False)}" if job.created_at else ""
    text = f"started {fmt.clock_time(job.started_at, seconds=False)}"
    if job.stopped_at:
        text += f" → {fmt.clock_time(job.stopped_at, seconds=False)}"
    return text


def _rate_line(job: Job, iw: int, now: datetime, insight: JobInsight | None) -> list[tuple[str, Style | None]]:
    if insight is None:
        return []
    if insight.cancel_who is not None:
        return [(fmt.truncate(insight.cancel_who, iw), pal.style(Role.CANCELLED))]
    if insight.stalled:  # no rate or ETA means anything while nothing can be placed: say why instead
        return [(fmt.truncate("⊘ " + insight.stalled, iw), pal.style(Role.WARNING, bold=True))]
    if insight.paced and not job.status.terminal:  # capacity-bound: the pace is the environment's, so say it
        eta = describe_eta(insight.eta, now, insight.eta_lower_bound)
        text = f"{insight.at_a_time:,} at a time → {eta}"
        if len(text) > iw:  # a graph box is narrow: the figures matter, the words less
            text = f"{insight.at_a_time:,} at once → {eta}"
        return [(fmt.truncate(text, iw), pal.style(Role.SOFT))]
    parts: list[tuple[str, Style | None]] = []
    if insight.rate_per_min is not None and job.array is not None and not job.status.terminal:
        rate = insight.rate_per_min
        parts.append((f"{rate:,.0f}/min" if rate >= 10 else f"{rate:.1f}/min", pal.style(Role.SOFT)))
    if insight.eta is not None and not job.status.terminal:
        eta = describe_eta(insight.eta, now, insight.eta_lower_bound)
        # In a narrow box "28/min  ETA 5h 54m" does not fit, and _fit would keep a bare "ETA" with no value:
        # the ETA matters more than the rate, so the rate goes first.
        if sum(len(t) for t, _ in parts) + len("  ETA ") + len(eta) > iw:
            parts = []
        parts.append(("  ETA " if parts else "ETA ", pal.style(Role.MUTED)))
        parts.append((eta, pal.style(Role.SOFT)))
    return _fit(parts, iw)
