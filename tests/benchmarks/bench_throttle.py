"""Throttling benchmark (prints figures, asserts nothing): how often `--once --json` gets the whole truth through a
proxy that answers a share of calls with 429 TooManyRequestsException and 5 % with 500, and how long it takes.

    python tests/benchmarks/bench_throttle.py [--sequences 10] [--size 1000] [--code PATH] [--timeout 300s]

The simulator (frozen clock, the reference pipeline mid-run, one or six of them in ProdQueue) runs in this process;
each fault sequence is its own seeded proxy and its own `batchtui --once --json` process. A run succeeds when it
exits 0 and every job's status and childCounts equal a run without faults. `--code PATH` runs the batchtui found in
PATH (a checkout of another commit) instead, for a baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from aiohttp import web

from batchtui.sim.build import build_engine
from batchtui.sim.engine import Engine, SimConfig
from batchtui.sim.scenarios import submit_reference
from batchtui.sim.server import SimServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the tests' loopback helpers

from loopback import Proxy, aws_error  # noqa: E402

MID_RUN_S = 25 * 60
SERVER_ERROR_SHARE = 0.05


class ThrottlingProxy(Proxy):
    """Forwards to the simulator, except that each request is, by a seeded draw, answered 429 (share `throttle`)
    or 500 (5 %) without being forwarded."""

    def __init__(self, upstream: str, throttle: float, seed: int) -> None:
        super().__init__(upstream)
        self.throttle, self.rng = throttle, random.Random(seed)
        self.requests = self.throttled = self.failed = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        draw = self.rng.random()
        if draw < self.throttle:
            self.throttled += 1
            return aws_error(429, "TooManyRequestsException", "Too Many Requests")
        if draw < self.throttle + SERVER_ERROR_SHARE:
            self.failed += 1
            return aws_error(500, "ServerException", "internal")
        return await self.forward(request, await request.read())


def world(pipelines: int, size: int) -> Engine:
    engine = build_engine(SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=size))
    for _ in range(pipelines - 1):
        submit_reference(engine, size)
    engine.advance(MID_RUN_S)
    return engine


def comparable(doc: dict) -> list:
    return sorted((j["jobId"], j["status"], sorted((j.get("childCounts") or {}).items())) for j in doc["jobs"])


PYTHON = sys.executable  # --python: the interpreter of a venv with another checkout installed (a baseline)


async def once(url: str, code: str | None, timeout: str | None) -> tuple[int, dict | None, float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    if code:
        env["PYTHONPATH"] = code
    argv = [PYTHON, "-m", "batchtui.cli", "--queue", "ProdQueue", "--endpoint-url", url, "--once", "--json"]
    if timeout:
        argv += ["--timeout", timeout]
    t0 = time.monotonic()
    # cwd: `python -m` puts the current directory first on sys.path, ahead of any installed checkout
    proc = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE, cwd=code or None)
    out, err = await proc.communicate()
    took = time.monotonic() - t0
    doc = json.loads(out) if proc.returncode == 0 and out.strip() else None
    return proc.returncode or 0, doc, took, err.decode().strip()


async def measure(pipelines: int, throttle: float, args: argparse.Namespace) -> None:
    engine = world(pipelines, args.size)
    async with SimServer(engine.config, engine=engine) as sim:
        rc, truth, _, err = await once(sim.url, args.code, args.timeout)
        if truth is None:
            print(f"  the fault-free run failed: {err}")
            return
        want = comparable(truth)
        oks, times, calls, errors = 0, [], [], []
        for seq in range(args.sequences):
            async with ThrottlingProxy(sim.url, throttle, seed=seq) as proxy:
                rc, doc, took, err = await once(proxy.url, args.code, args.timeout)
            ok = rc == 0 and doc is not None and comparable(doc) == want
            oks += ok
            times.append(took)
            calls.append(proxy.requests)
            if not ok:
                errors.append(err.splitlines()[-1][:110] if err else f"exit {rc}, a different state")
        print(f"  {pipelines} pipeline{'s' if pipelines > 1 else ' '} at {throttle:.0%} throttled + 5 % 500: "
              f"{oks:>2}/{args.sequences} complete and exact · time median {statistics.median(times):5.1f} s, "
              f"max {max(times):5.1f} s · requests median {statistics.median(calls):,.0f} "
              f"(fault-free {truth['apiCalls']:,})")
        for e in sorted(set(errors))[:3]:
            print(f"      failed: {e}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sequences", type=int, default=10)
    p.add_argument("--size", type=int, default=1000, help="children per array (default 1,000)")
    p.add_argument("--code", help="PYTHONPATH of another batchtui checkout, for a baseline")
    p.add_argument("--timeout", default="300s", help="--timeout passed to --once (omit with 'none')")
    p.add_argument("--only", help="e.g. 1@0.25 to run one configuration")
    p.add_argument("--python", help="the interpreter of a venv where --code is installed (editable installs win over "
                                    "PYTHONPATH)")
    args = p.parse_args()
    global PYTHON
    PYTHON = args.python or sys.executable
    if args.timeout == "none":
        args.timeout = None
    where = args.code or str(Path(__file__).resolve().parents[2])
    print(f"bench_throttle: batchtui from {where}, {args.sequences} fault sequences, arrays of {args.size:,}")
    configs = [(1, 0.25), (1, 0.5), (6, 0.25), (6, 0.5)]
    if args.only:
        n, share = args.only.split("@")
        configs = [(int(n), float(share))]
    for pipelines, throttle in configs:
        asyncio.run(measure(pipelines, throttle, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
