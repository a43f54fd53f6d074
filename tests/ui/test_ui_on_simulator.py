"""End to end: the dashboard on the real poller, client and simulator (frozen clock, fixed seed, small arrays)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Log

from batchtui.errors import UnknownQueue
from batchtui.model import Status
from batchtui.sim.engine import SimConfig
from batchtui.sim.server import SimServer
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.screens.array import ArrayScreen
from batchtui.ui.screens.detail import DetailScreen
from batchtui.ui.source import open_source

SIZE = 60
MID_RUN_S = 40 * 60


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def config() -> SimConfig:
    return SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=SIZE, advance_s=MID_RUN_S,
                     summary_lag_s=0.0)


async def wait_for(pilot, predicate, tries: int = 300) -> None:
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


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
                assert detail.raw is not None and detail.raw["jobId"] == f"{ids['JobB']}:{failed[0]}"
                assert detail._log_target[0] == "/aws/batch/job"


async def test_an_unknown_queue_is_refused_before_the_dashboard_opens():
    async with SimServer(config()) as sim:
        with pytest.raises(UnknownQueue, match="NoSuchQueue"):
            async with open_source("NoSuchQueue", region="us-east-1", profile=None, endpoint_url=sim.url,
                                   max_tps=50, since_s=3600):
                pass
