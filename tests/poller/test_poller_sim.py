"""The poller over HTTP against the simulator: snapshots equal a full listing, through throttling, latency,
pagination and other pipeline shapes."""

from __future__ import annotations

import pytest

from batchtui.aws import open_api
from batchtui.model import AWS_STATUSES, Status
from batchtui.poller import Poller

# The simulator lands separately; until it does these tests skip rather than fail to import.
SimServer = pytest.importorskip("batchtui.sim.server").SimServer
SimConfig = pytest.importorskip("batchtui.sim.engine").SimConfig
register_definitions = pytest.importorskip("batchtui.sim.scenarios").register_definitions


pytestmark = pytest.mark.usefixtures("dummy_credentials")


def cfg(**kw) -> SimConfig:
    base = dict(speed=0.0, seed=11, pipeline="reference", array_size=200, advance_s=0.0)
    return SimConfig(**{**base, **kw})


async def full_listing(api, parent_id: str, size: int) -> bytes:
    """Every child in every status, through ListJobs pagination: the truth to compare with."""
    out = bytearray([Status.UNKNOWN]) * size
    for status in AWS_STATUSES:
        kwargs = {"arrayJobId": parent_id, "jobStatus": status.name, "maxResults": 1000}
        while True:
            page = await api.list_jobs(**kwargs)
            for s in page.get("jobSummaryList") or ():
                index = (s.get("arrayProperties") or {}).get("index")
                out[int(s["jobId"].rsplit(":", 1)[1]) if index is None else index] = status
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    return bytes(out)


async def assert_equals_listing(api, snap) -> None:
    assert snap.error is None, snap.error
    for job in snap.jobs:
        if job.array is not None:
            truth = await full_listing(api, job.job_id, job.array.size)
            diff = [i for i in range(job.array.size) if truth[i] != job.array.statuses[i]]
            assert not diff, (job.job_name, [(i, Status(job.array.statuses[i]).name, Status(truth[i]).name)
                                             for i in diff[:5]])


async def watch_run(sim, api, steps, step_s: float, poller: Poller | None = None):
    poller = poller or Poller(api, "ProdQueue")
    snap = None
    for _ in range(steps):
        snap = await poller.refresh()
        await assert_equals_listing(api, snap)
        if snap.done:
            break
        sim.engine.advance(step_s)
    return poller, snap


async def test_snapshots_equal_a_full_listing_through_a_reference_run():
    async with SimServer(cfg(summary_lag_s=0.0), host="127.0.0.1", port=0) as sim:
        async with open_api(endpoint_url=sim.url, max_tps=1000.0) as api:
            poller, snap = await watch_run(sim, api, steps=80, step_s=60)
            assert snap.done and poller.refreshes > 15  # many moments of the run, start to end
            names = [j.job_name for j in snap.jobs]
            assert names == ["JobA", "JobB", "JobC", "JobD", "JobE"]
            assert {j.job_name: j.job_id for j in snap.jobs} == sim.engine.reference_ids


async def test_with_a_lagging_summary_the_state_converges_once_aws_catches_up():
    async with SimServer(cfg(summary_lag_s=30.0), host="127.0.0.1", port=0) as sim:
        async with open_api(endpoint_url=sim.url, max_tps=1000.0) as api:
            poller = Poller(api, "ProdQueue")
            for _ in range(6):
                await poller.refresh()
                sim.engine.advance(7 * 60)
            await poller.refresh()
            sim.engine.advance(31.0)  # past the summary's lag (children may move meanwhile: that is fine)
            await poller.refresh()
            snap = await poller.refresh()
            await assert_equals_listing(api, snap)


async def test_converges_through_throttling_and_latency():
    async with SimServer(cfg(throttle_tps=8.0, latency_ms=15.0, advance_s=30 * 60, summary_lag_s=0.0),
                         host="127.0.0.1", port=0) as sim:
        async with open_api(endpoint_url=sim.url, max_tps=40.0) as api:
            poller, snap = await watch_run(sim, api, steps=3, step_s=5 * 60)
            assert snap.throttled_calls > 0  # AWS said "too many requests", and the snapshots still matched


