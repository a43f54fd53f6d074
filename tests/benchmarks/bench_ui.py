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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="fewer frames, skip the RSS process")
    args = ap.parse_args()
    asyncio.run(grid_render(args.size, 10 if args.quick else args.frames))
    if not args.quick:
        asyncio.run(peak_rss(args.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
