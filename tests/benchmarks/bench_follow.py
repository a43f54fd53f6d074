"""Following retries sent to another queue (Poller.follow): calls per refresh with N followed retries, beside the
same poller not told of them (before: the retries are simply not seen) and beside listing the other queue instead
(what watching it would cost on a busy queue); the calls per refresh while such a retry waits RUNNABLE in OtherQueue
(whose world is then read on the capacity cadence); and what reading the audit log's --since window costs on a 10 MB
log. Prints figures, asserts nothing.

    python tests/benchmarks/bench_follow.py [--size 1000] [--busy 3000] [--log-mb 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from batchtui import audit, execute  # noqa: E402
from batchtui.aws import open_api  # noqa: E402
from batchtui.model import INDEX_ENV, INDICES_ENV, RETRY_OF_TAG, Status  # noqa: E402
from batchtui.plan import KIND_RETRY, SUBMIT, Call, Plan, Target  # noqa: E402
from batchtui.poller import Poller  # noqa: E402
from batchtui.sim import engine as sim_engine  # noqa: E402
from batchtui.sim import server as sim_server  # noqa: E402

QUEUE, OTHER = "ProdQueue", "OtherQueue"
JOBDEF = "JobB-CPU-Intensive-Processing:1"


def submit(sim, body: dict) -> str:
    """Straight through the simulator's API layer (no HTTP, no budget): setting the stage is not what is measured."""
    return sim.batch.submit_job(body)["jobId"]


def retries(sim, original: str, failed: list[int], n: int) -> list[str]:
    """n retries of the original's failed indices in OtherQueue: arrays of two where it can, plain ones otherwise."""
    ids = []
    for k in range(n):
        pair = [failed[k % len(failed)], failed[(k + 1) % len(failed)]]
        body = {"jobName": f"JobB-retry{k}", "jobQueue": OTHER, "jobDefinition": JOBDEF,
                "tags": {RETRY_OF_TAG: original}}
        if len(set(pair)) == 2:
            body["arrayProperties"] = {"size": 2}
            env = {"name": INDICES_ENV, "value": ",".join(map(str, pair))}
        else:
            env = {"name": INDEX_ENV, "value": str(pair[0])}
        body["containerOverrides"] = {"environment": [env]}
        ids.append(submit(sim, body))
    return ids


async def other_queue_listing(api) -> int:
    """The alternative: list OtherQueue (every status, 100 a page) at each refresh to find the retries by name."""
    calls0 = api.calls
    kwargs = {"jobQueue": OTHER, "maxResults": 100, "filters": [{"name": "AFTER_CREATED_AT", "values": ["0"]}]}
    while True:
        page = await api.list_jobs(**kwargs)
        if not page.get("nextToken"):
            return api.calls - calls0
        kwargs["nextToken"] = page["nextToken"]


async def calls_with(n: int, size: int, busy: int) -> dict[str, object]:
    config = sim_engine.SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=size, summary_lag_s=0.0)
    async with sim_server.SimServer(config, host="127.0.0.1", port=0) as sim:
        sim.engine.run_until_idle()
        b = sim.engine.reference_ids["JobB"]
        for k in range(busy):  # someone else's work in OtherQueue
            submit(sim, {"jobName": f"Backfill{k}", "jobQueue": OTHER, "jobDefinition": JOBDEF})
        async with open_api(endpoint_url=sim.url, max_tps=1000.0) as api:
            first = await Poller(api, QUEUE).refresh()
            failed = first.job(b).array.indices(Status.FAILED)
            ids = retries(sim, b, failed, n)
            plain = Poller(api, QUEUE)  # before: not told
            told = Poller(api, QUEUE)
            told.follow(ids)
            out: dict[str, object] = {"failed": len(failed)}
            out["before"] = [(await plain.refresh()).api_calls for _ in range(3)]
            out["after_cold"] = (await told.refresh()).api_calls
            out["after_running"] = [(await told.refresh()).api_calls for _ in range(3)]
            out["shown"] = told.followed
            sim.engine.run_until_idle()  # the retries finish
            out["after_finishing"] = (await told.refresh()).api_calls
            out["after_finished"] = [(await told.refresh()).api_calls for _ in range(3)]
            out["listing"] = await other_queue_listing(api)
    return out


async def follow_figures(size: int, busy: int) -> None:
    print(f"Calls per refresh of {QUEUE} (reference pipeline, {size:,} per array, run to its end) with N retries of "
          f"JobB in {OTHER}, which also holds {busy:,} other jobs:")
    for n in (0, 1, 10, 100, 300):
        f = await calls_with(n, size, busy)
        print(f"  N={n:>3}: before (not followed, not shown) {f['before']}; after: first refresh {f['after_cold']}, "
              f"while they run {f['after_running']}, the refresh they finish {f['after_finishing']}, then "
              f"{f['after_finished']} (shown: {f['shown']}); listing {OTHER} instead: {f['listing']} ListJobs a "
              f"refresh before any DescribeJobs")


# --- capacity: a followed retry waiting RUNNABLE in OtherQueue -----------------------------------------------------


