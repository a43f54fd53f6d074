"""Modal screens: `?` help (every key, from the bindings themselves), and the `:` command line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from batchtui.ui import palette as pal
from batchtui.ui.palette import Role

COMMANDS = ("queue ", "job ", "filter ", "theme ", "refresh", "plans", "help", "quit", "q")
COMMAND_HELP = (
    (":queue NAME", "watch another queue (same region and profile)"),
    (":job NAME[:INDEX]", "open a job (by name or id), or one index of an array"),
    (":filter TEXT", "filter the current screen (jobs table, or array indices)"),
    (":theme NAME", "switch the colour theme (ctrl+p lists them too)"),
    (":refresh", "refresh now (same as r)"),
    (":capacity", "why work waits: the queue's environments and its front (same as c)"),
    (":failures", "every failure group across the queue, with its repair (same as F)"),
    (":plans", "waiting plans: retry steps batchtui sends later, blocked or not (same as W)"),
    (":help", "this help"),
    (":q  :quit", "quit"),
)
FILTER_HELP = (
    ("status:FAILED", "indices with that status (status:failed,running for several; a bare name works)"),
    ("exit:137", "indices whose exit code was 137 (exit:1,137)"),
    ("reason:memory", "text in the container reason or status reason; quote spaces: reason:\"Essential container\""),
    ("group:oom", "a failure group: oom spot timeout start dependency cancelled app"),
    ("100-199  42  5000-", "an index range, one index, an open range"),
    ("!status:SUCCEEDED", "negate any term; same kind = or, different kinds = and"),
)


HELP_TWO_COLUMNS_FROM = 100  # terminal columns


def _binding_rows(bindings: Iterable[BindingType], key_display) -> list[tuple[str, str]]:
    rows = []
    for b in bindings:
        if not isinstance(b, Binding) or not b.description or not b.show:
            continue
        keys = ", ".join(key_display(Binding(k.strip(), b.action)) for k in b.key.split(","))
        rows.append((b.key_display or keys, b.description))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, sections: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> None:
        super().__init__(id="help")
        self.sections = sections

    @classmethod
    def from_bindings(cls, app, groups: Sequence[tuple[str, Iterable[BindingType]]],
                      extra: Sequence[tuple[str, Sequence[tuple[str, str]]]] = ()) -> HelpScreen:
        sections = [(title, _binding_rows(bindings, app.get_key_display)) for title, bindings in groups]
        return cls([*sections, *extra])

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            with VerticalScroll():
                yield Static(self._help_table())
            yield Static(Text("Esc, q or ? closes · the mouse works too: click a box, a row, a cell",
                              pal.style(Role.MUTED)), id="help-foot")

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "batchtui · keys"

    def _help_table(self) -> Table:
        # Two sections side by side need about 100 columns: on a narrower terminal they squeezed each description
        # into a few characters a line and cut some ("(status:fai…"), so one goes under the other.
        per_row = 2 if self.app.size.width >= HELP_TWO_COLUMNS_FROM else 1
        grid = Table.grid(padding=(0, 3))
        for _ in range(per_row):
            grid.add_column()
        cells = []
        for title, rows in self.sections:
            t = Table(box=None, show_header=False, padding=(0, 1), title=title, title_justify="left",
                      title_style=pal.style(Role.ACCENT, bold=True))
            t.add_column(style=pal.style(Role.WARNING, bold=True), no_wrap=True, min_width=12)
            t.add_column(style=pal.style(Role.TEXT))
            for key, desc in rows:
                t.add_row(key, desc)
            cells.append(t)
        for i in range(0, len(cells), per_row):
            grid.add_row(*cells[i:i + per_row])
        return grid



class CommandScreen(ModalScreen[str | None]):
    """k9s's `:` prompt at the bottom of the screen; Enter runs, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="command.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="command-box"):
            yield Input(placeholder="queue NAME · job NAME[:INDEX] · filter TEXT · theme NAME · refresh · help · q",
                        suggester=SuggestFromList(COMMANDS, case_sensitive=False), id="command-input")

    def on_mount(self) -> None:
        self.query_one("#command-box").border_title = ":"
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
