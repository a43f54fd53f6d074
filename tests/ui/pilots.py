"""Waiting in pilot tests (Textual's `app.run_test()`): a test acts only once the dashboard has what it acts on.

`wait_for` fails the test when its condition never holds; `ready` waits a bounded time for the first snapshot(s)
and lets the test go on either way (some tests are about a first refresh that fails)."""

from __future__ import annotations

from collections.abc import Callable


async def wait_for(pilot, predicate: Callable[[], bool], tries: int = 500) -> None:
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


async def ready(pilot, refreshes: int = 1, tries: int = 200) -> None:
    """The scripted source (ui_factory.ScriptedSource) has been refreshed `refreshes` times, its snapshot is the
    app's and no refresh runs; then one pause for it to be drawn."""
    app = pilot.app
    for _ in range(tries):
        if app.source.refreshes >= refreshes and not app.refreshing and app.snap is not None:
            break
        await pilot.pause(0.01)
    await pilot.pause()
