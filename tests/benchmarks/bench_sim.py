"""Simulator figures at full size (a benchmark that prints, not a test).

    python tests/benchmarks/bench_sim.py [--array-size 10000]

Prints: the time to build the reference pipeline (20,012 jobs at 10,000) and to start the server; the time to answer
a 1000-item ListJobs page (raw HTTP, and through boto3); a 100-id DescribeJobs; and the time to advance through the
whole reference run, with its simulated length.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from batchtui.sim.build import build_engine
from batchtui.sim.engine import STATUS_NAMES, SimConfig  # noqa: E402
from batchtui.sim.server import SimServer, run_in_thread  # noqa: E402


def _post(url: str, op: str, body: dict) -> tuple[float, dict]:
    req = urllib.request.Request(f"{url}/v1/{op}", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as resp:
        data = json.loads(resp.read())
    return time.perf_counter() - t, data


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--array-size", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=11)
    args = p.parse_args()
    n = args.array_size
    base = dict(speed=0.0, seed=args.seed, array_size=n, start_ms=1_790_000_000_000)

    t = time.perf_counter()
    engine = build_engine(SimConfig(**base))
    build = time.perf_counter() - t
    jobs = len(engine.job_list) + sum(j.size for j in engine.job_list)
    print(f"reference pipeline, array size {n:,}: {jobs:,} jobs")
    print(f"  build engine                         {_ms(build)}")

    async def start_server() -> float:
        t0 = time.perf_counter()
        async with SimServer(SimConfig(**base)) as sim:
            took = time.perf_counter() - t0
            assert sim.url
        return took

    print(f"  start SimServer (build + bind)       {_ms(asyncio.run(start_server()))}")

    t = time.perf_counter()
    engine.run_until_idle()
    whole = time.perf_counter() - t
    hours = (engine.now_ms - engine.start_ms) / 3_600_000
    finals = {name: STATUS_NAMES[engine.jobs[jid].status] for name, jid in engine.reference_ids.items()}
    print(f"  advance through the whole run        {_ms(whole)}  ({hours:.2f} simulated hours; {finals})")
    b = engine.jobs[engine.reference_ids["JobB"]]
    c = engine.jobs[engine.reference_ids["JobC"]]
    print(f"  JobB failed {len(b.by_status[6]):,}, JobC failed {len(c.by_status[6]):,}")

    # A listing at the busiest moment: 40 simulated minutes in, thousands of JobB children RUNNABLE.
    handle = run_in_thread(SimConfig(**{**base, "advance_s": 40 * 60}))
    try:
        job_b = handle.engine.reference_ids["JobB"]
        counts = handle.engine.jobs[job_b].counts()
        status = max(counts, key=lambda s: counts[s])
        timings, items = [], 0
        token = None
        for _ in range(3):  # page through the largest status, three times over
            while True:
                body = {"arrayJobId": job_b, "jobStatus": status, "maxResults": 1000}
                if token:
                    body["nextToken"] = token
                took, data = _post(handle.url, "listjobs", body)
                timings.append(took)
                items += len(data["jobSummaryList"])
                token = data.get("nextToken")
                if not token:
                    break
        print(f"  ListJobs 1000-item page (raw HTTP)   {_ms(statistics.median(timings))} median, "
              f"{_ms(max(timings))} max over {len(timings)} pages ({status}: {counts[status]:,})")
        q = [_post(handle.url, "listjobs", {"jobQueue": "ProdQueue", "jobStatus": "PENDING"})[0] for _ in range(20)]
        print(f"  ListJobs queue page (raw HTTP)       {_ms(statistics.median(q))} median")
        ids = [f"{job_b}:{i}" for i in range(100)]
        d = [_post(handle.url, "describejobs", {"jobs": ids})[0] for _ in range(20)]
        print(f"  DescribeJobs 100 ids (raw HTTP)      {_ms(statistics.median(d))} median")
        try:
            import boto3
            from botocore.config import Config

            os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
            client = boto3.client("batch", endpoint_url=handle.url, region_name="us-east-1",
                                  config=Config(retries={"total_max_attempts": 1}))
            client.list_jobs(arrayJobId=job_b, jobStatus=status, maxResults=1000)
            bt = []
            for _ in range(5):
                t = time.perf_counter()
                client.list_jobs(arrayJobId=job_b, jobStatus=status, maxResults=1000)
                bt.append(time.perf_counter() - t)
            print(f"  ListJobs 1000-item page (boto3)      {_ms(statistics.median(bt))} median (incl. parsing)")
        except ImportError:
            pass
    finally:
        handle.stop()


if __name__ == "__main__":
    main()
