"""Triage on the simulator through the real poller over HTTP: the reference run's failures come out as groups with
the causes the simulator gave them, dependency failures are never called crashes, and every failure is counted once."""

from __future__ import annotations

import pytest

from batchtui.analysis import job_fields
from batchtui.aws import open_api
from batchtui.poller import Poller

SimServer = pytest.importorskip("batchtui.sim.server").SimServer
SimConfig = pytest.importorskip("batchtui.sim.engine").SimConfig


async def test_the_reference_runs_failures_are_grouped_by_cause_with_their_repairs():
    config = SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=300, advance_s=3 * 3600,
                       summary_lag_s=0.0)
    async with SimServer(config) as sim, open_api(endpoint_url=sim.url) as api:
        snap = await Poller(api, "ProdQueue").refresh()
        fields = job_fields(snap)
    by_name = {j.job_name: fields[j.job_id]["failureGroups"] for j in snap.jobs}
    b, c = by_name["JobB"], by_name["JobC"]
    assert {g["cause"] for g in b} <= {"app", "oom", "spot", "start", "timeout"} and b  # JobB failed on its own
    assert all(g["repair"] == {"app": "fix-first", "oom": "retry-more-memory", "spot": "retry", "start": "retry",
                               "timeout": "retry-longer-timeout"}[g["cause"]] for g in b)
    assert {g["cause"] for g in c} >= {"dependency"}  # its N_TO_N partners failed: not crashes of its own
    for name, groups in by_name.items():
        job = snap.by_name(name)
        failed = job.array.counts()["FAILED"] if job.array is not None else int(job.status.name == "FAILED")
        assert sum(g["count"] for g in groups) == failed, name  # every failure in exactly one group
        assert [g["count"] for g in groups] == sorted((g["count"] for g in groups), reverse=True)
    assert by_name["JobE"] == [] or by_name["JobE"][0]["cause"] == "dependency"
