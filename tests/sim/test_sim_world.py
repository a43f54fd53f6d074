"""`batchtui sim --world FILE`: a TOML world of compute environments, queues, job definitions and jobs, made through
the simulator's own API (so what AWS would refuse, a world file cannot declare), with jobs depending on each other
by name; a bad file is one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from batchtui.sim import world
from batchtui.sim.build import build_engine
from batchtui.sim.engine import SimConfig
from batchtui.sim.server import SimServer

TINY = Path(__file__).parent / "worlds" / "tiny.toml"


async def test_a_world_file_declares_environments_queues_and_jobs_that_behave():
    from batchtui.aws import open_api

    engine = build_engine(SimConfig(speed=0.0, pipeline="none", world=world.load(TINY)))
    engine.advance(30 * 60)
    async with SimServer(engine.config, engine=engine) as sim, open_api(endpoint_url=sim.url) as api:
        (queue,) = await api.describe_job_queues(["TinyQueue"])
        (ce,) = await api.describe_compute_environments(["TinyCE"])
        page = await api.list_jobs(jobQueue="TinyQueue", filters=[{"name": "AFTER_CREATED_AT", "values": ["0"]}])
        jobs = {j["jobName"]: j for j in await api.describe_jobs([s["jobId"] for s in page["jobSummaryList"]])}
    assert queue["state"] == "ENABLED" and ce["status"] == "VALID"
    assert ce["computeResources"]["instanceTypes"] == ["c6i.4xlarge"]
    assert jobs["Setup"]["status"] == "SUCCEEDED"
    big = jobs["BigOne"]
    assert big["dependsOn"] == [{"jobId": jobs["Setup"]["jobId"]}]  # the name became the id
    assert big["status"] == "RUNNABLE" and big["statusReason"].startswith("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT")


@pytest.mark.parametrize("text, says", [
    ("bogus = 1\n", "unknown table 'bogus'"),
    ("[[jobQueue]]\njobQueueName = \"Q\"\npriority = 1\ncomputeEnvironmentOrder = [{ order = 1, "
     "computeEnvironment = \"NoSuchCE\" }]\n", "jobQueue #1:"),
    ("[[job]]\njobName = \"A\"\njobQueue = \"ProdQueue\"\njobDefinition = \"x\"\ndependsOn = [{ jobName = \"B\" }]\n",
     "depends on 'B', which is not declared before it"),
    ("[[job]\n", "not valid TOML"),
])
def test_a_bad_world_file_is_one_line_and_exit_2(text, says, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    r = subprocess.run([sys.executable, "-m", "batchtui.cli", "sim", "--world", str(bad), "--port", "0"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and says in r.stderr, r.stderr
