"""Make the README's screenshots: SVG (Textual's own export) and PNG (rsvg-convert) of every screen.

    python tests/ui/screenshots.py [--out screenshots] [--size 160x50] [--demo]
    python tests/ui/screenshots.py --scenario stuck-capacity --scenario blocked-head   # capacity-NAME.svg/.png
    python tests/ui/screenshots.py --plans                                             # plans.svg/.png

Without --demo the screens show the deterministic hand-built reference snapshot (tests/ui/factory.py); with --demo
they show the embedded simulator 40 simulated minutes into the reference run (fixed seed). --scenario shoots the
Capacity view (`c`) of `batchtui --demo --scenario NAME` 20 simulated minutes in (JobA done, the pipeline stuck).
--plans shoots the Plans view (`W`) over two pending plans (tests/ui/plans_factory.py, in a state directory of its
own), the cursor on the one with a blocked step.
PNGs need `rsvg-convert` (librsvg2-bin) and look best with the Fira Code font installed (fonts-firacode); without
rsvg-convert only the SVGs are written.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from textual.pilot import Pilot  # noqa: E402

from batchtui.ui.screens.pipeline import PipelineScreen  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_S = 20 * 60  # JobA has finished: the pipeline's RUNNABLE work meets what is wrong


def svg_for_rsvg(svg: str) -> str:
    """rsvg ignores textLength and draws the no-break spaces Textual writes with a fallback font: plain spaces,
    xml:space=preserve and a monospace fallback keep the columns straight."""
    svg = svg.replace("&#160;", " ").replace('<svg class="rich-terminal"', '<svg xml:space="preserve" '
                                                                      'class="rich-terminal"', 1)
    return svg.replace("font-family: Fira Code, monospace;", 'font-family: "Fira Code", "DejaVu Sans Mono", monospace;')


def to_png(svg_path: Path) -> Path | None:
    exe = shutil.which("rsvg-convert")
    if exe is None:
        return None
    fixed = svg_path.with_suffix(".rsvg.svg")
    fixed.write_text(svg_for_rsvg(svg_path.read_text()))
    png = svg_path.with_suffix(".png")
    subprocess.run([exe, "-w", "1600", str(fixed), "-o", str(png)], check=True)
    fixed.unlink()
    return png


async def first_refresh(app, pilot: Pilot) -> None:
    for _ in range(100):  # the first refresh (a demo's takes a moment)
        if app.snap is not None and app.snap.jobs:
            break
        await pilot.pause(0.1)


async def shoot_capacity(app, out: Path, size: tuple[int, int], name: str) -> Path:
    """The Capacity view only, as the dashboard opens it on `c`."""
    async with app.run_test(size=size) as pilot:
        for _ in range(600):  # the whole first refresh: the capacity read comes after the arrays'
            if app.snap is not None and not app.snap.loading and not app.refreshing:
                break
            await pilot.pause(0.1)
        await pilot.press("c")
        await pilot.pause(0.5)
        path = out / f"{name}.svg"
        path.write_text(app.export_screenshot(title=f"batchtui – {name}"))
    return path


async def shoot_plans(out: Path, size: tuple[int, int]) -> Path:
    """The Plans view on the reference snapshot, with plans_factory's two plans in a temporary state directory."""
    import os
    import tempfile

    import plans_factory
    import ui_factory
    from dev_app import make_app

    with tempfile.TemporaryDirectory() as state:
        os.environ["XDG_STATE_HOME"] = state
        plans_factory.write_plans(ui_factory.reference())
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await first_refresh(app, pilot)
            await pilot.press("W")
            await pilot.pause(0.3)
            await pilot.press("down")
            await pilot.pause(0.5)
            path = out / "plans.svg"
            path.write_text(app.export_screenshot(title="batchtui – plans"))
    return path


async def shoot(app, out: Path, size: tuple[int, int], prefix: str = "", warmup=None) -> list[Path]:
    shots: list[Path] = []

    async def save(pilot: Pilot, name: str) -> None:
        await pilot.pause(0.5)
        path = out / f"{prefix}{name}.svg"
        path.write_text(app.export_screenshot(title=f"batchtui – {name}"))
        shots.append(path)

    async with app.run_test(size=size) as pilot:
        await first_refresh(app, pilot)
        if warmup is not None:
            await warmup(pilot)
        await save(pilot, "pipeline")
        await pilot.press("down", "enter")
        await save(pilot, "array")
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"status:FAILED", "enter")
        await save(pilot, "array-filtered")
        await pilot.press("a", "R")
        await save(pilot, "retry-plan")
        await pilot.press("escape", "U", "enter")
        await save(pilot, "detail")
        await pilot.press("question_mark")
        await save(pilot, "help")
        for _ in range(8):  # back to the pipeline screen
            if isinstance(app.screen, PipelineScreen):
                break
            await pilot.press("escape")
            await pilot.pause()
        await pilot.press("F")
        await save(pilot, "failures")
        await pilot.press("down", "R")
        await pilot.pause(1.0)  # the plan window checks the raised memory against the queue's instances
        await save(pilot, "failures-repair")
    return shots


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "screenshots")
    ap.add_argument("--size", default="160x50")
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--scenario", action="append", default=[], help="the Capacity view of this --demo scenario")
    ap.add_argument("--plans", action="store_true", help="the Plans view (W) over two pending plans")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.plans:
        shots = [asyncio.run(shoot_plans(args.out, (w, h)))]
    elif args.scenario:
        from demo_app import demo_app_context

        async def capacity(name: str) -> Path:
            async with demo_app_context(advance_s=SCENARIO_S, scenario=name) as app:
                return await shoot_capacity(app, args.out, (w, h), f"capacity-{name}")

        shots = [asyncio.run(capacity(name)) for name in args.scenario]
    elif args.demo:
        from demo_app import demo_app_context, play

        async def run() -> list[Path]:
            async with demo_app_context() as app:
                return await shoot(app, args.out, (w, h), warmup=play)

        shots = asyncio.run(run())
    else:
        from dev_app import make_app

        shots = asyncio.run(shoot(make_app(), args.out, (w, h)))
    for svg in shots:
        png = to_png(svg)
        print(svg, png or "(no rsvg-convert: SVG only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
