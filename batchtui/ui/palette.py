"""The dashboard's colours, taken from the active Textual theme: one semantic role each (text, muted, the statuses,
the graph's edges …), so every screen reads on every built-in theme, dark or light.

CSS uses the theme's design variables directly ($primary, $text-muted …); this module serves the code that draws
Rich text itself (graph, table cells, grid, legend, feed, detail, modals). `use(theme)` is called by the app when
the theme changes (App.theme_changed_signal), and the screens then redraw with the new palette.

A theme's colour is taken as is unless it is too faint on that theme's background (atom-one-light's yellow warning
on white): then it is blended toward the theme's foreground until it reaches MIN_CONTRAST, so readability holds for
every theme, not only the ones we looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from functools import lru_cache

from rich.style import Style
from textual.color import Color
from textual.theme import BUILTIN_THEMES, Theme

from batchtui.model import Status

# WCAG contrast ratios against the background: text roles must read, quiet roles (separators, empty cells) need
# only be seen.
MIN_CONTRAST = 3.0
QUIET_CONTRAST = 1.6
DISTINCT = 50  # RGB distance under which two status colours are hard to tell apart in a one-cell grid tile


class Role(StrEnum):
    TEXT = "text"  # what the user reads: names, values
    BRIGHT = "bright"  # titles, the grid cursor
    SOFT = "soft"  # secondary text: box contents, feed lines
    MUTED = "muted"  # labels, hints, times
    FAINT = "faint"  # ids, empty counts
    SEPARATOR = "separator"  # │ between status bar fields
    ACCENT = "accent"  # headings
    KEY = "key"  # field names, the N:N and ↻ marks
    WARNING = "warning"
    MARK = "mark"  # marked jobs and indices
    ON_FILL = "on_fill"  # text drawn on a status-coloured tile
    BACKGROUND = "background"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RUNNING = "running"
    STARTING = "starting"
    RUNNABLE = "runnable"
    PENDING = "pending"
    SUBMITTED = "submitted"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"  # cancelling/cancelled: meant, not a crash, but not success either
    DOOMED = "doomed"  # PENDING that can no longer succeed: a dimmed failure colour
    EDGE = "edge"  # the graph's arrows
    EDGE_NTON = "edge_nton"  # N_TO_N arrows (index by index)


STATUS_ROLE: dict[Status, Role] = {
    Status.SUBMITTED: Role.SUBMITTED, Status.PENDING: Role.PENDING, Status.RUNNABLE: Role.RUNNABLE,
    Status.STARTING: Role.STARTING, Status.RUNNING: Role.RUNNING, Status.SUCCEEDED: Role.SUCCEEDED,
    Status.FAILED: Role.FAILED, Status.UNKNOWN: Role.UNKNOWN,
}


@dataclass(frozen=True)
class Palette:
    """One colour (a Rich colour string: '#rrggbb', or an ANSI name on the ansi-* themes) per role."""

    name: str
    dark: bool
    text: str
    bright: str
    soft: str
    muted: str
    faint: str
    separator: str
    accent: str
    key: str
    warning: str
    mark: str
    on_fill: str
    background: str
    succeeded: str
    failed: str
    running: str
    starting: str
    runnable: str
    pending: str
    submitted: str
    unknown: str
    cancelled: str
    doomed: str
    edge: str
    edge_nton: str

    def color(self, role: Role) -> str:
        return str(getattr(self, role.value))

    def status(self, status: Status) -> str:
        return self.color(STATUS_ROLE[status])


def contrast(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio of two opaque colours (1 … 21)."""
    la, lb = _luminance(a), _luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def _luminance(c: Color) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)


def readable(color: Color, background: Color, foreground: Color, minimum: float = MIN_CONTRAST) -> Color:
    """`color`, or the least blend of it toward `foreground` that reaches `minimum` contrast on `background`."""
    for step in range(11):
        candidate = color.blend(foreground, step / 10)
        if contrast(candidate, background) >= minimum:
            return candidate
    return foreground


