"""Every index of an array as one coloured cell: 10,000 indices on one 160×50 screen, virtualised.

One widget, no widget per index (the model is Toolong's line view): `render_line` draws one line from the statuses
bytes, and lines are cached by (line, data key) where the data key changes only when the statuses, the filter mask,
the cursor's line or the width change.

Two looks, chosen by size:
- dense: two indices per character cell, the upper one as the foreground of '▀' and the lower one as its background,
  so a 120-column grid holds 240 indices per line (10,000 in 42 lines); a label on the left gives each line's first
  index.
- tiles: when every index fits on screen as a numbered tile (JobD's 10, small test arrays), one tile per index.
Indices outside the filter are dimmed (blended toward the background); the cursor's index is the theme's brightest
text colour. Doomed indices (not finished, but their dependency failed: they will fail) are the failure colour
dimmed, apart from plain PENDING work. Every colour is the active theme's (ui.palette).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from batchtui.model import Status
from batchtui.ui import format as fmt
from batchtui.ui import palette as pal
from batchtui.ui.palette import Role

DIM_BIT = 8  # a coded cell is status | DIM_BIT when it does not match the filter
DOOMED_BIT = 32  # ... and status | DOOMED_BIT when it is doomed (a bit, so the whole array is coded without a loop)
CURSOR = 16
NONE = 17  # past the last index
MARKED = 18  # marked for an action (space)
LABEL_GAP = 1


@dataclass(frozen=True, slots=True)
class Geometry:
    dense: bool
    cols: int  # indices per grid row
    label_w: int
    tile_w: int = 0  # tiles: characters per tile, its gap included

    def line_count(self, size: int) -> int:
        per_line = self.cols * (2 if self.dense else 1)
        return -(-size // per_line) if size else 0

    def first_on_line(self, y: int) -> int:
        return y * self.cols * (2 if self.dense else 1)


def geometry(size: int, width: int, height: int) -> Geometry:
    """Tiles when every index fits on screen as a tile, else dense half-block cells."""
    digits = len(str(max(size - 1, 0)))
    tile_w = digits + 3  # " 17 " plus a gap
    per_row = max(1, (width + 1) // tile_w)
    if size and -(-size // per_row) <= max(height // 2, 1):
        return Geometry(False, per_row, 0, tile_w)
    label_w = len(f"{max(size - 1, 0):,}") + LABEL_GAP
    cols = max(1, width - label_w)
    # Round the column count down (round labels are easier to follow) only when that costs no extra line.
    lines = -(-size // (2 * cols))
    for step in (50, 10, 5):
        rounded = cols - cols % step
        if rounded and -(-size // (2 * rounded)) == lines:
            return Geometry(True, rounded, label_w)
    return Geometry(True, cols, label_w)


class IndexGrid(ScrollView, can_focus=True):
    """The grid. Set data with `set_data`; the cursor index is `cursor`."""

    BINDINGS = [
        Binding("left", "move(-1)", "←", show=False, id="grid.left"),
        Binding("right", "move(1)", "→", show=False, id="grid.right"),
        Binding("up", "move_rows(-1)", "↑", show=False, id="grid.up"),
        Binding("down", "move_rows(1)", "↓", show=False, id="grid.down"),
        Binding("pageup", "move_page(-1)", "PgUp", show=False, id="grid.pageup"),
        Binding("pagedown", "move_page(1)", "PgDn", show=False, id="grid.pagedown"),
        Binding("home", "jump('first')", "first", show=False, id="grid.home"),
        Binding("end", "jump('last')", "last", show=False, id="grid.end"),
        Binding("enter", "open", "Open index", id="grid.open"),
    ]

    DEFAULT_CSS = """
    IndexGrid { background: $surface; scrollbar-size-vertical: 1; }
    """

    cursor: reactive[int] = reactive(0, always_update=False, init=False)

    class Moved(Message):
        def __init__(self, grid: IndexGrid, index: int) -> None:
            super().__init__()
            self.grid = grid
            self.index = index

    class Opened(Message):
        def __init__(self, grid: IndexGrid, index: int) -> None:
            super().__init__()
            self.grid = grid
            self.index = index

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.statuses: bytes = b""
        self.mask: bytes | None = None
        self.marks: frozenset[int] = frozenset()
        self.doomed: bytes = b""
        self._coded: bytes = b""
        self._data_key = 0
        self._geo = geometry(0, 80, 24)
        self._lines: LRUCache[tuple, Strip] = LRUCache(256)
        self._styles: dict[tuple[int, int], Style] = {}
        self._tile_styles: dict[int, Style] = {}
        self._label_style = pal.style(Role.FAINT)
        self._label_cursor = pal.style(Role.BRIGHT, bold=True)
        self._background: str | None = None
        self._drawn_with: tuple[str, pal.Palette] | None = None  # the background and palette the styles are for
        self._base = Style()

    # --- data --------------------------------------------------------------------------------------------------

    @property
    def doomed_color(self) -> str:
        """The colour doomed cells have on this background (the legend's swatch)."""
        return fmt.dim(fmt.status_color(Status.FAILED), DOOMED_DIM, self._background or pal.color(Role.BACKGROUND))

    @property
    def size_(self) -> int:
        return len(self.statuses)

    def set_data(self, statuses: bytes, mask: bytes | None = None, marks: frozenset[int] | None = None,
                 doomed: bytes = b"") -> None:
        """New statuses (a refresh), filter mask, marks or doomed mask; redraws only if something changed."""
        marks = self.marks if marks is None else marks
        if statuses == self.statuses and mask == self.mask and marks == self.marks and doomed == self.doomed:
            return
        self.statuses, self.mask, self.marks, self.doomed = statuses, mask, marks, doomed
        self._coded = _code(statuses, mask, marks, doomed)
        self._data_key += 1
        if self.cursor >= len(statuses):
            self.cursor = max(0, len(statuses) - 1)
        self._relayout()
        self.refresh()

    def _relayout(self) -> None:
        width = max(1, self.scrollable_content_region.width or self.size.width or 80)
        height = max(1, self.scrollable_content_region.height or self.size.height or 24)
        geo = geometry(self.size_, width, height)
        if geo != self._geo:
            self._geo = geo
            self._lines.clear()
        content_w = geo.label_w + geo.cols if geo.dense else geo.cols * geo.tile_w
        lines = geo.line_count(self.size_)
        self.virtual_size = Size(content_w, lines if geo.dense else max(0, lines * 2 - 1))

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()
        self.refresh()

    # --- geometry --------------------------------------------------------------------------------------------

    def line_of(self, index: int) -> int:
        g = self._geo
        if g.dense:
            return index // (2 * g.cols)
        return (index // g.cols) * 2

    def index_at(self, x: int, y: int) -> int | None:
        """The index under a content offset (scroll included); None off the grid."""
        g = self._geo
        if g.dense:
            col = x - g.label_w
            if not 0 <= col < g.cols:
                return None
            top = y * 2 * g.cols + col
            if top >= self.size_:
                return None
            bottom = top + g.cols
            if self.cursor == top and bottom < self.size_:
                return bottom  # a second click on a cell picks its lower half
            return top
        if y % 2:
            return None
        col = x // g.tile_w
        if col >= g.cols or x % g.tile_w == g.tile_w - 1:
            return None
        index = (y // 2) * g.cols + col
        return index if index < self.size_ else None

    # --- cursor ----------------------------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        for index in (old, new):
            self._lines.discard(self._line_key(self.line_of(index)))
        self.refresh()
        self.scroll_to_cursor()
        self.post_message(self.Moved(self, new))

    def scroll_to_cursor(self) -> None:
        y = self.line_of(self.cursor)
        self.scroll_to_region(Region(0, y, 1, 1), animate=False, immediate=True, force=True)

    def move_to(self, index: int) -> None:
        if self.size_:
            self.cursor = max(0, min(self.size_ - 1, index))

    def action_move(self, step: int) -> None:
        self.move_to(self.cursor + step)

    def action_move_rows(self, rows: int) -> None:
        self.move_to(self.cursor + rows * self._geo.cols)

    def action_move_page(self, pages: int) -> None:
        g = self._geo
        visible = max(1, self.scrollable_content_region.height)
        rows = visible * 2 if g.dense else max(1, visible // 2)
        self.move_to(self.cursor + pages * rows * g.cols)

    def action_jump(self, where: str) -> None:
        self.move_to(0 if where == "first" else self.size_ - 1)

    def action_open(self) -> None:
        if self.size_:
            self.post_message(self.Opened(self, self.cursor))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.index_at(offset.x + self.scroll_offset.x, offset.y + self.scroll_offset.y)
        if index is None:
            return
        if event.chain >= 2 and index == self.cursor:
            self.action_open()
            return
        self.move_to(index)

    # --- drawing ---------------------------------------------------------------------------------------------

    def _line_key(self, y: int) -> tuple:
        g = self._geo
        first = g.first_on_line(y) if g.dense else (y // 2) * g.cols
        per_line = g.cols * 2 if g.dense else g.cols
        on_line = self.cursor if first <= self.cursor < first + per_line else -1
        return (y, self._data_key, on_line, g)

    def _palette(self) -> None:
        bg = self.visual_style.background
        background = bg.hex if bg is not None and bg.a > 0 else pal.color(Role.BACKGROUND)
        if (background, pal.current()) == self._drawn_with:
            return
        self._drawn_with = (background, pal.current())  # a theme change redraws every line
        self._background = background
        self._label_style = pal.style(Role.FAINT)
        self._label_cursor = pal.style(Role.BRIGHT, bold=True)
        self._base = self.visual_style.rich_style
        self._lines.clear()
        colors: dict[int, str] = {}
        doomed = self.doomed_color
        for s in Status:
            colors[s] = fmt.status_color(s)
            colors[s | DIM_BIT] = fmt.dim(fmt.status_color(s), 0.75, background)
            colors[s | DOOMED_BIT] = doomed
            colors[s | DOOMED_BIT | DIM_BIT] = fmt.dim(doomed, 0.75, background)
        colors[CURSOR] = pal.color(Role.BRIGHT)
        colors[NONE] = background
        colors[MARKED] = pal.color(Role.MARK)
        self._colors = colors
        self._styles = {}
        dark = pal.style(Role.ON_FILL, bold=True)
        self._tile_styles = {code: dark + Style(bgcolor=c) for code, c in colors.items()}
        self._tile_styles[CURSOR] = Style(color=pal.color(Role.ON_FILL), bgcolor=pal.color(Role.BRIGHT),
                                            bold=True, underline=True)
        self._tile_styles[MARKED] = Style(color=pal.color(Role.ON_FILL), bgcolor=pal.color(Role.MARK), bold=True)
        for code in (*range(8), *(s | DOOMED_BIT for s in range(8))):
            self._tile_styles[code | DIM_BIT] = Style(color=fmt.dim(pal.color(Role.SOFT), 0.6, background),
                                                      bgcolor=colors[code | DIM_BIT])
        for code in range(8):  # light text: dark text on the dark red would hardly read
            self._tile_styles[code | DOOMED_BIT] = Style(color=pal.color(Role.TEXT), bgcolor=doomed, bold=True)

    def _pair_style(self, top: int, bottom: int) -> Style:
        key = (top, bottom)
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = Style(color=self._colors[top], bgcolor=self._colors[bottom])
        return style

    def render_line(self, y: int) -> Strip:
        self._palette()
        scroll_x, scroll_y = self.scroll_offset
        line = y + scroll_y
        width = self.scrollable_content_region.width
        key = self._line_key(line)
        strip = self._lines.get(key)
        if strip is None:
            strip = self._render_dense(line) if self._geo.dense else self._render_tiles(line)
            strip = strip.apply_style(self._base)  # labels and gaps get the widget's background
            self._lines.set(key, strip)
        return strip.crop_extend(scroll_x, scroll_x + width, self.visual_style.rich_style)

    def render_full_frame(self) -> list[Strip]:
        """Every visible line, as a refresh draws them (for the benchmark)."""
        return [self.render_line(y) for y in range(self.size.height)]

    def _render_dense(self, line: int) -> Strip:
        g = self._geo
        size = self.size_
        first = line * 2 * g.cols
        if first >= size or line < 0:
            return Strip.blank(g.label_w + g.cols)
        cursor_line = first <= self.cursor < first + 2 * g.cols
        label = f"{first:,}".rjust(g.label_w - LABEL_GAP) + " " * LABEL_GAP
        segments = [Segment(label, self._label_cursor if cursor_line else self._label_style)]
        coded = self._coded
        top: bytes | bytearray = coded[first:first + g.cols]
        bottom: bytes | bytearray = coded[first + g.cols:first + 2 * g.cols]
        if cursor_line:
            marked = bytearray(top), bytearray(bottom)
            at = self.cursor - first
            marked[0 if at < g.cols else 1][at % g.cols] = CURSOR
            top, bottom = marked
        run_key, run_len = None, 0
        for col in range(g.cols):
            t = top[col] if col < len(top) else NONE
            b = bottom[col] if col < len(bottom) else NONE
            k = (t, b)
            if k == run_key:
                run_len += 1
                continue
            if run_key is not None:
                segments.append(self._run(run_key, run_len))
            run_key, run_len = k, 1
        if run_key is not None:
            segments.append(self._run(run_key, run_len))
        return Strip(segments, g.label_w + g.cols)

    def _run(self, key: tuple[int, int], n: int) -> Segment:
        t, b = key
        if t == NONE:
            return Segment(" " * n)
        return Segment("▀" * n, self._pair_style(t, b))

    def _render_tiles(self, line: int) -> Strip:
        g = self._geo
        width = g.cols * g.tile_w
        if line % 2 or line < 0:
            return Strip.blank(width)
        first = (line // 2) * g.cols
        digits = g.tile_w - 3
        segments: list[Segment] = []
        for i in range(first, min(first + g.cols, self.size_)):
            code = CURSOR if i == self.cursor else self._coded[i]
            segments.append(Segment(f" {i:>{digits}} ", self._tile_styles[code]))
            segments.append(Segment(" "))
        return Strip(segments).adjust_cell_length(width)


def _code(statuses: bytes, mask: bytes | None, marks: frozenset[int] = frozenset(), doomed: bytes = b"") -> bytes:
    """status | DOOMED_BIT for doomed indices, | DIM_BIT for indices outside the mask, with whole-array int
    arithmetic (no loop per index); MARKED for marked indices."""
    coded = statuses.translate(_CLAMP)
    n = len(coded)
    if len(doomed) == n and n:
        bits = doomed.translate(_DOOMED_OF_MASK)
        coded = (int.from_bytes(coded, "big") | int.from_bytes(bits, "big")).to_bytes(n, "big")
    if mask is not None and len(mask) == n:
        dim = mask.translate(_DIM_OF_MASK)
        coded = (int.from_bytes(coded, "big") | int.from_bytes(dim, "big")).to_bytes(n, "big")
    if marks:
        out = bytearray(coded)
        for i in marks:
            if 0 <= i < n:
                out[i] = MARKED
        coded = bytes(out)
    return coded


_CLAMP = bytes(b if b < 8 else Status.UNKNOWN for b in range(256))  # bad data shows as UNKNOWN, never crashes
_DIM_OF_MASK = bytes(0 if b else DIM_BIT for b in range(256))
_DOOMED_OF_MASK = bytes(DOOMED_BIT if b else 0 for b in range(256))
DOOMED_DIM = 0.45  # FAILED's red blended this far toward the background: "will fail", not "has failed"
