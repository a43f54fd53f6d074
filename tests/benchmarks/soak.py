"""Soak: `batchtui --watch --json --until-done` through a whole simulated reference run with injected faults.

    python tests/benchmarks/soak.py [--array-size 1000] [--target-s 150 | --speed X]
        [--throttle-tps 5] [--latency-ms 25] [--error-rate 3] [--outage 25s+20s ...] [--refresh 1] [--timeout 900]

The simulator runs in this process on its own thread (`batchtui.sim.server.run_in_thread`): `batchtui sim` prints no
counters, and the server's own counts (requests, throttled, injected 5xx, by operation) are the figures wanted. The
watcher is a real `batchtui` subprocess with dummy credentials; its JSON lines are read as they arrive.

Prints (asserts nothing; bounded by --timeout, then the watcher is stopped): refreshes, API calls (sum of apiCalls)
beside the requests the simulator served, throttled calls, 5xx injected, outage answers, error lines shown, the
largest staleness shown (polledAt − staleSince) and the longest gap between fresh snapshots, the exit code (3
expected: the reference run has failures), and whether the final snapshot equals a full listing made with boto3
after the watcher exits (every childCounts number, the failedIndices sets and every top-level status).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from batchtui.sim.build import build_engine
from batchtui.sim.engine import SimConfig  # noqa: E402
from batchtui.sim.server import parse_outage, run_in_thread  # noqa: E402

QUEUE = "ProdQueue"
STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
DUMMY_ENV = {"AWS_ACCESS_KEY_ID": "soak", "AWS_SECRET_ACCESS_KEY": "soak", "AWS_DEFAULT_REGION": "us-east-1",
             "AWS_EC2_METADATA_DISABLED": "true"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--array-size", type=int, default=1000)
    p.add_argument("--speed", type=float, help="simulated seconds per real second (default: from --target-s)")
    p.add_argument("--target-s", type=float, default=150.0,
                   help="real seconds the whole simulated run should take, when --speed is not given")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--throttle-tps", type=float, default=5.0, help="simulator: 429 beyond this many requests/s")
    p.add_argument("--latency-ms", type=float, default=25.0)
    p.add_argument("--error-rate", type=float, default=3.0, help="simulator: percent of requests answered 500")
    p.add_argument("--outage", action="append", metavar="START+LENGTH",
                   help="real-time outage window after the simulator starts (repeatable; default 25s+20s, 80s+40s)")
    p.add_argument("--refresh", default="1")
    p.add_argument("--max-tps", default="10", help="the watcher's --max-tps (above --throttle-tps: it gets throttled)")
    p.add_argument("--timeout", type=float, default=900.0, help="real seconds before the watcher is stopped")
    return p.parse_args(argv)


def run_length_s(size: int, seed: int) -> float:
    """Simulated seconds from submission to the end of the reference run (a dry run of the same engine)."""
    engine = build_engine(SimConfig(speed=0.0, seed=seed, pipeline="reference", array_size=size, start_ms=0))
    engine.run_until_idle()
    return (engine.now_ms - engine.start_ms) / 1000


# --- watching -------------------------------------------------------------------------------------------------


@dataclass
class Watch:
    lines: list[dict] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # monotonic time each line arrived
    bad_lines: list[str] = field(default_factory=list)
    stderr: str = ""
    exit_code: int | None = None
    timed_out: bool = False
    seconds: float = 0.0


def watch(url: str, args: argparse.Namespace) -> Watch:
    cmd = [sys.executable, "-m", "batchtui.cli", "--queue", QUEUE, "--endpoint-url", url, "--watch", "--json",
           "--until-done", "--refresh", args.refresh, "--max-tps", args.max_tps]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(DUMMY_ENV)
    out = Watch()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    timer = threading.Timer(args.timeout, lambda: (setattr(out, "timed_out", True), proc.terminate()))
    timer.start()
    try:
        assert proc.stdout is not None and proc.stderr is not None
        for raw in proc.stdout:
            out.arrivals.append(time.monotonic())
            try:
                out.lines.append(json.loads(raw))
            except ValueError:
                out.bad_lines.append(raw.rstrip("\n"))
            n = len(out.lines)
            if n % 20 == 0:
                print(f"  … {n} lines, {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
        out.stderr = proc.stderr.read()
        out.exit_code = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out.seconds = time.monotonic() - t0
    return out


def _when(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").timestamp()


def staleness(w: Watch) -> tuple[float, float]:
    """(largest polledAt − staleSince on a stale line, longest real gap between two fresh snapshots)."""
    shown = 0.0
    for obj in w.lines:
        if obj.get("error") and obj.get("staleSince"):
            shown = max(shown, _when(obj["polledAt"]) - _when(obj["staleSince"]))
    fresh = [t for obj, t in zip(w.lines, w.arrivals, strict=False) if not obj.get("error")]
    gap = max((b - a for a, b in zip(fresh, fresh[1:], strict=False)), default=0.0)
    return shown, gap


# --- the truth ------------------------------------------------------------------------------------------------


def full_listing(url: str) -> tuple[dict[str, dict[str, Any]], int]:
    """{jobId: {status, counts?, failed?}} for every job in the queue, straight from ListJobs/DescribeJobs with
    retries generous enough to ride out the faults still being injected; and the number of calls made."""
    cfg = Config(retries={"mode": "standard", "total_max_attempts": 30}, connect_timeout=5, read_timeout=30)
    batch = boto3.client("batch", endpoint_url=url, region_name="us-east-1", aws_access_key_id="soak",
                         aws_secret_access_key="soak", config=cfg)
    calls = 0

    def pages(**kwargs: Any) -> list[dict]:
        nonlocal calls
        items: list[dict] = []
        while True:
            calls += 1
            page = batch.list_jobs(**kwargs)
            items += page.get("jobSummaryList") or []
            if not page.get("nextToken"):
                return items
            kwargs["nextToken"] = page["nextToken"]

    tops = pages(jobQueue=QUEUE, maxResults=100, filters=[{"name": "AFTER_CREATED_AT", "values": ["0"]}])
    truth: dict[str, dict[str, Any]] = {}
    for s in tops:
        entry: dict[str, Any] = {"status": s["status"], "name": s.get("jobName")}
        size = (s.get("arrayProperties") or {}).get("size")
        if size:
            per_index = ["?"] * size
            for status in STATUSES:
                for c in pages(arrayJobId=s["jobId"], jobStatus=status, maxResults=1000):
                    index = (c.get("arrayProperties") or {}).get("index")
                    per_index[int(index if index is not None else c["jobId"].rsplit(":", 1)[1])] = status
            counts = {st: per_index.count(st) for st in STATUSES}
            if "?" in per_index:
                counts["UNKNOWN"] = per_index.count("?")
            entry["counts"] = counts
            entry["failed"] = {i for i, st in enumerate(per_index) if st == "FAILED"}
        truth[s["jobId"]] = entry
    return truth, calls


def compare(final: dict, truth: dict[str, dict[str, Any]]) -> list[str]:
    """Every difference between the watcher's last snapshot and the full listing (empty: equal)."""
    diffs: list[str] = []
    jobs = {j["jobId"]: j for j in final.get("jobs", [])}
    for job_id in sorted(set(jobs) | set(truth)):
        mine, real = jobs.get(job_id), truth.get(job_id)
        if mine is None or real is None:
            diffs.append(f"{job_id}: only in {'the listing' if mine is None else 'the snapshot'}")
            continue
        name = mine["jobName"]
        if mine["status"] != real["status"]:
            diffs.append(f"{name}: status {mine['status']} vs {real['status']}")
        if "counts" in real:
            counts = mine.get("childCounts") or {}
            for status in sorted(set(counts) | set(real["counts"])):
                if counts.get(status, 0) != real["counts"].get(status, 0):
                    diffs.append(f"{name}: {status} {counts.get(status, 0)} vs {real['counts'].get(status, 0)}")
            failed = set(mine.get("failedIndices") or ())
            if failed != real["failed"]:
                diffs.append(f"{name}: failedIndices differ ({len(failed ^ real['failed'])} indices)")
    return diffs


