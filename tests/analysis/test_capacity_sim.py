"""The capacity diagnosis on the simulator's incident worlds (`batchtui sim --scenario …`), through the real poller
over HTTP: each classic way work sits in RUNNABLE comes out as its cause, with the evidence and the fix."""

from __future__ import annotations

import pytest

from batchtui.analysis import job_fields
from batchtui.aws import open_api
from batchtui.poller import Poller

SimServer = pytest.importorskip("batchtui.sim.server").SimServer
SimConfig = pytest.importorskip("batchtui.sim.engine").SimConfig


async def waiting(scenario: str, advance_s: float = 20 * 60) -> dict[str, dict]:
    config = SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=50, advance_s=advance_s,
                       summary_lag_s=0.0, scenario=scenario)
    async with SimServer(config) as sim, open_api(endpoint_url=sim.url) as api:
        snap = await Poller(api, "ProdQueue").refresh()
    fields = job_fields(snap)
    found = {j.job_name: fields[j.job_id]["waiting"] for j in snap.jobs if "waiting" in fields[j.job_id]}
    for j in snap.jobs:  # a stuck job's ETA is null with its cause, never a made-up number
        w = fields[j.job_id].get("waiting")
        if w and w["cause"] not in ("in-line", "capacity-full"):
            assert fields[j.job_id]["eta"] is None, j.job_name
    return found


async def test_stuck_capacity_no_instance_type_holds_jobb():
    w = (await waiting("stuck-capacity"))["JobB"]
    assert w["cause"] == "no-instance-fits" and w["computeEnvironment"] == "ProdCE"
    assert "needs 32 vCPU, 4,096 MiB" in w["text"] and "c6i.4xlarge" in w["text"]
    assert w["fix"].startswith("aws batch update-compute-environment --compute-environment ProdCE")


async def test_blocked_head_names_the_job_to_cancel():
    found = await waiting("blocked-head")
    blocked = [w for w in found.values() if w["cause"] == "blocked-behind"]
    assert blocked and blocked[0]["blockedBy"] and blocked[0]["fix"].startswith("cancel the job blocking the queue "
                                                                                "head: batchtui cancel ")


async def test_an_invalid_environment_is_named_with_its_reason():
    found = await waiting("invalid-ce")
    (w,) = [w for w in found.values() if w["cause"] == "ce-invalid"]
    assert w["computeEnvironment"] and "INVALID" in w["text"]


async def test_a_disabled_environment_is_the_cause_even_when_another_cannot_hold_the_job():
    w = (await waiting("disabled-ce"))["JobB"]
    assert w["cause"] == "ce-disabled" and w["computeEnvironment"] == "ProdCE"
    assert w["fix"] == "aws batch update-compute-environment --compute-environment ProdCE --state ENABLED"


async def test_max_vcpus_below_the_job_is_named_with_the_command():
    w = (await waiting("max-vcpus"))["JobB"]
    assert w["cause"] == "max-vcpus-too-small" and w["computeEnvironment"] == "ProdCE"
    assert w["fix"] == ("aws batch update-compute-environment --compute-environment ProdCE --compute-resources "
                        "maxvCpus=32")
