"""End to end: the dashboard on the real poller, client and simulator (frozen clock, fixed seed, small arrays)."""

from __future__ import annotations

import pytest
from pilots import wait_for
from textual.widgets import DataTable, Log

from batchtui.errors import UnknownQueue
from batchtui.model import Status
from batchtui.sim.engine import SimConfig
from batchtui.sim.server import SimServer
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.screens.action import ActionScreen
from batchtui.ui.screens.array import ArrayScreen
from batchtui.ui.screens.detail import DetailScreen
from batchtui.ui.source import open_source

SIZE = 60
MID_RUN_S = 40 * 60


pytestmark = pytest.mark.usefixtures("dummy_credentials")


def config(advance_s: float = MID_RUN_S) -> SimConfig:
    return SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=SIZE, advance_s=advance_s,
                     summary_lag_s=0.0)


async def test_a_real_snapshot_renders_and_drills_down_to_a_log():
    async with SimServer(config()) as sim:
        ids = sim.engine.reference_ids
        async with open_source("ProdQueue", region="us-east-1", profile=None, endpoint_url=sim.url, max_tps=50,
                               since_s=24 * 3600) as source:
            app = BatchtuiApp(source, refresh_s=3600, bell=False)
            async with app.run_test(size=(160, 50)) as pilot:
                await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
                snap = app.snap
                assert snap.error is None and sim.request_count > 0
                table = app.screen.query_one(DataTable)
                assert [str(k.value) for k in table.rows] == [ids[n] for n in ("JobA", "JobB", "JobC", "JobD",
                                                                                 "JobE")]
                b = snap.job(ids["JobB"])
                failed = b.array.indices(Status.FAILED)
                assert failed, "the reference run has failures by mid-run"
                assert f"{b.array.finished():,} / {SIZE:,}" in str(table.get_row(ids["JobB"])[4])

                await pilot.press("down", "enter")
                assert isinstance(app.screen, ArrayScreen)
                legend = str(app.screen.query_one("#legend").render())
                for status, n in b.array.counts().items():
                    assert f"{status:<10}{n:>7,}" in legend

                await pilot.press("slash", *"status:FAILED", "enter", "enter")
                await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
                detail = app.screen
                assert detail.index == failed[0]
                await wait_for(pilot, lambda: detail.query_one(Log).line_count > 1)
                assert detail.described is not None and detail.described.job_id == f"{ids['JobB']}:{failed[0]}"
                assert detail._log_target[0] == "/aws/batch/job"


async def test_an_unknown_queue_is_refused_before_the_dashboard_opens():
    async with SimServer(config()) as sim:
        with pytest.raises(UnknownQueue, match="NoSuchQueue"):
            async with open_source("NoSuchQueue", region="us-east-1", profile=None, endpoint_url=sim.url,
                                   max_tps=50, since_s=3600):
                pass


async def _open(sim):
    return open_source("ProdQueue", region="us-east-1", profile=None, endpoint_url=sim.url, max_tps=50,
                       since_s=24 * 3600)


async def test_retry_marked_failures_from_the_grid_submits_once_and_is_audited(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    async with SimServer(config()) as sim:
        ids = sim.engine.reference_ids
        async with await _open(sim) as source:
            app = BatchtuiApp(source, refresh_s=3600, bell=False)
            async with app.run_test(size=(160, 50)) as pilot:
                await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
                failed = app.snap.job(ids["JobB"]).array.indices(Status.FAILED)
                await pilot.press("down", "enter", "slash", *"status:FAILED", "enter", "a")
                assert app.screen.marked == set(failed)
                await pilot.press("R")
                action = app.screen
                assert isinstance(action, ActionScreen) and action.plan is not None
                assert action.plan.kind == "retry" and len(action.plan.calls) >= 1
                assert sim.requests_by_operation["SubmitJob"] == 0  # nothing sent before confirming
                await pilot.press("y", "y", "enter")
                await wait_for(pilot, lambda: action.state == "done")
                assert sim.requests_by_operation["SubmitJob"] == len(action.plan.calls)
                assert "Done: all" in str(action.query_one("#action-plan").render())
                await pilot.press("escape")
                assert isinstance(app.screen, ArrayScreen) and not app.screen.marked
                await wait_for(pilot, lambda: len(app.raw.jobs) > 5 and not app.refreshing)
                retry = [j for j in app.raw.jobs if j.tags.get("batchtui:retry-of") == ids["JobB"]]
                assert retry, "the new job is in the next snapshot"
                said = [e.text for e in app.events if "retried" in e.text]
                n = len(failed)
                assert said == [f"JobB: {n:,} ind{'ex' if n == 1 else 'ices'} retried (JobB-retry)"]  # once
                # … and on screen it is folded into JobB: no sixth job, the failed indices now the retry's
                assert [j.job_name for j in app.snap.jobs] == ["JobA", "JobB", "JobC", "JobD", "JobE"]
                shown = app.snap.job(ids["JobB"]).array
                assert all(shown.status(i) is not Status.FAILED for i in failed)
                # the grid finds the retried indices, and says where each ran first and runs now
                screen = app.screen
                await pilot.press("slash", *"retried", "enter")
                assert [i for i, m in enumerate(screen._mask) if m] == sorted(failed)
                assert "retried: " in str(screen.query_one("#legend").render()) and "(/retried)" in str(
                    screen.query_one("#legend").render())
                screen.grid.move_to(failed[0])
                await pilot.pause()
                info = str(screen.query_one("#index-info").render())
                assert "retried as JobB-retry" in info and "first run: ✘ FAILED" in info
                await pilot.press("enter")
                detail = app.screen
                assert isinstance(detail, DetailScreen)
                assert detail.child_id.startswith(retry[0].job_id)  # the latest run's attempts and log
                runs = detail._runs()
                assert [r.job_id for r in runs] == [ids["JobB"], retry[0].job_id]
                assert runs[0].status is Status.FAILED and runs[0].child == failed[0]
    from batchtui import audit

    (done,), bad = audit.read_actions((tmp_path / "batchtui" / "actions.jsonl").read_text().splitlines())
    assert bad == 0 and done.intent["action"] == "retry" and done.state == audit.DONE
    assert len(done.calls) == len(action.plan.calls)


async def test_cancel_the_index_under_the_cursor(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    async with SimServer(config(advance_s=14 * 60)) as sim:  # JobB just started: every child RUNNING
        ids = sim.engine.reference_ids
        async with await _open(sim) as source:
            app = BatchtuiApp(source, refresh_s=3600, bell=False)
            async with app.run_test(size=(160, 50)) as pilot:
                await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
                running = app.snap.job(ids["JobB"]).array.indices(Status.RUNNING)[3]
                await pilot.press("down", "enter", *["right"] * 3, "ctrl+k")
                action = app.screen
                assert isinstance(action, ActionScreen) and action.plan.kind == "cancel"
                call = action.plan.calls[0]
                assert (call.operation, call.job_ids) == ("TerminateJobs", (f"{ids['JobB']}:{running}",))
                await pilot.press("escape")  # back: nothing sent
                assert sim.requests_by_operation["TerminateJobs"] == 0
                await pilot.press("ctrl+k", "y")
                await wait_for(pilot, lambda: app.screen.state == "done")
                assert sim.requests_by_operation["TerminateJobs"] == 1
                await pilot.press("escape")
                await wait_for(pilot, lambda: not app.refreshing
                               and app.snap.job(ids["JobB"]).array.status(running) is Status.FAILED)