# --- main -----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    outages = [parse_outage(o) for o in (args.outage or ["25s+20s", "80s+40s"])]
    sim_length = run_length_s(args.array_size, args.seed)
    speed = args.speed or sim_length / args.target_s
    config = SimConfig(speed=speed, seed=args.seed, pipeline="reference", array_size=args.array_size,
                       throttle_tps=args.throttle_tps, latency_ms=args.latency_ms,
                       error_rate=args.error_rate / 100.0, outages=outages)
    print(f"soak: reference run at {args.array_size:,} per array, {sim_length / 3600:.2f} simulated h at "
          f"{speed:.1f}x (~{sim_length / speed:.0f} s real); throttle {args.throttle_tps:g}/s, latency "
          f"{args.latency_ms:g} ms, 5xx {args.error_rate:g}%, outages {outages}; watcher --refresh {args.refresh} "
          f"--max-tps {args.max_tps}", flush=True)
    handle = run_in_thread(config)
    try:
        server = handle.sim
        assert server is not None
        w = watch(handle.url, args)
        served = (server.request_count, server.throttled_count, server.injected_errors,
                  dict(server.requests_by_operation))
        truth, listing_calls = full_listing(handle.url)
    finally:
        handle.stop()
    report(args, w, served, truth, listing_calls)
    return 0


