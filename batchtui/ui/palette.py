"""The dashboard's colours on a light theme.

The screens are drawn with one palette, tuned for a dark background (GitHub's dark colours: text #e6edf3, muted
#8b949e, status colours in `format.STATUS_COLOR`). On a light theme those would be nearly invisible, so a Textual
line filter maps each of them, as it is drawn, to its counterpart from the matching light palette (GitHub's light
colours): one table, one place, every screen and widget covered – graph, table, grid, feed, detail, modals. Colours
the theme itself supplies (panels, borders, the footer) are the theme's already. Status colours keep their meaning
(green succeeded, red failed, blue running …), only their shade changes.
"""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.color import Color as TextualColor
from textual.filter import LineFilter

# dark-background colour → the colour that plays its part on a light background
LIGHT: dict[str, str] = {
    "#ffffff": "#0d1117",  # bright: titles, the cursor's index
    "#e6edf3": "#1f2328",  # text
    "#c9d1d9": "#31363b",  # softer text
    "#98a1ad": "#59636e",  # PENDING
    "#8b949e": "#59636e",  # muted
    "#6e7681": "#6e7781",  # faint
    "#6b7380": "#818b98",  # SUBMITTED
    "#484f58": "#8c959f",  # separators
    "#3b4048": "#d0d7de",  # UNKNOWN, empty bar cells
    "#79c0ff": "#0550ae",  # keys, headings
    "#58a6ff": "#0969da",  # accent
    "#3b9eff": "#0969da",  # RUNNING
    "#3fb950": "#1a7f37",  # SUCCEEDED
    "#238636": "#1a7f37",
    "#f85149": "#cf222e",  # FAILED
    "#e3b341": "#9a6700",  # RUNNABLE, warnings
    "#b392f0": "#8250df",  # STARTING
    "#f778ba": "#bf3989",  # marks
}
_LIGHT_TRIPLETS = {Color.parse(k).get_truecolor(): Color.parse(v) for k, v in LIGHT.items()}


@lru_cache(maxsize=4096)
def light_style(style: Style) -> Style:
    """`style` with its foreground swapped for the light counterpart (if it has one)."""
    color = style.color
    if color is None or color.triplet is None:
        return style
    swap = _LIGHT_TRIPLETS.get(color.triplet)
    return style + Style(color=swap) if swap is not None else style


@lru_cache(maxsize=4096)
def light_block_style(style: Style) -> Style:
    """For half-block cells (the grid draws two indices per character: ▀ in the top one's colour on the bottom
    one's): both colours swapped alike, or the two halves of one status would differ."""
    out = light_style(style)
    bg = style.bgcolor
    swap = _LIGHT_TRIPLETS.get(bg.triplet) if bg is not None and bg.triplet is not None else None
    return out + Style(bgcolor=swap) if swap is not None else out


_BLOCKS = frozenset("▀▄█▌▐░▒▓ ")


class LightPalette(LineFilter):
    """Applied while the theme is light (BatchtuiApp switches it with the theme)."""

    def apply(self, segments: list[Segment], background: TextualColor) -> list[Segment]:
        out = []
        for text, style, control in segments:
            if style is not None and not control:
                style = light_block_style(style) if _BLOCKS.issuperset(text) else light_style(style)
            out.append(Segment(text, style, control))
        return out
