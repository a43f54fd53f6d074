"""Dashboard benchmark (prints figures, asserts nothing).

    python tests/benchmarks/bench_ui.py [--size 10000] [--frames 50] [--quick]

Prints:
1. the full-frame render time of the 10,000-index grid on a 160×50 screen (every visible line through
   `IndexGrid.render_line`): cold (line cache empty), after a refresh changed statuses, with a filter, and warm –
   target ≤ 10 ms cold;
2. the peak RSS of a separate dashboard process on the reference pipeline at --size, fed by the real poller over
   HTTP from a simulator in this process (so the simulator's memory is not counted), after it drilled into every
   screen and refreshed while the simulated clock moved – target ≤ 150 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import ui_factory as factory  # noqa: E402

from batchtui.model import Status  # noqa: E402
from batchtui.sim.engine import SimConfig  # noqa: E402
from batchtui.sim.server import SimServer  # noqa: E402
from batchtui.ui.app import BatchtuiApp  # noqa: E402
from batchtui.ui.widgets.index_grid import IndexGrid  # noqa: E402

MID_RUN_S = 40 * 60


def ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"median {statistics.median(samples) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms"


async def grid_render(size: int, frames: int) -> None:
    snap = factory.reference(size)
    app = BatchtuiApp(factory.ScriptedSource([snap]), refresh_s=3600, bell=False, clock=lambda: factory.NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        while app.snap is None:
            await pilot.pause(0.01)
        await pilot.press("down", "enter")
        await pilot.pause(0.2)
        grid = app.screen.query_one(IndexGrid)
        lines = grid.size.height
        visible = min(size, grid._geo.line_count(size) * grid._geo.cols * 2)
        print(f"1. grid: {size:,} indices, {grid._geo.cols} columns × {lines} lines on screen "
              f"({grid._geo.line_count(size)} lines in all, {visible:,} indices visible at once)")
        cold, changed, filtered, warm = [], [], [], []
        statuses = bytearray(grid.statuses)
        running = [i for i, b in enumerate(statuses) if b == Status.RUNNING]
        for k in range(frames):
            grid._lines.clear()
            t = time.perf_counter()
            grid.render_full_frame()
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            grid.render_full_frame()
            warm.append(time.perf_counter() - t)
            statuses[running[k % len(running)]] = Status.SUCCEEDED  # a refresh moved one child
            t = time.perf_counter()
            grid.set_data(bytes(statuses))
            grid.render_full_frame()
            changed.append(time.perf_counter() - t)
        mask = bytes(1 if b == Status.FAILED else 0 for b in statuses)
        for _ in range(frames):
            t = time.perf_counter()
            grid.set_data(bytes(statuses), mask if _ % 2 else None)
            grid.render_full_frame()
            filtered.append(time.perf_counter() - t)
        print(f"   cold (no cached line)          {ms(cold)}   (target ≤ 10 ms)")
        print(f"   after a refresh (new statuses) {ms(changed)}")
        print(f"   filter on/off (new mask)       {ms(filtered)}")
        print(f"   warm (every line cached)       {ms(warm)}")


RSS_CHILD = textwrap.dedent("""
    import asyncio, resource, sys
    from batchtui.ui.app import BatchtuiApp
    from batchtui.ui.source import open_source

    async def main(url):
        async with open_source("ProdQueue", region="us-east-1", profile=None, endpoint_url=url, max_tps=50,
                               since_s=86400) as source:
            app = BatchtuiApp(source, refresh_s=0.5, bell=False)
            async with app.run_test(size=(160, 50)) as pilot:
                while app.snap is None or app.refreshing:
                    await pilot.pause(0.05)
                for keys in (["down", "enter"], ["slash", *"status:FAILED", "enter"], ["enter"], ["escape"],
                             ["escape", "down", "enter"], ["escape", "escape", "question_mark"], ["escape"]):
                    await pilot.press(*keys)
                    await pilot.pause(1.0)
                refreshes = source._poller.refreshes
                jobs = sum((j.array.size if j.array is not None else 1) for j in app.snap.jobs)
        print(refreshes, jobs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

    asyncio.run(main(sys.argv[1]))
""")


async def peak_rss(size: int) -> None:
    config = SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=size, advance_s=MID_RUN_S)
    async with SimServer(config) as sim:
        async def clock() -> None:  # the run goes on while the dashboard watches it
            while True:
                await asyncio.sleep(0.5)
                sim.engine.advance(120)

        ticker = asyncio.create_task(clock())
        t = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", RSS_CHILD, sim.url,
                                                    stdout=asyncio.subprocess.PIPE, env=os.environ.copy())
        out, _ = await proc.communicate()
        ticker.cancel()
    refreshes, jobs, kib = out.split()
    print(f"2. peak RSS of a dashboard process on the reference pipeline ({int(jobs):,} jobs and children, "
          f"{int(refreshes)} refreshes, every screen visited, {time.perf_counter() - t:.0f} s): "
          f"{int(kib) / 1024:.1f} MiB   (target ≤ 150 MiB)")


BIG_CHILD = textwrap.dedent("""
    import asyncio, resource, statistics, sys, time
    from dataclasses import replace
    sys.path.insert(0, sys.argv[1])
    import ui_factory as f
    from batchtui.model import Status
    from batchtui.ui.app import BatchtuiApp

    def chains(n, moved=()):
        jobs, prev = [], None
        for k in range(n):
            name = f"c{k // 10:04d}-step{k % 10}"
            deps = (f.Dependency(f.job_id(prev)),) if k % 10 else ()
            status = Status.SUCCEEDED if name in moved else Status.RUNNING if k % 10 == 0 else Status.PENDING
            jobs.append(f.plain(name, status, depends=deps, created=k % 10))
            prev = name
        return f.snapshot(jobs)

    def six():
        base = f.reference(10_000)
        jobs = []
        for p in range(6):
            ids = {j.job_id: f"{p}{j.job_id[1:]}" for j in base.jobs}
            for j in base.jobs:
                deps = tuple(replace(d, job_id=ids.get(d.job_id, d.job_id)) for d in j.depends_on)
                jobs.append(replace(j, job_id=ids[j.job_id], job_name=f"{j.job_name}-{p}", depends_on=deps))
        return f.snapshot(jobs)

    def case(kind):
        if kind == "six":
            snap = six()
            return [snap] + [replace(snap, api_calls=snap.api_calls + k) for k in range(1, 6)]
        n = int(kind)
        return [chains(n)] + [chains(n, moved={f"c{k:04d}-step0", f"c{k + 7:04d}-step0"}) for k in range(1, 6)]

    async def main(kind):
        snaps = case(kind)
        source = f.ScriptedSource(snaps)
        app = BatchtuiApp(source, refresh_s=3600, bell=False, clock=lambda: f.NOW)
        t0 = time.perf_counter()
        async with app.run_test(size=(160, 50)) as pilot:
            while app.snap is None or app.refreshing:
                await pilot.pause(0.005)
            await pilot.pause()
            first = time.perf_counter() - t0
            refresh = []
            for k in range(1, len(snaps)):
                t = time.perf_counter()
                app.start_refresh()
                while source.refreshes <= k or app.refreshing:
                    await pilot.pause(0.002)
                await pilot.pause()
                refresh.append(time.perf_counter() - t)
            frames = []
            for _ in range(5):
                t = time.perf_counter()
                app.screen.refresh(layout=True)
                await pilot.pause()
                frames.append(time.perf_counter() - t)
            keys = []
            for _ in range(20):
                t = time.perf_counter()
                await pilot.press("down")
                keys.append(time.perf_counter() - t)
            jobs = len(app.snap.jobs)
            children = sum(j.array.size for j in app.snap.jobs if j.array is not None)
        med = lambda xs: statistics.median(xs) * 1000
        print(jobs, children, first, med(refresh), max(refresh) * 1000, med(frames), med(keys), max(keys) * 1000,
              resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

    asyncio.run(main(sys.argv[2]))
""")


async def big_queues(code: str | None, limit_s: float, python: str | None = None) -> None:
    root = Path(code) if code else Path(__file__).resolve().parents[2]
    env = os.environ.copy()
    if code:
        env["PYTHONPATH"] = code
    print(f"3. big queues (batchtui from {root}):")
    for kind, label in (("1000", "1,000 plain jobs"), ("5000", "5,000 plain jobs"), ("six", "six 10,000-child "
                                                                                            "pipelines")):
        t = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(python or sys.executable, "-c", BIG_CHILD,
                                                    str(root / "tests" / "ui"), kind,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                    env=env, cwd=str(root))
        try:
            out, err = await asyncio.wait_for(proc.communicate(), limit_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            print(f"   {label:<28} did not finish within {limit_s:.0f} s")
            continue
        if proc.returncode:
            print(f"   {label:<28} failed: {err.decode().strip().splitlines()[-1][:100]}")
            continue
        jobs, children, first, refresh, refresh_max, frame, key, key_max, kib = out.split()
        print(f"   {label:<28} {int(jobs):>6,} jobs {int(children):>7,} children · first screen "
              f"{float(first):5.2f} s · refresh→screen median {float(refresh):7.1f} ms (max {float(refresh_max):7.1f})"
              f" · frame {float(frame):6.1f} ms · key median {float(key):6.1f} ms (max {float(key_max):6.1f}) · "
              f"RSS {int(kib) / 1024:5.0f} MiB · {time.perf_counter() - t:4.0f} s in all")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="fewer frames, skip the RSS process")
    ap.add_argument("--big", action="store_true", help="only the big-queue cases (3)")
    ap.add_argument("--code", help="with --big: PYTHONPATH of another batchtui checkout, for a baseline")
    ap.add_argument("--limit", type=float, default=300.0, help="with --big: seconds a case may take (default 300)")
    ap.add_argument("--python", help="with --big: the interpreter of a venv where that checkout is installed")
    args = ap.parse_args()
    if args.big:
        asyncio.run(big_queues(args.code, args.limit, args.python))
        return 0
    asyncio.run(grid_render(args.size, 10 if args.quick else args.frames))
    if not args.quick:
        asyncio.run(peak_rss(args.size))
        asyncio.run(big_queues(None, args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
