"""Snapshot tests of every screen on the simulator's reference run: the real poller and client over HTTP, the
simulator at a fixed seed, a fixed start time and a frozen clock, 40 simulated minutes in (some JobB indices have
failed, their JobC partners wait, doomed). Unlike test_ui_snapshots.py (hand-built data), these show what the demo
shows. Update after an intended change with `pytest tests/ui/test_ui_snapshots_sim.py --snapshot-update`.

pytest-textual-snapshot's `snap_compare` runs the app in an event loop of its own, where the simulator and the
aiobotocore client cannot live; so the app runs under `run_test` here and its screenshot goes through the same
syrupy SVG extension, to the same kind of file in __snapshots__/.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pilots import wait_for
from pytest_textual_snapshot import SVGImageExtension
from textual.widgets import Log

from batchtui.sim.engine import SimConfig
from batchtui.sim.server import SimServer
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.screens.action import ActionScreen
from batchtui.ui.screens.array import ArrayScreen
from batchtui.ui.screens.detail import DetailScreen
from batchtui.ui.source import open_source

START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
ADVANCE_S = 40 * 60
NOW = START + timedelta(seconds=ADVANCE_S)  # the simulator's frozen clock, and the app's
SIZE = (160, 50)


pytestmark = pytest.mark.usefixtures("dummy_credentials")


async def screenshot(*keys: str, ready: Callable[[BatchtuiApp], bool] = lambda app: True) -> str:
    """The app on the simulator's reference run after `keys`, once `ready(app)` holds and nothing is pending."""
    config = SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=10_000, advance_s=ADVANCE_S,
                       start_ms=int(START.timestamp() * 1000) - ADVANCE_S * 1000, summary_lag_s=0.0)
    async with SimServer(config) as sim:
        # A fixed label instead of the URL: the port differs from run to run.
        async with open_source("ProdQueue", region="us-east-1", profile=None, endpoint_url=sim.url, max_tps=50,
                               since_s=24 * 3600, where="simulator (seed 11, frozen)", clock=lambda: NOW) as source:
            app = BatchtuiApp(source, refresh_s=3600, bell=False, clock=lambda: NOW)
            async with app.run_test(size=SIZE) as pilot:
                await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
                for key in keys:
                    await pilot.press(key)
                    await pilot.pause()
                await wait_for(pilot, lambda: ready(app))
                await pilot.wait_for_scheduled_animations()
                await pilot.pause(0.1)
                return app.export_screenshot()


@pytest.fixture
def svg_snapshot(snapshot):
    return snapshot.use_extension(SVGImageExtension)


async def test_sim_pipeline_screen(svg_snapshot):
    assert svg_snapshot == await screenshot()


async def test_sim_array_screen_of_jobb(svg_snapshot):
    assert svg_snapshot == await screenshot("down", "enter", ready=lambda app: isinstance(app.screen, ArrayScreen))


def _log_loaded(app: BatchtuiApp) -> bool:
    return isinstance(app.screen, DetailScreen) and app.screen.query_one(Log).line_count > 1


async def test_sim_detail_of_the_first_failed_index_with_its_log(svg_snapshot):
    keys = ("down", "enter", "slash", *"status:FAILED", "enter", "enter")
    assert svg_snapshot == await screenshot(*keys, ready=_log_loaded)


async def test_sim_retry_plan_for_every_failed_index_with_downstream(svg_snapshot):
    keys = ("down", "enter", "slash", *"status:FAILED", "enter", "a", "R", "d")
    ready = lambda app: isinstance(app.screen, ActionScreen) and app.screen.plan is not None  # noqa: E731
    assert svg_snapshot == await screenshot(*keys, ready=ready)