async def test_pagination_across_1000_item_pages():
    async with SimServer(cfg(array_size=2500, advance_s=45 * 60, summary_lag_s=0.0), host="127.0.0.1",
                         port=0) as sim:
        async with open_api(endpoint_url=sim.url, max_tps=1000.0) as api:
            await watch_run(sim, api, steps=2, step_s=5 * 60)


async def test_nothing_changed_costs_at_most_two_calls():
    async with SimServer(cfg(advance_s=40 * 60), host="127.0.0.1", port=0) as sim:
        async with open_api(endpoint_url=sim.url, max_tps=1000.0) as api:
            poller = Poller(api, "ProdQueue")
            await poller.refresh()
            await poller.refresh()
            for _ in range(3):
                assert (await poller.refresh()).api_calls <= 2


# --- other pipeline shapes, submitted through the API into an empty simulator ---------------------------------


async def submit(api, name, queue="ProdQueue", size=None, deps=()):
    # Definitions the simulator knows (registered by `registered`): short, small jobs.
    definition = "JobD-Sequential-Validation:1" if size else "JobE-Cleanup-and-Notification:1"
    kwargs = {"jobName": name, "jobQueue": queue, "jobDefinition": definition}
    if size:
        kwargs["arrayProperties"] = {"size": size}
    if deps:
        kwargs["dependsOn"] = [{"jobId": d, **({"type": t} if t else {})} for d, t in deps]
    return (await api.submit_job(**kwargs))["jobId"]


async def test_two_arrays_fanning_into_one_job():
    async with SimServer(cfg(pipeline="none"), host="127.0.0.1", port=0) as sim:
        register_definitions(sim.engine)
        async with open_api(endpoint_url=sim.url, max_tps=1000.0) as api:
            a = await submit(api, "Left", size=20)
            b = await submit(api, "Right", size=30)
            await submit(api, "Join", deps=[(a, None), (b, None)])
            poller, snap = await watch_run(sim, api, steps=40, step_s=10 * 60)
            (p,) = snap.pipelines
            assert [snap.job(i).job_name for i in p.job_ids][-1] == "Join" and p.depth[snap.by_name("Join").job_id] == 1


async def test_plain_jobs_only():
    async with SimServer(cfg(pipeline="none"), host="127.0.0.1", port=0) as sim:
        register_definitions(sim.engine)
        async with open_api(endpoint_url=sim.url, max_tps=1000.0) as api:
            first = await submit(api, "First")
            await submit(api, "Second", deps=[(first, None)])
            _, snap = await watch_run(sim, api, steps=30, step_s=10 * 60)
            assert [j.job_name for j in snap.jobs] == ["First", "Second"] and all(j.array is None for j in snap.jobs)


async def test_a_dependency_on_a_job_in_another_queue_is_followed():
    async with SimServer(cfg(pipeline="none"), host="127.0.0.1", port=0) as sim:
        register_definitions(sim.engine)
        async with open_api(endpoint_url=sim.url, max_tps=1000.0) as api:
            other = await submit(api, "Elsewhere", queue="OtherQueue", size=10)
            await submit(api, "Mine", size=10, deps=[(other, "N_TO_N")])
            poller, snap = await watch_run(sim, api, steps=4, step_s=5 * 60)
            assert [j.job_name for j in snap.jobs] == ["Elsewhere", "Mine"] and len(snap.pipelines) == 1
            assert snap.by_name("Elsewhere").array is not None


async def test_several_pipelines_in_one_queue():
    async with SimServer(cfg(pipeline="none"), host="127.0.0.1", port=0) as sim:
        register_definitions(sim.engine)
        async with open_api(endpoint_url=sim.url, max_tps=1000.0) as api:
            for n in range(3):
                head = await submit(api, f"P{n}-setup")
                arr = await submit(api, f"P{n}-work", size=15, deps=[(head, None)])
                await submit(api, f"P{n}-report", deps=[(arr, None)])
            _, snap = await watch_run(sim, api, steps=5, step_s=5 * 60)
            assert len(snap.pipelines) == 3 and all(len(p.job_ids) == 3 for p in snap.pipelines)