def from_theme(theme: Theme) -> Palette:
    if theme.name.startswith("ansi"):
        return _ansi(theme)
    v = theme.to_color_system().generate()
    bg = _opaque(v["background"], None)
    fg = _opaque(v["foreground"], bg)

    def pick(value: str | Color, minimum: float = MIN_CONTRAST) -> str:
        return readable(_opaque(value, bg) if isinstance(value, str) else value, bg, fg, minimum).hex

    def toward_bg(amount: float, minimum: float) -> str:
        return pick(fg.blend(bg, amount), minimum)

    failed, succeeded = pick(v["error"]), pick(v["success"])
    running = pick(v["primary"])
    # RUNNABLE is the theme's warning colour, unless that is nearly its error colour (solarized's orange and red).
    runnable = _distinct([v["warning"], v["accent"], v["secondary"]], [failed, succeeded, running], pick)
    # STARTING is short-lived: the theme's secondary colour, unless it can hardly be told from RUNNING (or the accent
    # from RUNNABLE, textual-dark's accent and warning are one colour).
    starting = _distinct([v["secondary"], v["accent"], v["primary-lighten-2"]],
                         [running, runnable, failed, succeeded], pick)
    return Palette(
        name=theme.name, dark=theme.dark, text=fg.hex, bright=pick(_extreme(fg, bg)), soft=toward_bg(0.15, 4.5),
        muted=toward_bg(0.4, MIN_CONTRAST), faint=toward_bg(0.55, 2.2), separator=toward_bg(0.7, QUIET_CONTRAST),
        accent=running, key=pick(v["primary" if theme.dark else "secondary"]), warning=runnable,
        mark=_distinct([v["accent"], v["secondary"]], [failed, runnable, running], pick), on_fill=bg.hex,
        background=bg.hex, succeeded=succeeded, failed=failed, running=running, starting=starting,
        runnable=runnable, pending=toward_bg(0.35, MIN_CONTRAST), submitted=toward_bg(0.5, 2.2),
        unknown=toward_bg(0.75, QUIET_CONTRAST), cancelled=pick(v["warning"]),
        doomed=pick(Color.parse(failed).blend(bg, 0.45), QUIET_CONTRAST),
        edge=toward_bg(0.4, MIN_CONTRAST), edge_nton=running,
    )


def _opaque(value: str, background: Color | None) -> Color:
    """A theme variable as an opaque colour: '#rrggbbaa' and 'x 60%' composed over the background."""
    c = Color.parse(value.split()[0]) if " " in value else Color.parse(value)
    if " " in value and value.split()[1].endswith("%"):
        c = c.with_alpha(float(value.split()[1][:-1]) / 100)
    if background is not None and c.a < 1:
        return background + c
    return c.with_alpha(1.0)


def _extreme(fg: Color, bg: Color) -> Color:
    """Brighter than text on a dark theme, darker on a light one: titles stand out either way."""
    return fg.blend(Color(255, 255, 255) if _luminance(bg) < 0.5 else Color(0, 0, 0), 0.5)


def _distinct(candidates: list[str], taken: list[str], pick: Callable[[str], str]) -> str:
    """The first candidate that differs enough from the colours already taken, else the one that differs most."""
    used = [Color.parse(t) for t in taken]

    def nearest(c: str) -> float:
        return min(_distance(Color.parse(c), u) for u in used)

    picked = [pick(c) for c in candidates]
    for p in picked:
        if nearest(p) > DISTINCT:
            return p
    return max(picked, key=nearest)


def _distance(a: Color, b: Color) -> float:
    return float(((a.r - b.r) ** 2 + (a.g - b.g) ** 2 + (a.b - b.b) ** 2) ** 0.5)


def _ansi(theme: Theme) -> Palette:
    """The ansi-* themes leave colours to the terminal's own palette: ANSI names, which it keeps readable."""
    return Palette(
        name=theme.name, dark=theme.dark, text="default", bright="default", soft="default", muted="bright_black",
        faint="bright_black", separator="bright_black", accent="blue", key="cyan", warning="yellow", mark="magenta",
        on_fill="black", background="default", succeeded="green", failed="red", running="blue", starting="magenta",
        runnable="yellow", pending="bright_black", submitted="bright_black", unknown="bright_black",
        cancelled="yellow", doomed="red",
        edge="bright_black", edge_nton="cyan",
    )


ROLES = tuple(f.name for f in fields(Palette) if f.name not in ("name", "dark"))
_active: Palette = from_theme(BUILTIN_THEMES["textual-dark"])


def use(theme: Theme) -> Palette:
    """Make `theme`'s palette the one drawn with (the app calls this when its theme changes)."""
    global _active
    _active = from_theme(theme)
    return _active


def current() -> Palette:
    return _active


def color(role: Role) -> str:
    return _active.color(role)


def status_color(status: Status) -> str:
    return _active.status(status)


def style(role: Role, *, bold: bool = False) -> Style:
    return _style(_active, role, bold)


def status_style(status: Status, *, bold: bool = False) -> Style:
    return _style(_active, STATUS_ROLE[status], bold)


@lru_cache(maxsize=1024)  # a refresh draws thousands of cells in a few dozen styles
def _style(palette: Palette, role: Role, bold: bool) -> Style:
    return Style(color=palette.color(role), bold=bold)
