"""Pilot tests: drilling in and out, cursors, filters, `:` commands, help, refresh errors, alerts, crashes."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import ui_factory as f
from pilots import ready
from textual.app import App
from textual.widgets import DataTable, Input, Log

from batchtui.errors import EndpointUnreachable
from batchtui.model import Attempt, IndexDetail, Status
from batchtui.plan import Selection
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.dashboard import dashboard
from batchtui.ui.screens.action import ActionScreen
from batchtui.ui.screens.array import ArrayScreen
from batchtui.ui.screens.detail import DetailScreen
from batchtui.ui.screens.modals import CommandScreen, HelpScreen
from batchtui.ui.screens.pipeline import PipelineScreen
from batchtui.ui.widgets.event_feed import EventFeed
from batchtui.ui.widgets.index_grid import IndexGrid
from batchtui.ui.widgets.pipeline_graph import PipelineGraph
from batchtui.ui.widgets.status_bar import StatusBar

SIZE = (160, 50)


def make(source=None, **kw) -> BatchtuiApp:
    kw.setdefault("refresh_s", 3600)
    kw.setdefault("bell", False)
    return BatchtuiApp(source or f.reference_source(400), clock=lambda: f.NOW, **kw)


async def test_home_shows_jobs_in_dependency_order_with_the_cursor_on_the_first():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, PipelineScreen)
        table = app.screen.query_one(DataTable)
        assert [str(k.value) for k in table.rows] == [f.job_id(n) for n in ("JobA", "JobB", "JobC", "JobD", "JobE")]
        assert table.cursor_row == 0 and app.focused is table
        await pilot.press("down", "down")
        assert app.screen.table.selected_job_id() == f.job_id("JobC")
        assert app.screen.query_one(PipelineGraph)._selected == f.job_id("JobC")  # the graph follows the cursor


async def test_enter_opens_array_then_index_detail_and_escape_goes_back():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("down", "enter")
        assert isinstance(app.screen, ArrayScreen) and app.screen.job_id == f.job_id("JobB")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.index == 0
        await pilot.press("escape")
        assert isinstance(app.screen, ArrayScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, PipelineScreen)
        await pilot.press("escape")  # home stays home
        assert isinstance(app.screen, PipelineScreen)


async def test_enter_on_a_plain_job_opens_its_detail():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.index is None
        assert app.screen.job_id == f.job_id("JobA")


async def test_clicking_a_graph_node_selects_it_and_double_click_opens_it():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        graph = app.screen.query_one(PipelineGraph)
        node = graph._layout.nodes[f.job_id("JobC")]
        await pilot.click(PipelineGraph, offset=(node.x + 3, node.y + 2))
        assert app.screen.table.selected_job_id() == f.job_id("JobC")
        await pilot.double_click(PipelineGraph, offset=(node.x + 3, node.y + 2))
        await pilot.pause()
        assert isinstance(app.screen, ArrayScreen) and app.screen.job_id == f.job_id("JobC")


async def test_grid_cursor_moves_by_index_row_page_and_ends():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("down", "enter")
        grid = app.screen.query_one(IndexGrid)
        cols = grid._geo.cols
        await pilot.press("right", "right")
        assert grid.cursor == 2
        await pilot.press("down")
        assert grid.cursor == 2 + cols
        await pilot.press("left", "up")
        assert grid.cursor == 1
        await pilot.press("end")
        assert grid.cursor == 399
        await pilot.press("home")
        assert grid.cursor == 0
        await pilot.press("pagedown")
        assert grid.cursor > cols


async def test_clicking_a_cell_selects_that_index_and_shows_its_partners():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("down", "down", "enter")  # JobC: its partners are JobB[i] (N:N) and JobD (whole job)
        grid = app.screen.query_one(IndexGrid)
        g = grid._geo
        x, y = (g.label_w + 5, 1) if g.dense else (5 * g.tile_w + 1, 2)
        await pilot.click(IndexGrid, offset=(x, y))
        expected = y * 2 * g.cols + 5 if g.dense else g.cols + 5  # the 6th cell of the second row
        assert grid.cursor == expected
        info = str(app.screen.query_one("#index-info").render())
        assert f"JobB[{expected}]" in info and "JobD" in info


async def test_filter_dims_the_rest_and_n_jumps_between_matches():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("down", "enter")
        screen = app.screen
        failed = app.snap.by_name("JobB").array.indices(Status.FAILED)
        assert len(failed) >= 2
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"status:FAILED", "enter")
        grid = screen.query_one(IndexGrid)
        assert app.focused is grid
        assert screen._matches == failed
        assert grid.cursor == failed[0]
        assert grid.mask is not None and grid.mask.count(1) == len(failed)
        await pilot.press("n")
        assert grid.cursor == failed[1]
        await pilot.press("N", "N")
        assert grid.cursor == failed[-1]  # wraps around


async def test_doomed_indices_are_drawn_apart_from_pending_and_the_doomed_filter_finds_them():
    from batchtui.analysis import doomed_indices
    from batchtui.ui.widgets.index_grid import DOOMED_BIT

    snap = f.reference(400)
    c = snap.by_name("JobC")
    fresh = [i for i in c.array.indices(Status.PENDING) if snap.by_name("JobB").array.status(i) is Status.RUNNING]
    for i in fresh[:3]:  # JobB[i] fails: JobC[i], still PENDING, is doomed
        snap = f.with_index(snap, "JobB", i, Status.FAILED, IndexDetail(i, exit_code=1))
    app = make(f.reference_source(400, [snap]))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("down", "down", "enter")
        screen = app.screen
        job = app.snap.by_name("JobC")
        doomed = doomed_indices(app.snap, job.job_id)
        pending = [i for i in job.array.indices(Status.PENDING) if i not in doomed]
        assert doomed and pending
        grid = screen.query_one(IndexGrid)
        assert all(grid._coded[i] & DOOMED_BIT for i in doomed)
        assert not any(grid._coded[i] & DOOMED_BIT for i in pending)
        assert grid.doomed_color != grid._colors[Status.PENDING]
        await pilot.press("slash", *"doomed", "enter")
        assert screen._matches == doomed
        assert "can no longer succeed (/doomed)" in str(screen.query_one("#legend").render())
        screen.set_filter("!doomed status:PENDING")
        assert screen._matches == pending


async def test_a_bad_filter_is_reported_and_changes_nothing():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("down", "enter")
        await pilot.press("slash", *"status:bogus", "enter")
        await pilot.pause()
        assert app.screen._filter is None and app.screen.query_one(IndexGrid).mask is None
        assert any("unknown status" in n.message for n in app._notifications)


async def test_jobs_table_filter():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("slash", *"jobc")
        assert app.screen.table.job_ids == (f.job_id("JobC"),)
        await pilot.press("escape")
        assert len(app.screen.table.job_ids) == 5


async def test_command_line_switches_queue_and_reports_unknown_ones():
    source = f.reference_source(400)
    app = make(source)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("colon")
        assert isinstance(app.screen, CommandScreen)
        await pilot.press(*"queue NoSuchQueue", "enter")
        await pilot.pause(0.1)
        assert source.queue == f.QUEUE
        assert any("no job queue named 'NoSuchQueue'" in n.message for n in app._notifications)
        await pilot.press("colon", *"queue OtherQueue", "enter")
        await ready(pilot, refreshes=2)
        assert source.queues_asked == ["NoSuchQueue", "OtherQueue"]
        assert app.snap.queue == "OtherQueue"
        assert "OtherQueue" in str(app.screen.query_one(StatusBar).render())


async def test_command_line_opens_an_index_and_quits():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        failed = app.snap.by_name("JobB").array.indices(Status.FAILED)[0]
        await pilot.press("colon", *f"job JobB:{failed}", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.index == failed
        await pilot.press("colon", *"nonsense", "enter")
        assert any("unknown command" in n.message for n in app._notifications)
        await pilot.press("colon", "q", "enter")
        await pilot.pause()
    assert app.return_code == 0


async def test_quitting_while_a_plan_is_being_sent_asks_twice():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        with app.sending():  # what the plan window holds while its calls go out
            assert app.actions_running == 1
            await pilot.press("q")
            await pilot.pause()
            assert app.return_code is None
            assert any("quitting now would stop it half way" in n.message for n in app._notifications)
            await pilot.press("q")
            await pilot.pause()
    assert app.return_code == 0 and app.actions_running == 0


async def test_screens_see_the_app_as_a_dashboard_and_refuse_another_host():
    assert isinstance(dashboard(make()), BatchtuiApp)
    with pytest.raises(TypeError, match="run in a Dashboard, not in App"):
        dashboard(App())


async def test_help_lists_every_key():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = {k for _, rows in app.screen.sections for key, _ in rows for k in key.split(", ")}
        for b in (*BatchtuiApp.BINDINGS, *ArrayScreen.BINDINGS, *DetailScreen.BINDINGS, *PipelineScreen.BINDINGS):
            assert (b.key_display or app.get_key_display(b)) in keys, b
        await pilot.press("escape")
        assert isinstance(app.screen, PipelineScreen)


async def test_detail_loads_the_log_from_the_log_group_of_the_job_definition_and_follows():
    source = f.reference_source(400)
    app = make(source)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        failed = app.snap.by_name("JobB").array.indices(Status.FAILED)[0]
        app.open_index(f.job_id("JobB"), failed)
        await pilot.pause()
        for _ in range(100):
            if app.screen.query_one(Log).line_count > 1:
                break
            await pilot.pause(0.02)
        log = app.screen.query_one(Log)
        assert "MemoryError" in log.lines[-1]
        assert source.log_calls[0][:2] == (f.LOG_GROUP, f"JobB/default/{failed:05d}")
        assert not app.screen.follow
        await pilot.press("f")
        assert app.screen.follow and log.auto_scroll


async def _first_log_line(pilot) -> str:
    for _ in range(100):
        if pilot.app.screen.query_one(Log).line_count:
            break
        await pilot.pause(0.02)
    return pilot.app.screen.query_one(Log).lines[0]


async def test_a_missing_log_stream_is_shown_not_raised():
    source = f.reference_source(400)
    source.logs.clear()  # CloudWatch answers ResourceNotFoundException
    app = make(source)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.open_job(f.job_id("JobA"))
        await pilot.pause()
        line = await _first_log_line(pilot)
        assert line.startswith("⚠ no log stream 'JobA-task/default/") and f.LOG_GROUP in line
        await pilot.press("escape")
        app.open_job(f.job_id("JobE"))  # not started: no stream at all, and no call made for it
        await pilot.pause()
        assert "no log stream yet" in await _first_log_line(pilot)
        assert [c[1] for c in source.log_calls if c[1].startswith("JobE")] == []


async def test_a_failed_refresh_keeps_the_last_state_and_says_so_then_recovers():
    snap = f.reference(400)
    source = f.ScriptedSource([snap, EndpointUnreachable("cannot reach http://127.0.0.1:9 (check --endpoint-url)"),
                               snap])
    app = make(source)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await ready(pilot, refreshes=2)
        assert app.snap.error and "cannot reach" in app.snap.error
        assert app.snap.jobs == snap.jobs and app.snap.stale_since == snap.polled_at
        bar = str(app.screen.query_one(StatusBar).render())
        assert "STALE" in bar and "last refresh failed: cannot reach" in bar
        assert len(app.screen.table.job_ids) == 5
        await pilot.press("r")
        await ready(pilot, refreshes=3)
        assert app.snap.error is None
        assert "STALE" not in str(app.screen.query_one(StatusBar).render())


async def test_until_the_first_refresh_succeeds_the_screen_says_loading_never_an_empty_queue():
    from batchtui.errors import Throttled

    snap = f.reference(400)
    source = f.ScriptedSource([Throttled("AWS is throttling ListJobs (TooManyRequestsException) even after retries"),
                               snap])

    class Api:  # what the real source's client has counted so far
        calls, throttled, retrying = 21, 12, 3

    source.api = Api()  # type: ignore[attr-defined]
    app = make(source)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(200):
            if source.refreshes >= 1 and not app.refreshing:
                break
            await pilot.pause(0.01)
        await pilot.pause()
        assert app.snap is None and app.first_error and "throttling" in app.first_error
        shown = app.export_screenshot().replace("&#160;", " ")
        assert "0 jobs" not in shown and "empty queue" not in shown and "No jobs" not in shown
        bar = str(app.screen.query_one(StatusBar).render())
        assert "loading" in bar and "API 21 calls · 12 throttled · 3 retried" in bar
        assert "no answer yet: AWS is throttling ListJobs" in bar
        await pilot.press("r")
        await ready(pilot, refreshes=2)
        assert app.snap is not None and app.first_error is None and len(app.screen.table.job_ids) == 5


async def test_a_thousand_job_queue_updates_only_the_cells_that_changed():
    jobs = []
    for chain in range(100):  # 1,000 plain jobs, chains of 10
        prev = None
        for k in range(10):
            name = f"c{chain:03d}-step{k}"
            deps = (f.Dependency(f.job_id(prev)),) if prev else ()
            jobs.append(f.plain(name, Status.RUNNING if k == 0 else Status.PENDING, depends=deps, created=k))
            prev = name
    first = f.snapshot(jobs)
    moved = [replace(j, status=Status.SUCCEEDED) if j.job_name in ("c000-step0", "c050-step0") else j for j in jobs]
    second = replace(f.snapshot(moved), polled_at=first.polled_at)
    app = make(f.ScriptedSource([first, second]))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.table
        assert table.row_count == 1000
        updates = []
        real = table.update_cell
        table.update_cell = lambda *a, **kw: (updates.append((a[0], a[1], kw.get("update_width"))), real(*a, **kw))
        await pilot.press("r")
        await ready(pilot, refreshes=2)
        changed_rows = {r for r, _, _ in updates}
        assert changed_rows == {f.job_id("c000-step0"), f.job_id("c050-step0")}  # not 1,000 rows × 11 cells
        assert len(updates) <= 2 * 11


async def test_an_index_failure_rings_the_bell_and_shows_a_toast_and_a_feed_line():
    snap = f.reference(400)
    fresh = snap.by_name("JobB").array.indices(Status.RUNNING)[0]
    later = f.with_index(snap, "JobB", fresh, Status.FAILED, IndexDetail(fresh, exit_code=137, reason=f.OOM))
    later = replace(later, polled_at=f.NOW)
    rings = []
    app = make(f.ScriptedSource([snap, later]), bell=True)
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await ready(pilot, refreshes=2)
        assert rings == [1]
        assert any(f"JobB[{fresh}] failed (oom): exit 137" in n.message for n in app._notifications)
        feed = app.screen.query_one(EventFeed)
        assert any(f"JobB[{fresh}] failed" in line.text for line in feed.lines)


async def test_no_bell_keeps_quiet():
    snap = f.reference(400)
    later = f.finished(snap, failed=True)
    rings = []
    app = make(f.ScriptedSource([snap, later]), bell=False)
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await ready(pilot, refreshes=2)
        assert rings == [] and any("finished with failures" in n.message for n in app._notifications)


async def test_a_crash_writes_the_traceback_to_the_crash_log(tmp_path):
    log_path = tmp_path / "crash.log"
    app = make(crash_log=log_path)

    def boom() -> None:
        raise RuntimeError("a bug in a key handler")

    app.action_help = boom  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await pilot.press("question_mark")
            await pilot.pause()
    assert app.crashed_to == log_path
    text = log_path.read_text()
    assert "RuntimeError: a bug in a key handler" in text and "Traceback" in text


def _bound_actions(app) -> set[str]:
    return {ab.binding.action for ab in app.screen.active_bindings.values()}


async def test_retry_and_cancel_keys_open_the_plan_and_back_sends_nothing():
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert {"retry", "cancel_jobs", "mark"} <= _bound_actions(app)
        await pilot.press("down", "space", "down", "space")
        assert app.screen.marked == [f.job_id("JobB"), f.job_id("JobC")]
        await pilot.press("R")
        action = app.screen
        assert isinstance(action, ActionScreen) and action.picked == [Selection(f.job_id("JobB")),
                                                                      Selection(f.job_id("JobC"))]
        assert action.plan is not None and action.plan.kind == "retry"
        assert "JobB" in str(action.query_one("#action-plan").render())
        await pilot.press("d")
        assert action.downstream and action.plan.downstream
        await pilot.press("escape")
        assert isinstance(app.screen, PipelineScreen) and app.screen.marked  # nothing ran: marks stay
        await pilot.press("U")
        assert app.screen.marked == []


async def test_readonly_has_no_actions_at_all():
    app = make(readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert not {"retry", "cancel_jobs", "mark", "clear_marks"} & _bound_actions(app)
        await pilot.press("down", "space", "R", "ctrl+k")
        assert isinstance(app.screen, PipelineScreen) and app.screen.marked == []
        await pilot.press("enter")
        assert not {"retry", "cancel_jobs", "mark", "mark_matches"} & _bound_actions(app)
        await pilot.press("space", "R", "ctrl+k")
        assert isinstance(app.screen, ArrayScreen) and not app.screen.marked
        await pilot.press("question_mark")
        assert not any("Actions" in title for title, _ in app.screen.sections)
        assert "readonly" in (app.registry.forbidden or "")


def _feed_text(app) -> str:
    return "\n".join(line.text for line in app.screen.query_one(EventFeed).lines)


async def test_the_feed_shows_the_queue_switched_back_to_not_the_one_left():
    # Found in tmux: ProdQueue → OtherQueue → ProdQueue left "watching OtherQueue" in the feed and never showed
    # ProdQueue's own line, because the feed compared list lengths (1 event each time) instead of queues.
    source = f.reference_source(400)
    app = make(source)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("colon", *"queue OtherQueue", "enter")
        await ready(pilot, refreshes=2)
        assert "watching OtherQueue" in _feed_text(app)
        await pilot.press("colon", *f"queue {f.QUEUE}", "enter")
        await ready(pilot, refreshes=3)
        await pilot.pause()
        text = _feed_text(app)
        assert f"watching {f.QUEUE}" in text and "OtherQueue" not in text


async def test_the_feed_keeps_growing_past_the_events_the_app_keeps(monkeypatch):
    # The app keeps the last MAX_EVENTS events; once that many had arrived the feed stopped showing new ones.
    import batchtui.ui.app as app_module

    monkeypatch.setattr(app_module, "MAX_EVENTS", 2)
    snap = f.reference(400)
    running = snap.by_name("JobB").array.indices(Status.RUNNING)
    snaps = [snap]
    for i in running[:3]:
        snaps.append(replace(f.with_index(snaps[-1], "JobB", i, Status.FAILED, IndexDetail(i, exit_code=137)),
                             polled_at=f.NOW))
    app = make(f.ScriptedSource(snaps))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for n, i in enumerate(running[:3], start=2):
            await pilot.press("r")
            await ready(pilot, refreshes=n)
            await pilot.pause()
            assert f"JobB[{i}] failed" in _feed_text(app)


async def test_a_narrow_graph_box_shows_the_eta_with_its_value_not_a_bare_label():
    # At 100 columns "7.0/min  ETA 11m 47s" does not fit a box: it showed "7.0/min  ETA" with the value cut off.
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        canvas = app.screen.query_one(PipelineGraph)._layout.canvas
        rows = ["".join(t for t, *_ in canvas.segments(y)) for y in range(canvas.height)]
        assert not any(re.search(r"ETA\s*[│┃]", row) for row in rows), "\n".join(rows)
        assert sum(len(re.findall(r"ETA >?\d", row)) for row in rows) == 4, "\n".join(rows)


async def test_a_succeeded_index_has_no_failure_reason():
    # AWS says "Essential container in task exited" for a container that exited 0 as well: the detail showed it
    # as a red "Reason" row under "succeeded".
    snap = f.reference(400)
    ok = snap.by_name("JobB").array.indices(Status.SUCCEEDED)[0]
    snap = f.with_index(snap, "JobB", ok, Status.SUCCEEDED,
                        IndexDetail(ok, exit_code=0, status_reason=f.ESSENTIAL, started_at=f.at(5),
                                    stopped_at=f.at(8)))
    app = make(f.ScriptedSource([snap]))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.open_index(f.job_id("JobB"), ok)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = _plain(app.screen.query_one("#info").content)
        assert "Why" in text and "succeeded" in text
        assert "Reason" not in text and f.ESSENTIAL not in text, text


def _plain(renderable, width: int = 156) -> str:
    import io

    from rich.console import Console

    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


async def test_refreshing_a_job_without_a_log_does_not_repeat_the_note():
    # `r` on the detail of a job that has not started wrote "no log stream yet" once more on every press.
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.open_job(f.job_id("JobE"))
        await pilot.pause()
        assert "no log stream yet" in await _first_log_line(pilot)
        for _ in range(3):
            await pilot.press("r")
            await ready(pilot)
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert [str(line) for line in app.screen.query_one(Log).lines] == [
            "no log stream yet: the job has not started a container"]


async def test_on_an_80_by_24_terminal_the_events_stay_on_screen():
    # The graph and the jobs table (auto heights) took every row: the events panel was pushed under the footer,
    # and the screen grew a scrollbar. The jobs table gives up rows instead (it scrolls).
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.pause(0.1)
        screen = app.screen
        feed, footer = screen.query_one("#feed-panel"), screen.query_one("Footer")
        assert feed.region.bottom <= footer.region.y and feed.region.height >= 4
        assert screen.query_one(EventFeed).scrollable_content_region.height >= 2
        assert screen.query_one("#jobs-panel").region.height >= 5
        await pilot.press("down", "down", "down", "down")  # the table scrolls to its cursor
        table = screen.table
        assert table.selected_job_id() == f.job_id("JobE")
        assert table.cursor_row in range(table.scroll_offset.y, table.scroll_offset.y + table.size.height)


async def test_the_array_title_marks_an_n_to_n_upstream():
    # The title said "after JobB" for JobC, which follows JobB index by index (the table says "JobB N:N").
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.open_job(f.job_id("JobC"))
        await pilot.pause()
        title = str(app.screen.query_one("#array-title").content)
        assert "after JobB N:N" in title and "→ JobD" in title


async def test_a_detail_left_open_catches_up_when_its_index_fails():
    # DescribeJobs was asked once, when the screen opened: an index that was RUNNING then and FAILED later kept
    # "Attempts: none yet" and no log under a title saying FAILED exit 137.
    snap = f.reference(400)
    jobb = f.job_id("JobB")
    i = snap.by_name("JobB").array.indices(Status.RUNNING)[0]
    stream = f"JobB/default/{i:05d}"
    attempt = Attempt(137, f.OOM, f.ESSENTIAL, f.at(40), f.at(45), stream)
    later = replace(f.with_index(snap, "JobB", i, Status.FAILED,
                                 IndexDetail(i, exit_code=137, reason=f.OOM, started_at=f.at(40), stopped_at=f.at(45),
                                             log_stream=stream, attempts=(attempt,))), polled_at=f.NOW)
    source = f.reference_source(400, snapshots=[snap, later])
    source.described[f"{jobb}:{i}"] = {"jobId": f"{jobb}:{i}", "jobName": "JobB", "status": "RUNNING",
                                       "container": {}, "attempts": []}
    app = make(source)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.open_index(jobb, i)
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert "none yet" in _plain(app.screen.query_one("#info").content)
        source.described = f.described(later)
        source.logs[stream] = f.log_lines(stream)
        app.start_refresh()  # the refresh timer, not `r` (which reloads the detail anyway)
        await ready(pilot, refreshes=2)
        for _ in range(100):
            await app.workers.wait_for_complete()
            if app.screen.query_one(Log).line_count > 1:
                break
            await pilot.pause(0.02)
        info = _plain(app.screen.query_one("#info").content)
        assert "none yet" not in info and "OutOfMemoryError" in info
        assert "MemoryError" in app.screen.query_one(Log).lines[-1]


async def test_switching_queue_drops_the_marks_of_the_old_one():
    # The jobs panel still said "2 marked · R retry" on the new queue, for jobs that are not in it.
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("down", "space", "down", "space")
        assert len(app.screen.marked) == 2
        await pilot.press("colon", *"queue OtherQueue", "enter")
        await ready(pilot, refreshes=2)
        await pilot.pause()
        assert app.screen.marked == []
        assert "marked" not in str(app.screen.query_one("#jobs-panel").border_subtitle)


async def test_help_on_an_80_column_terminal_is_one_column_and_cuts_nothing():
    # Two columns at 80 wide cut the filter help to "(status:fai…" and wrapped every description to a word a line.
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        table = help_screen._help_table()
        assert len(table.columns) == 1  # one section a row
        text = _plain(table, width=help_screen.query_one("#help-box").content_region.width)
        assert "status:failed,running" in text.replace("\n", "").replace(" ", "")


async def test_partial_snapshots_are_drawn_without_events_and_the_first_full_one_is_a_summary():
    from batchtui.model import ArrayState

    snap = f.reference(400)
    b = snap.by_name("JobB")
    unread = replace(f.with_job(snap, b, array=ArrayState.of(bytearray([Status.UNKNOWN]) * 400, {})), loading=True)
    app = make(f.ScriptedSource([snap]))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.snap, app.events, app.events_added = None, [], 0
        app.apply_partial(unread)
        await pilot.pause()
        assert app.snap is unread and app.events == []
        assert "reading arrays" in str(app.screen.query_one(StatusBar).render())
        app.apply_snapshot(snap)
        await pilot.pause()
        assert len(app.events) == 1 and app.events[0].text.startswith("watching ProdQueue")  # no flood
