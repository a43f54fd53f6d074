"""Steps of the reference run on a simulator the test drives (speed 0, `engine.advance`), shared by the waiting-plan
tests of tests/actions and tests/ui."""

from __future__ import annotations


async def to_jobc_running(sim, api) -> dict[str, str]:
    """A simulated minute at a time, to the moment JobB is over (with failed indices) and JobC is not; the reference
    job ids by name."""
    ids = sim.engine.reference_ids
    for _ in range(24 * 60):
        sim.engine.advance(60)
        b, c = await api.describe_jobs([ids["JobB"], ids["JobC"]])
        if b["status"] in ("SUCCEEDED", "FAILED") and c["status"] not in ("SUCCEEDED", "FAILED"):
            break
    assert b["status"] == "FAILED" and c["status"] == "PENDING"
    return ids
