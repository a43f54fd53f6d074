"""Analysis on the simulator's reference scenario with failures (fixed seed), polled through the real client layer.

Skipped (with the reason shown) while the simulator or the poller is not there yet; it runs as soon as both land.
"""

import pytest

from batchtui import analysis as an
from batchtui import explain as words
from batchtui.aws import open_api
from batchtui.model import Status

Poller = pytest.importorskip("batchtui.poller", reason="batchtui/poller.py has not landed yet").Poller
SimServer = pytest.importorskip("batchtui.sim.server", reason="batchtui/sim/server.py has not landed yet").SimServer
SimConfig = pytest.importorskip("batchtui.sim.engine", reason="batchtui/sim/engine.py has not landed yet").SimConfig

SIZE = 2000
OPEN = {int(s) for s in Status if not s.terminal}


async def poll_reference():
    config = SimConfig(speed=0, seed=11, pipeline="reference", array_size=SIZE, advance_s=40 * 60)
    async with SimServer(config, host="127.0.0.1", port=0) as sim:
        async with open_api(region="us-east-1", endpoint_url=sim.url, max_tps=1000.0) as api:
            # The simulated clock need not be the wall clock: look back far enough to find every job.
            snap = await Poller(api, queue="ProdQueue", since_s=100 * 365 * 86400.0).refresh()
        return snap, dict(sim.engine.reference_ids)


async def test_reference_scenario_doomed_partners_and_outlook():
    snap, ids = await poll_reference()
    b, c = snap.job(ids["JobB"]), snap.job(ids["JobC"])
    assert b.array is not None and c.array is not None and b.array.size == c.array.size == SIZE
    b_failed = b.array.indices(Status.FAILED)
    assert b_failed, "seed 11 at 40 minutes is the scenario with failures: JobB must have a failed index"

    fields = an.job_fields(snap)
    expected = [i for i in b_failed if c.array.statuses[i] in OPEN]  # straight from the polled statuses
    assert fields[ids["JobC"]]["doomedIndices"] == expected
    assert fields[ids["JobC"]]["outlook"] in ("will fail", "failed")
    for name in ("JobD", "JobE"):
        job = snap.job(ids[name])
        assert fields[ids[name]]["outlook"] == ("failed" if job.status is Status.FAILED else "will fail"), name

    # A JobC child that failed without running names its failed partner.
    for i in b_failed:
        detail = c.array.details.get(i)
        if c.array.statuses[i] == Status.FAILED and not (detail and (detail.started_at or detail.exit_code)):
            assert words.explain_index(snap, ids["JobC"], i).summary == f"failed: its N_TO_N partner JobB[{i}] failed"
    for i in expected:
        assert words.explain_index(snap, ids["JobC"], i).summary == f"will fail: its N_TO_N partner JobB[{i}] failed"