def report(args: argparse.Namespace, w: Watch, served: tuple, truth: dict, listing_calls: int) -> None:
    requests, throttled, injected, by_op = served
    errors = [obj for obj in w.lines if obj.get("error")]
    fresh = [obj for obj in w.lines if not obj.get("error")]
    shown, gap = staleness(w)
    final = fresh[-1] if fresh else {}
    diffs = compare(final, truth) if final else ["no fresh snapshot at all"]
    api_calls = sum(int(obj.get("apiCalls") or 0) for obj in w.lines)
    kinds: dict[str, int] = {}
    for obj in errors:
        key = obj["error"].split(" after")[0].split(":")[0][:60]
        kinds[key] = kinds.get(key, 0) + 1
    rows = [
        ("array size", f"{args.array_size:,}"),
        ("real time", f"{w.seconds:.0f} s" + (" (timed out: watcher stopped)" if w.timed_out else "")),
        ("refreshes (JSON lines)", f"{len(w.lines)} ({len(fresh)} fresh, {len(errors)} with error)"),
        ("API calls (sum of apiCalls)", f"{api_calls:,}"),
        ("requests the sim served", f"{requests:,} ({', '.join(f'{k} {v}' for k, v in sorted(by_op.items()))})"),
        ("throttled (429) by the sim", f"{throttled:,}"),
        ("5xx injected by the sim", f"{injected:,}"),
        ("error lines shown", f"{len(errors)}" + "".join(f"\n{'':32}{n} × {k}" for k, n in kinds.items())),
        ("largest staleness shown", f"{shown:.0f} s (polledAt − staleSince)"),
        ("longest gap between fresh", f"{gap:.1f} s"),
        ("exit code", f"{w.exit_code} (3 expected)"),
        ("stderr", repr(w.stderr.strip()[:200]) if w.stderr.strip() else "empty"),
        ("non-JSON stdout lines", f"{len(w.bad_lines)}"),
        ("final = full listing", "yes" if not diffs else f"NO: {'; '.join(diffs[:8])}"),
        ("full listing calls", f"{listing_calls}"),
    ]
    print()
    for k, v in rows:
        print(f"{k:<30}  {v}")


if __name__ == "__main__":
    sys.exit(main())
