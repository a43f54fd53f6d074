"""The palette (ui/palette.py): every colour the dashboard draws with is the active theme's, readable on its
background, the statuses told apart, and a theme change redraws the screens and is remembered in the config."""

from __future__ import annotations

from itertools import combinations

import pytest
import ui_factory as f
from pilots import ready
from textual.color import Color
from textual.theme import BUILTIN_THEMES

from batchtui.model import Status
from batchtui.ui import palette as pal
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.palette import Role
from batchtui.ui.widgets.event_feed import EventFeed
from batchtui.ui.widgets.jobs_table import JobsTable

HEX_THEMES = sorted(n for n in BUILTIN_THEMES if not n.startswith("ansi"))
READ = (Role.TEXT, Role.BRIGHT, Role.SOFT, Role.MUTED, Role.ACCENT, Role.KEY, Role.WARNING, Role.SUCCEEDED,
        Role.FAILED, Role.RUNNING, Role.STARTING, Role.RUNNABLE, Role.PENDING, Role.EDGE, Role.EDGE_NTON, Role.MARK,
        Role.CANCELLED)
SEEN = (Role.FAINT, Role.SUBMITTED)  # ids and empty counts: quieter, still legible
QUIET = (Role.SEPARATOR, Role.UNKNOWN, Role.DOOMED)  # only to be seen


def _contrast(p: pal.Palette, role: Role) -> float:
    return pal.contrast(Color.parse(p.color(role)), Color.parse(p.background))


@pytest.mark.parametrize("name", HEX_THEMES)
def test_every_role_reads_on_its_themes_background(name):
    p = pal.from_theme(BUILTIN_THEMES[name])
    assert {r: round(_contrast(p, r), 2) for r in READ if _contrast(p, r) < pal.MIN_CONTRAST} == {}
    assert {r: round(_contrast(p, r), 2) for r in SEEN if _contrast(p, r) < 2.2} == {}
    assert {r: round(_contrast(p, r), 2) for r in QUIET if _contrast(p, r) < pal.QUIET_CONTRAST} == {}


@pytest.mark.parametrize("name", HEX_THEMES)
def test_the_statuses_that_matter_can_be_told_apart(name):
    p = pal.from_theme(BUILTIN_THEMES[name])
    roles = (Role.SUCCEEDED, Role.FAILED, Role.RUNNING, Role.RUNNABLE, Role.STARTING)
    close = [(a, b) for a, b in combinations(roles, 2)
             if pal._distance(Color.parse(p.color(a)), Color.parse(p.color(b))) < 40]
    assert close == []


def test_colours_come_from_the_theme():
    """Where the theme's own colour reads, it is used as it is: nord's success, error, primary and warning."""
    p = pal.from_theme(BUILTIN_THEMES["nord"])
    assert (p.succeeded, p.failed, p.running, p.runnable, p.text) == ("#A3BE8C", "#BE616A", "#88C0D0", "#EACB8B",
                                                                      "#D8DEE9")
    assert p.dark and not pal.from_theme(BUILTIN_THEMES["textual-light"]).dark


def test_a_colour_too_faint_on_its_background_is_blended_toward_the_text():
    white, black = Color(255, 255, 255), Color(0, 0, 0)
    yellow = Color.parse("#D7D938")  # atom-one-light's warning: 1.6:1 on white
    fixed = pal.readable(yellow, white, black)
    assert pal.contrast(yellow, white) < pal.MIN_CONTRAST <= pal.contrast(fixed, white)
    assert fixed != black  # the least blend that reads, still a yellow
    assert pal.readable(Color.parse("#0969da"), white, black) == Color.parse("#0969da")


def test_ansi_themes_leave_the_colours_to_the_terminal():
    p = pal.from_theme(BUILTIN_THEMES["ansi-light"])
    assert (p.failed, p.succeeded, p.text) == ("red", "green", "default")


def _make(**kw) -> BatchtuiApp:
    return BatchtuiApp(f.reference_source(400), refresh_s=3600, bell=False, clock=lambda: f.NOW, **kw)


def _status_cell_color(app: BatchtuiApp) -> str | None:
    table = app.screen.query_one(JobsTable)
    cell = table.get_cell_at((0, 2))
    color = cell.style.color
    return None if color is None else color.triplet.hex if color.triplet else color.name


async def test_a_theme_change_redraws_the_screen_in_the_new_colours(monkeypatch, tmp_path):
    monkeypatch.setenv("BATCHTUI_CONFIG", str(tmp_path / "config.toml"))
    app = _make()
    async with app.run_test(size=(160, 50)) as pilot:
        await ready(pilot)
        job = app.snap.jobs[0]
        dark = _status_cell_color(app)
        assert dark == pal.from_theme(BUILTIN_THEMES["textual-dark"]).status(job.status).lower()
        feed = app.screen.query_one(EventFeed)
        lines = len(feed.lines)
        app.theme = "catppuccin-latte"
        await pilot.pause(0.1)
        assert pal.current().name == "catppuccin-latte"
        assert _status_cell_color(app) == pal.current().status(job.status).lower() != dark
        assert len(feed.lines) == lines  # written again, not twice
    assert not (tmp_path / "config.toml").exists()  # only the real entry point remembers


async def test_the_theme_chosen_in_the_dashboard_is_remembered_in_the_config(monkeypatch, tmp_path):
    file = tmp_path / "config.toml"
    file.write_text('queue = "ProdQueue"\n')
    monkeypatch.setenv("BATCHTUI_CONFIG", str(file))
    app = _make()
    app.remember_theme = True
    async with app.run_test(size=(160, 50)) as pilot:
        await ready(pilot)
        app.theme = "solarized-light"
        await pilot.pause()
    assert sorted(file.read_text().splitlines()) == ['queue = "ProdQueue"', 'theme = "solarized-light"']


def test_status_colours_follow_the_active_palette():
    try:
        pal.use(BUILTIN_THEMES["gruvbox"])
        assert pal.status_color(Status.FAILED) == pal.from_theme(BUILTIN_THEMES["gruvbox"]).failed
        assert pal.status_style(Status.FAILED, bold=True).bold
    finally:
        pal.use(BUILTIN_THEMES["textual-dark"])
