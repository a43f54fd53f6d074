"""How statuses, numbers, times and progress look: one place, so every screen says the same thing the same way.

Status colours mean the same everywhere (graph, table, grid, legend, feed) and come from the active theme
(`palette`): SUCCEEDED the theme's success colour, FAILED its error colour, RUNNING its primary, RUNNABLE its
warning, PENDING/SUBMITTED shades of its foreground.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache

from rich.color import Color
from rich.text import Text

from batchtui.model import Job, Status
from batchtui.sanitize import printable
from batchtui.ui import palette as pal
from batchtui.ui.palette import Role

STATUS_GLYPH: dict[Status, str] = {
    Status.SUBMITTED: "○",
    Status.PENDING: "◌",
    Status.RUNNABLE: "◷",
    Status.STARTING: "◔",
    Status.RUNNING: "▶",
    Status.SUCCEEDED: "✔",
    Status.FAILED: "✘",
    Status.UNKNOWN: "?",
}

# The order a legend and a progress bar list statuses in: what matters most at 3 a.m. first.
LEGEND_ORDER: tuple[Status, ...] = (Status.SUCCEEDED, Status.FAILED, Status.RUNNING, Status.STARTING,
                                    Status.RUNNABLE, Status.PENDING, Status.SUBMITTED, Status.UNKNOWN)
BAR_ORDER: tuple[Status, ...] = (Status.SUCCEEDED, Status.FAILED, Status.RUNNING, Status.STARTING,
                                 Status.RUNNABLE, Status.PENDING, Status.SUBMITTED, Status.UNKNOWN)
# Statuses drawn as a full block in a bar; the rest (not started) are drawn as a light shade.
_SOLID = frozenset({Status.SUCCEEDED, Status.FAILED, Status.RUNNING, Status.STARTING, Status.RUNNABLE})

# An outlook is drawn in the colour of the status it foretells; a cancel (meant, not a crash, but not success either)
# in the theme's warning colour.
OUTLOOK_ROLE = {"succeeded": Role.SUCCEEDED, "failed": Role.FAILED, "will fail": Role.FAILED, "at risk": Role.RUNNABLE,
                "on track": Role.RUNNING, "cancelled": Role.CANCELLED}


def status_color(status: Status) -> str:
    return pal.status_color(status)


def outlook_color(outlook: str | None) -> str | None:
    role = OUTLOOK_ROLE.get(outlook or "")
    return None if role is None else pal.color(role)


def dim(color: str, amount: float = 0.72, background: str | None = None) -> str:
    """The colour blended toward the background (the theme's, unless given): a cell that does not match a filter.
    An ANSI colour (the ansi-* themes) has no value to blend: it is kept as it is."""
    background = background or pal.color(Role.BACKGROUND)
    if not (color.startswith("#") and background.startswith("#")):
        return color
    c = Color.parse(color).get_truecolor()
    b = Color.parse(background).get_truecolor()
    mix = [round(x + (y - x) * amount) for x, y in zip(c, b, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def status_text(status: Status, *, glyph: bool = True, bold: bool = True) -> Text:
    label = f"{STATUS_GLYPH[status]} {status.name}" if glyph else status.name
    return Text(label, style=pal.status_style(status, bold=bold))


def count(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"


def duration(seconds: float | None) -> str:
    """Compact and fixed-ish width: 45s, 12m 05s, 3h 07m, 2d 04h."""
    if seconds is None:
        return "–"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d {h:02d}h"


def age(seconds: float) -> str:
    return "just now" if seconds < 1 else f"{duration(seconds)} ago"


def ms_to_dt(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=UTC)


def clock_time(value: int | datetime | None, *, seconds: bool = True) -> str:
    """UTC wall-clock time; all times in the dashboard are UTC (what AWS and most runbooks use)."""
    t = ms_to_dt(value) if isinstance(value, int) else value
    if t is None:
        return "–"
    return t.astimezone(UTC).strftime("%H:%M:%S" if seconds else "%H:%M")


def elapsed_s(job: Job, now: datetime) -> float | None:
    """Run time so far (or in total, once stopped); None before it started."""
    if job.started_at is None:
        return None
    end = job.stopped_at if job.stopped_at is not None else int(now.timestamp() * 1000)
    return max(0.0, (end - job.started_at) / 1000)


def job_counts(job: Job) -> dict[Status, int]:
    """Children by status (array), or the job itself as one (plain)."""
    if job.array is not None:
        raw = job.array.statuses
        return {s: raw.count(s) for s in Status if raw.count(s)}
    return {job.status: 1}


def kind_label(job: Job) -> str:
    if not job.is_array:
        return "job"
    size = job.array_size or (job.array.size if job.array else 0)
    return f"array {size:,}" + (" seq" if job.sequential else "")


def allocate(counts: Mapping[Status, int], width: int) -> list[tuple[Status, int]]:
    """Split `width` cells among statuses proportionally (largest remainder), in BAR_ORDER.

    A status that has any member gets at least one cell when there is room, so 3 failures among 10,000 still show
    as a red cell rather than vanishing in rounding.
    """
    return list(_allocate(tuple(sorted((s, n) for s, n in counts.items() if n > 0)), width))


@lru_cache(maxsize=4096)  # a big queue draws thousands of bars a refresh, most of them alike
def _allocate(items: tuple[tuple[Status, int], ...], width: int) -> tuple[tuple[Status, int], ...]:
    counts = dict(items)
    total = sum(counts.values())
    present = [s for s in BAR_ORDER if counts.get(s, 0) > 0]
    if total <= 0 or width <= 0 or not present:
        return ()
    cells = {s: 0 for s in present}
    if len(present) <= width:
        for s in present:
            cells[s] = 1
    free = width - sum(cells.values())
    exact = {s: counts[s] * width / total for s in present}
    want = {s: max(0.0, exact[s] - cells[s]) for s in present}
    # whole parts first, then the largest remainders
    for s in present:
        take = min(int(want[s]), free)
        cells[s] += take
        free -= take
    for s in sorted(present, key=lambda s: want[s] - int(want[s]), reverse=True):
        if free <= 0:
            break
        cells[s] += 1
        free -= 1
    return tuple((s, cells[s]) for s in present if cells[s] > 0)


def progress_bar(counts: Mapping[Status, int], width: int) -> Text:
    """A bar segmented by child status colours; not-started statuses drawn light, so 'done' reads at a glance."""
    text = Text()
    for status, cells in allocate(counts, width):
        char = "█" if status in _SOLID else "░"
        text.append(char * cells, pal.status_style(status))
    if text.cell_len < width:
        text.append("░" * (width - text.cell_len), pal.status_style(Status.UNKNOWN))
    return text


def done_fraction(job: Job) -> tuple[int, int]:
    """(finished, total): children SUCCEEDED or FAILED for an array, 1/1 for a finished plain job."""
    if job.array is not None:
        return job.array.finished(), job.array.size
    return (1 if job.status.terminal else 0), 1


def truncate(text: str, width: int) -> str:
    """`text` made printable (it may come from AWS) and cut to `width` with an ellipsis."""
    if width <= 0:
        return ""
    text = printable(text)
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