async def capacity_calls(size: int) -> dict[str, object]:
    """JobB's failed indices retried into OtherQueue as one array, OtherCE then left with only m6i.large (2 vCPU,
    JobB needs 32): calls per refresh while it waits, the capacity reads not due (within CAPACITY_EVERY_S) and due
    (the cadence set to 0: every refresh reads, as once a minute does), which operations a due refresh makes, and
    the retry's diagnosis."""
    from batchtui import poller as poller_module
    from batchtui.analysis import job_fields

    config = sim_engine.SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=size, summary_lag_s=0.0)
    async with sim_server.SimServer(config, host="127.0.0.1", port=0) as sim:
        sim.engine.run_until_idle()
        b = sim.engine.reference_ids["JobB"]
        async with open_api(endpoint_url=sim.url, max_tps=1000.0) as api:
            failed = (await Poller(api, QUEUE).refresh()).job(b).array.indices(Status.FAILED)
            body = {"jobName": "JobB-retry", "jobQueue": OTHER, "jobDefinition": JOBDEF, "tags": {RETRY_OF_TAG: b},
                    "arrayProperties": {"size": len(failed)},
                    "containerOverrides": {"environment": [{"name": INDICES_ENV, "value": ",".join(map(str, failed))}]}}
            retry = submit(sim, body)
            sim.batch.update_compute_environment({"computeEnvironment": "OtherCE",
                                                  "computeResources": {"instanceTypes": ["m6i.large"]}})
            sim.engine.advance(60)
            poller = Poller(api, QUEUE)
            poller.follow([retry])
            out: dict[str, object] = {"cold": (await poller.refresh()).api_calls}
            out["not_due"] = [(await poller.refresh()).api_calls for _ in range(3)]
            every, poller_module.CAPACITY_EVERY_S = poller_module.CAPACITY_EVERY_S, 0.0
            try:
                before = dict(sim.requests_by_operation)
                out["due"] = [(await poller.refresh()).api_calls for _ in range(3)]
                ops = {op: n - before.get(op, 0) for op, n in sim.requests_by_operation.items()}
                out["due_ops"] = {op: n // 3 for op, n in sorted(ops.items()) if n}
                snap = await poller.refresh()
            finally:
                poller_module.CAPACITY_EVERY_S = every
            waiting = job_fields(snap)[retry].get("waiting") or {}
            out["waiting"] = f"{waiting.get('cause')}: {waiting.get('text')}"
    return out


async def capacity_figures(size: int) -> None:
    f = await capacity_calls(size)
    print(f"Calls per refresh of {QUEUE} ({size:,} per array, run to its end) with JobB's failed indices retried "
          f"into {OTHER} and waiting RUNNABLE there (OtherCE: m6i.large only):")
    print(f"  first refresh {f['cold']}; capacity not due {f['not_due']}; due (once a minute) {f['due']}, by "
          f"operation {f['due_ops']}")
    print(f"  the retry's waiting: {f['waiting']}")


# --- the audit log --------------------------------------------------------------------------------------------------

URL = "http://127.0.0.1:4566"


def action_lines(n: int, at: datetime, indices: int) -> list[str]:
    plan = Plan(KIND_RETRY, (Call(SUBMIT, {"jobName": "JobB-retry", "jobQueue": OTHER, "jobDefinition": JOBDEF,
                                          "tags": {RETRY_OF_TAG: "orig"}}, "JobB-retry"),),
                (Target("orig", "JobB", tuple(range(indices))),))
    context = audit.who(user="bench", region="us-east-1", endpoint=URL)
    step = execute.StepResult(0, SUBMIT, "JobB-retry", True, job_id=f"job-{n}", job_name="JobB-retry")
    return [json.dumps(r, separators=(",", ":")) for r in (
        audit.intent_record(f"p{n}", plan, context, now=at), audit.call_record(f"p{n}", step, now=at),
        audit.outcome_record(f"p{n}", execute.Outcome(plan, True, (step,)), now=at))]


def write_log(path: Path, mb: float, span: timedelta, now: datetime) -> int:
    """A log of about `mb` MB of retry actions spread evenly over `span` up to `now`; how many actions."""
    one = sum(len(x) + 1 for x in action_lines(0, now, 40))
    n = int(mb * 1e6 / one)
    with open(path, "w") as f:
        for k in range(n):
            at = now - span + span * (k + 1) / n
            f.write("\n".join(action_lines(k, at, 40)) + "\n")
    return n


def read_figures(mb: float) -> None:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "actions.jsonl"
        n = write_log(path, mb, timedelta(days=3), now)
        size = path.stat().st_size
        print(f"Reading the audit log: {size / 1e6:.1f} MB, {n:,} retry actions over the last 3 days:")
        for label, since in (("--since 1h", 3600.0), ("--since 24h (the default)", 86400.0),
                             ("--since 4d (all of it)", 4 * 86400.0)):
            reader = audit.HistoryReader(path, since_s=since, endpoint=URL, region="us-east-1")
            t0 = time.perf_counter()
            h = reader.read()
            cold = time.perf_counter() - t0
            with open(path, "a") as f:
                f.write("\n".join(action_lines(n + 1, datetime.now(UTC), 40)) + "\n")
            t0 = time.perf_counter()
            h2 = reader.read()
            warm = time.perf_counter() - t0
            print(f"  {label}: first read {cold * 1000:.1f} ms, {h.read_bytes / 1e6:.2f} MB taken in, "
                  f"{len(h.submitted):,} retries; after one more action is appended: {warm * 1000:.2f} ms, "
                  f"{(h2.read_bytes - h.read_bytes) / 1e3:.1f} kB more")
        t0 = time.perf_counter()
        with open(path, encoding="utf-8") as f:
            actions, _ = audit.read_actions(f)
        whole = time.perf_counter() - t0
        print(f"  for scale, `batchtui audit`'s read_actions over the whole file: {whole * 1000:.0f} ms "
              f"({len(actions):,} actions)")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=1000)
    p.add_argument("--busy", type=int, default=3000)
    p.add_argument("--log-mb", type=float, default=10.0)
    args = p.parse_args()
    asyncio.run(follow_figures(args.size, args.busy))
    asyncio.run(capacity_figures(args.size))
    print(f"  (DescribeJobs takes 100 ids: {math.ceil(300 / 100)} calls describe 300 followed jobs)")
    read_figures(args.log_mb)


if __name__ == "__main__":
    main()
