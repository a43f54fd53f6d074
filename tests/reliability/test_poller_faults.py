"""The poller against the simulator with injected faults (in-process, frozen clock): throttling, 5xx, a job that
vanished. Each test proves the state still converges to what a full listing says, or is kept and marked."""

from __future__ import annotations

import pytest

from batchtui.aws import open_api
from batchtui.headless import snapshot_json, snapshot_text
from batchtui.model import Snapshot, Status
from batchtui.poller import RECHECK_EVERY, Poller
from batchtui.sim.engine import STATUS_NAMES, Engine, SimConfig
from batchtui.sim.server import SimServer

SIZE = 40
STEP_S = 120.0  # simulated seconds between refreshes


pytestmark = pytest.mark.usefixtures("dummy_credentials")


def config(**kw) -> SimConfig:
    base = dict(speed=0.0, seed=5, pipeline="reference", array_size=SIZE, summary_lag_s=30.0)
    return SimConfig(**{**base, **kw})


def truth(engine: Engine) -> dict[str, tuple[str, list[str] | None]]:
    """{jobId: (status, per-index statuses or None)} read straight from the engine (same loop, frozen clock)."""
    out: dict[str, tuple[str, list[str] | None]] = {}
    for job in engine.job_list:
        per_index = None
        if job.size:
            per_index = ["?"] * job.size
            for code, members in enumerate(job.by_status):
                for i in members:
                    per_index[i] = STATUS_NAMES[code]
        out[job.job_id] = (STATUS_NAMES[job.status], per_index)
    return out


def seen(snap: Snapshot) -> dict[str, tuple[str, list[str] | None]]:
    return {j.job_id: (j.status.name, [Status(b).name for b in j.array.statuses] if j.array else None)
            for j in snap.jobs}


async def settle(poller: Poller, engine: Engine, *, at_most: int) -> tuple[Snapshot, int]:
    """Refresh (the world no longer moving) until a fresh snapshot equals the truth; (that snapshot, refreshes)."""
    want = truth(engine)
    snap = None
    for n in range(1, at_most + 1):
        snap = await poller.refresh()
        if snap.error is None and seen(snap) == want:
            return snap, n
    assert snap is not None
    diff = {k: v for k, v in seen(snap).items() if want.get(k) != v}
    raise AssertionError(f"not converged after {at_most} refreshes (last error {snap.error!r}); differs: "
                         f"{list(diff)[:3]}")


async def run_through(poller: Poller, engine: Engine, steps: int) -> list[Snapshot]:
    snaps = []
    for _ in range(steps):
        snaps.append(await poller.refresh())
        engine.advance(STEP_S)
    return snaps


async def test_throttling_is_counted_slows_the_refresh_and_the_state_still_converges():
    async with SimServer(config(throttle_tps=4.0, advance_s=20 * 60)) as sim:
        async with open_api(endpoint_url=sim.url, max_tps=50.0) as api:
            poller = Poller(api, "ProdQueue")
            snaps = await run_through(poller, sim.engine, 2)
            assert sim.throttled_count > 0
            throttled = [s for s in snaps if s.throttled_calls]
            assert throttled, "AWS answered 429 but no snapshot counted a throttled call"
            assert max(s.throttled_calls for s in snaps) <= sim.throttled_count
            assert poller.next_delay(1.0) > 1.0  # the refresh is stretched while AWS throttles
            assert "throttled" in snapshot_text(throttled[-1])[0]  # and the header says so
            snap, _ = await settle(poller, sim.engine, at_most=4)
            assert snap.throttled_calls == api.throttled


async def test_server_errors_are_ridden_out_and_the_state_converges_to_a_full_listing():
    async with SimServer(config(error_rate=0.12, seed=9)) as sim:
        async with open_api(endpoint_url=sim.url, max_tps=200.0) as api:
            poller = Poller(api, "ProdQueue")
            first = None
            while first is None:  # a first refresh may fail outright (no snapshot yet): that is allowed
                try:
                    first = await poller.refresh()
                except Exception as e:  # noqa: BLE001 - asserted below: only our transient error type
                    from batchtui.aws import is_transient

                    assert is_transient(e), e
            snaps = await run_through(poller, sim.engine, 6)
            assert sim.injected_errors > 0
            for s in snaps:
                assert s.error is None or s.stale_since is not None  # a failed refresh is marked stale, not blank
            sim.engine.run_until_idle()
            await settle(poller, sim.engine, at_most=5)


def _expire(engine: Engine, job_id: str) -> None:
    """What AWS's retention does to a finished job: it is no longer listed nor describable. The engine has no such
    operation, so its tables are edited by hand (clock frozen; nothing depends on the job moving any more)."""
    job = engine.jobs.pop(job_id)
    engine.job_list.remove(job)
    at = job.queue.jobs.index(job)
    del job.queue.jobs[at]
    del job.queue.seqs[at]


async def test_a_job_that_vanished_keeps_its_last_state_marked_gone():
    async with SimServer(config(advance_s=30 * 60)) as sim:
        async with open_api(endpoint_url=sim.url) as api:
            poller = Poller(api, "ProdQueue")
            before, _ = await settle(poller, sim.engine, at_most=3)
            ids = sim.engine.reference_ids
            _expire(sim.engine, ids["JobE"])  # a plain job
            _expire(sim.engine, ids["JobB"])  # an array: its per-index state must be kept too
            snap = await poller.refresh()
            assert snap.error is None and snap.by_name("JobE").gone  # not finished yet: looked up at once
            # A finished job that left the listing is looked up only every RECHECK_EVERY refreshes.
            for _ in range(RECHECK_EVERY):
                if snap.by_name("JobB").gone:
                    break
                snap = await poller.refresh()
            for name in ("JobE", "JobB"):
                old, new = before.by_name(name), snap.by_name(name)
                assert new is not None and new.gone, name
                assert new.status is old.status and new.array == old.array, name
            obj = {j["jobName"]: j for j in snapshot_json(snap)["jobs"]}
            assert obj["JobB"]["gone"] is True and obj["JobE"]["gone"] is True
            assert obj["JobB"]["childCounts"] == before.by_name("JobB").array.counts()
            assert "gone" not in obj["JobC"]
            assert any("gone" in line for line in snapshot_text(snap))
            # and it stays that way, without describing the vanished jobs at every refresh
            calls = api.calls
            again = await poller.refresh()
            assert again.by_name("JobE").gone and again.by_name("JobB").gone
            assert api.calls - calls <= 3
