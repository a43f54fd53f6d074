"""The dashboard on an in-process simulator frozen mid-run (reference pipeline, fixed seed): for screenshots.

    async with demo_app_context() as app: ...
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from batchtui.sim.engine import SimConfig
from batchtui.sim.server import SimServer
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.source import open_source

START_S = 10 * 60  # JobA about to finish
STEP_S = 5 * 60
STEPS = 14  # refreshes, the simulated clock moved STEP_S before each: the feed fills with what happened


@asynccontextmanager
async def demo_app_context(size: int = 10_000, advance_s: float = START_S,
                           scenario: str | None = None) -> AsyncIterator[BatchtuiApp]:
    os.environ.update(AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo", AWS_DEFAULT_REGION="us-east-1")
    os.environ.pop("AWS_PROFILE", None)
    config = SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=size, advance_s=advance_s,
                       scenario=scenario)
    async with SimServer(config) as sim:
        def sim_now() -> datetime:
            return datetime.fromtimestamp(sim.engine.now_ms / 1000, tz=UTC)

        async with open_source("ProdQueue", region="us-east-1", profile=None, endpoint_url=sim.url, max_tps=50,
                               since_s=24 * 3600, where="demo simulator", clock=sim_now) as source:
            app = BatchtuiApp(source, refresh_s=5.0, bell=False, data_clock=sim_now)
            app.demo_sim = sim  # type: ignore[attr-defined] - for `play`
            yield app


async def play(pilot, steps: int = STEPS) -> None:
    """Let the run go on for a while, refreshing after each step (what a user watching would have seen)."""
    app = pilot.app
    sim = app.demo_sim
    for _ in range(steps):
        sim.engine.advance(STEP_S)
        before = app.source._poller.refreshes
        app.start_refresh()
        while app.source._poller.refreshes == before or app.refreshing:
            await pilot.pause(0.05)
