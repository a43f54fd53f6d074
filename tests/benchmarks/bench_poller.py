"""Poller benchmark: API calls and time against the simulator's reference pipeline (prints figures, asserts nothing).

    python tests/benchmarks/bench_poller.py [--size 10000] [--step 30] [--quick]

Prints:
1. a cold snapshot (mid-run, frozen clock, 20 ms simulated latency): calls and seconds – target ≤ 30 calls;
2. calls per refresh when nothing changes, at 1,000 and 10,000 per array – target ≤ 2;
3. total calls over a whole simulated run (the clock advanced --step simulated seconds between refreshes until the
   pipeline is done) beside a naive poller (every status of every array listed at every refresh, same schedule)
   – target ≤ 1/4 of naive; and whether the final state equals a full listing;
4. peak RSS of a separate headless poller process holding 20,012 jobs – target ≤ 100 MiB;
5. what triage's log sample costs: GetLogEvents (and the DescribeJobs that find the log streams) for an array with
   20, 200 and 2,000 app failures of three kinds – target: bounded (SAMPLE_MIXED), the same however many failures.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import textwrap
import time
from pathlib import Path

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from batchtui.aws import open_api  # noqa: E402
from batchtui.poller import Poller  # noqa: E402
from batchtui.sim import engine as sim_engine  # noqa: E402
from batchtui.sim import server as sim_server  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "poller"))
from test_poller_sim import full_listing  # noqa: E402 - the truth to compare with, as the poller's tests read it

SimConfig, SimServer = sim_engine.SimConfig, sim_server.SimServer

QUEUE = "ProdQueue"
MID_RUN_S = 40 * 60  # the reference pipeline's "mid-run" moment


def config(size: int, advance_s: float, latency_ms: float = 0.0) -> SimConfig:
    return SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=size, advance_s=advance_s,
                     latency_ms=latency_ms)


class NaivePoller:
    """Lists the queue and every status of every array (all pages) at every refresh; describes each job once."""

    def __init__(self, api) -> None:
        self.api = api
        self.arrays: dict[str, int] = {}
        self.described: set[str] = set()

    async def refresh(self) -> None:
        kwargs = {"jobQueue": QUEUE, "maxResults": 100, "filters": [{"name": "AFTER_CREATED_AT", "values": ["0"]}]}
        summaries = []
        while True:
            page = await self.api.list_jobs(**kwargs)
            summaries += page.get("jobSummaryList") or []
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        new = [s["jobId"] for s in summaries if s["jobId"] not in self.described]
        if new:
            await self.api.describe_jobs(new)
            self.described |= set(new)
        for s in summaries:
            size = (s.get("arrayProperties") or {}).get("size")
            if size:
                await full_listing(self.api, s["jobId"], size)


async def cold_snapshot(size: int) -> None:
    async with SimServer(config(size, MID_RUN_S, latency_ms=20.0), host="127.0.0.1", port=0) as sim:
        for tps in (10.0, 1000.0):
            async with open_api(endpoint_url=sim.url, max_tps=tps) as api:
                t0 = time.perf_counter()
                snap = await Poller(api, QUEUE).refresh()
                dt = time.perf_counter() - t0
            label = "default --max-tps 10" if tps == 10 else "budget out of the way"
            print(f"  cold snapshot, {size:,} per array, 20 ms latency, {label}: {snap.api_calls} calls, {dt:.2f} s")
        print(f"    (per array: {', '.join(f'{j.job_name} {j.array.counts()}' for j in snap.jobs if j.array)})")


async def unchanged(size: int) -> None:
    async with SimServer(config(size, MID_RUN_S), host="127.0.0.1", port=0) as sim:
        async with open_api(endpoint_url=sim.url, max_tps=1000.0) as api:
            poller = Poller(api, QUEUE)
            first = await poller.refresh()
            second = await poller.refresh()
            calls = [(await poller.refresh()).api_calls for _ in range(5)]
    print(f"  nothing changes, {size:,} per array: cold {first.api_calls}, re-check {second.api_calls}, "
          f"then {calls} calls per refresh")


CAPACITY_OPS = ("DescribeComputeEnvironments", "GetJobQueueSnapshot", "DescribeJobQueues", "DescribeInstanceTypes")


async def capacity_reads(size: int) -> None:
    """What the capacity diagnosis costs: calls per refresh while work is RUNNABLE and once nothing is."""
    from batchtui import poller as poller_module

    for label, advance in (("with RUNNABLE work (JobB under way)", 15 * 60), ("without (the run over)", 30 * 3600)):
        async with SimServer(config(size, advance), host="127.0.0.1", port=0) as sim:
            async with open_api(endpoint_url=sim.url, max_tps=1000.0) as api:
                poller = Poller(api, QUEUE)
                cold = await poller.refresh()
                first = {op: sim.requests_by_operation[op] for op in CAPACITY_OPS}
                before = dict(sim.requests_by_operation)
                calls = [(await poller.refresh()).api_calls for _ in range(5)]
                within = {op: sim.requests_by_operation[op] - before.get(op, 0) for op in CAPACITY_OPS}
                poller._world_at -= poller_module.CAPACITY_EVERY_S  # a minute later: the next capacity read
                later = dict(sim.requests_by_operation)
                after_minute = (await poller.refresh()).api_calls
                read = {op: sim.requests_by_operation[op] - later.get(op, 0) for op in CAPACITY_OPS}
        print(f"  capacity reads, {label}: the first refresh {cold.api_calls} calls, of which {sum(first.values())} "
              f"capacity ({', '.join(f'{k} {v}' for k, v in first.items() if v) or 'none'}); "
              f"refreshes within the minute {calls} calls "
              f"(capacity calls {sum(within.values())}); the refresh a minute later {after_minute} calls, of which "
              f"{sum(read.values())} capacity ({', '.join(f'{k} {v}' for k, v in read.items() if v) or 'none'})")


def failing_world(failures: int) -> SimServer:
    """One array of 2×failures children, every other one failing with one of three app errors in its log."""
    sim = SimServer(SimConfig(speed=0.0, seed=5, pipeline="none", summary_lag_s=0.0), host="127.0.0.1", port=0)
    size = 2 * failures
    env = {"SIM_DURATION_S": "30", "SIM_APP_ERRORS": "3",
           "SIM_FAIL_INDICES": ",".join(f"{i}:app" for i in range(0, size, 2))}
    sim.engine.register_job_definition("work", {
        "image": "busybox", "command": ["python", "-m", "pipeline.work"],
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
        "environment": [{"name": k, "value": v} for k, v in env.items()]})
    sim.engine.submit(name="Work", queue=sim.engine.queue(QUEUE), jobdef=sim.engine.jobdefs["work"][-1],
                      array_size=size)
    sim.engine.advance(8 * 3600)
    return sim


async def log_budget(failures: int) -> None:
    """Refreshes until the sampler reads nothing more, then three more: what the signatures cost in calls."""
    async with failing_world(failures) as sim, open_api(endpoint_url=sim.url, max_tps=50.0) as api:
        poller = Poller(api, QUEUE)
        start = time.perf_counter()
        refreshes, snap = 1, await poller.refresh()
        while refreshes < 20:
            before = poller.sampler.log_calls
            snap, refreshes = await poller.refresh(), refreshes + 1
            if poller.sampler.log_calls == before:
                break
        seconds = time.perf_counter() - start
        logs = sim.requests_by_operation["GetLogEvents"]
        quiet = [(await poller.refresh()).api_calls for _ in range(3)]
    from batchtui.triage import groups_of

    sampled = sum(1 for g in groups_of(snap.jobs[0]) if g.sampled)
    print(f"  log sample, {failures:>5,} app failures: {logs} GetLogEvents + {poller.sampler.describe_calls} "
          f"DescribeJobs (reading every failure's log: {failures:,}) over {refreshes} refreshes ({seconds:.2f} s "
          f"at 50 TPS), {sampled} signature groups; then {quiet} calls per refresh (nothing read again)")


async def whole_run(size: int, step_s: float) -> None:
    async with SimServer(config(size, 0.0), host="127.0.0.1", port=0) as sim:
        async with open_api(endpoint_url=sim.url, max_tps=100000.0) as ours, \
                open_api(endpoint_url=sim.url, max_tps=100000.0) as naive_api:
            poller, naive = Poller(ours, QUEUE), NaivePoller(naive_api)
            refreshes = 0
            t0 = time.perf_counter()
            while True:
                snap = await poller.refresh()
                await naive.refresh()
                refreshes += 1
                if snap.done or refreshes > 20000:
                    break
                sim.engine.advance(step_s)
            dt = time.perf_counter() - t0
            mismatched = []
            for job in snap.jobs:
                if job.array is not None and bytes(await full_listing(naive_api, job.job_id, job.array.size)) \
                        != job.array.statuses:
                    mismatched.append(job.job_name)
    ratio = ours.calls / naive_api.calls if naive_api.calls else math.nan
    print(f"  whole run, {size:,} per array, {step_s:g} simulated s between refreshes: {refreshes} refreshes; "
          f"ours {ours.calls:,} calls ({ours.calls / refreshes:.1f}/refresh), naive {naive_api.calls:,} "
          f"({naive_api.calls / refreshes:.1f}/refresh): ratio {ratio:.3f}; poller array syncs {poller.syncs}; "
          f"final state equals a full listing: {'yes' if not mismatched else 'NO ' + ', '.join(mismatched)} "
          f"({dt:.0f} s wall)")


RSS_CHILD = textwrap.dedent("""
    import asyncio, json, resource, sys
    from batchtui.aws import open_api
    from batchtui.headless import snapshot_json
    from batchtui.poller import Poller

    async def main(url):
        async with open_api(endpoint_url=url, max_tps=1000.0) as api:
            poller = Poller(api, "ProdQueue")
            for _ in range(3):
                snap = await poller.refresh()
                json.dumps(snapshot_json(snap))
        held = sum(j.array.size if j.array else 1 for j in snap.jobs)
        # VmHWM is this program's own peak; ru_maxrss on Linux also carries the parent's peak across fork+exec.
        hwm = next((int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")), 0)
        print(held, hwm, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

    asyncio.run(main(sys.argv[1]))
""")


async def peak_rss(size: int) -> None:
    async with SimServer(config(size, MID_RUN_S), host="127.0.0.1", port=0) as sim:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", RSS_CHILD, sim.url,
                                                    stdout=asyncio.subprocess.PIPE, env=os.environ.copy())
        out, _ = await proc.communicate()
    held, hwm, maxrss = (int(x) for x in out.split())
    print(f"  peak RSS of a headless poller process holding {held:,} jobs (3 refreshes + JSON): "
          f"{hwm / 1024:.1f} MiB (VmHWM; getrusage ru_maxrss says {maxrss / 1024:.1f} MiB, which on Linux includes "
          f"the benchmark process's own peak inherited across fork+exec)")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=10_000, help="children per big array (default 10,000)")
    p.add_argument("--step", type=float, default=30.0, help="simulated seconds between refreshes in the whole run")
    p.add_argument("--quick", action="store_true", help="whole run at 1,000 per array only")
    a = p.parse_args()
    print("batchtui poller benchmark (simulator, reference pipeline)")
    await cold_snapshot(a.size)
    for size in sorted({1_000, a.size}):
        await unchanged(size)
    await capacity_reads(1_000)
    await whole_run(1_000, a.step)
    if not a.quick:
        await whole_run(a.size, a.step)
    await peak_rss(a.size)
    for failures in (20, 200, 2_000):
        await log_budget(failures)


if __name__ == "__main__":
    asyncio.run(main())
