"""`batchtui retry --memory/--vcpus/--timeout/--queue/--env` on the simulator over HTTP: an OOM retried with more
memory survives (and one retried as it was dies again), a change no instance type of the queue holds is refused
before anything is sent, and bad values are one-line usage errors."""

from __future__ import annotations

import pytest
from test_actions_sim import run_cli

from batchtui import cli
from batchtui.aws import open_api

SimServer = pytest.importorskip("batchtui.sim.server").SimServer
SimConfig = pytest.importorskip("batchtui.sim.engine").SimConfig

pytestmark = pytest.mark.usefixtures("dummy_credentials", "fresh_registry")

QUEUE = "ProdQueue"
OOM, APP = (1, 3), 5  # SIM_FAIL_INDICES: every attempt of these fails, as this kind


def world() -> SimServer:
    """One finished array of 8 children on the reference world (ProdMemoryCE: r6i up to 4xlarge), 2,048 MiB each;
    indices 1 and 3 need more memory than that, index 5 has a bug."""
    sim = SimServer(SimConfig(speed=0.0, seed=5, pipeline="none", summary_lag_s=0.0), host="127.0.0.1", port=0)
    fail = ",".join([f"{i}:oom" for i in OOM] + [f"{APP}:app"])
    sim.engine.register_job_definition("work", {
        "image": "busybox", "command": ["python", "-m", "work"],
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
        "environment": [{"name": "SIM_DURATION_S", "value": "30"}, {"name": "SIM_FAIL_INDICES", "value": fail}]})
    job = sim.engine.submit(name="Work", queue=sim.engine.queue(QUEUE), jobdef=sim.engine.jobdefs["work"][-1],
                            array_size=8)
    sim.engine.run_until_idle()
    sim.job_id = job.job_id
    return sim


async def retries(api, original: str) -> list[dict]:
    page = await api.list_jobs(jobQueue=QUEUE, filters=[{"name": "AFTER_CREATED_AT", "values": ["0"]}])
    ids = [s["jobId"] for s in page["jobSummaryList"] if s["jobId"] != original]
    return await api.describe_jobs(ids) if ids else []


async def child_outcomes(api, retry: dict) -> dict[int, tuple[str, str | None]]:
    """Original index → (status, container reason) of the retry's children."""
    env = {e["name"]: e["value"] for e in retry["container"]["environment"]}
    originals = [int(i) for i in env["BATCHTUI_ARRAY_INDICES"].split(",")]
    kids = await api.describe_jobs([f"{retry['jobId']}:{k}" for k in range(len(originals))])
    by_child = {int(d["jobId"].rsplit(":", 1)[1]): d for d in kids}
    return {originals[k]: (d["status"], (d.get("container") or {}).get("reason")) for k, d in by_child.items()}


async def test_ooms_retried_with_more_memory_succeed_and_the_bug_fails_again():
    async with world() as sim, open_api(endpoint_url=sim.url) as api:
        code, out, err = await run_cli(sim, "retry", sim.job_id, "--memory", "x1.5", "--env", "TRACE=1", "--yes")
        assert code == 0, err + out
        assert "with memory 2,048 → 3,072 MiB, env TRACE=1" in out
        sim.engine.run_until_idle()
        (retry,) = await retries(api, sim.job_id)
        asked = {r["type"]: r["value"] for r in retry["container"]["resourceRequirements"]}
        assert asked["MEMORY"] == "3072"
        outcomes = await child_outcomes(api, retry)
        assert {i: s for i, (s, _) in outcomes.items()} == {1: "SUCCEEDED", 3: "SUCCEEDED", 5: "FAILED"}


async def test_ooms_retried_as_they_were_die_of_memory_again():
    async with world() as sim, open_api(endpoint_url=sim.url) as api:
        code, out, err = await run_cli(sim, "retry", sim.job_id, "--yes")
        assert code == 0, err + out
        sim.engine.run_until_idle()
        (retry,) = await retries(api, sim.job_id)
        outcomes = await child_outcomes(api, retry)
        assert all(s == "FAILED" and r.startswith("OutOfMemoryError") for i, (s, r) in outcomes.items() if i in OOM)


async def test_a_change_no_instance_type_holds_is_refused_and_nothing_is_sent():
    async with world() as sim, open_api(endpoint_url=sim.url):
        code, out, err = await run_cli(sim, "retry", sim.job_id, "--memory", "600000", "--yes")
        assert code == 2
        assert "Retry refused: nothing will be sent (changes: memory=600000)" in out
        assert "needs 1 vCPU, 600,000 MiB; the largest instance type" in out
        assert err.strip().splitlines() == ["batchtui: the changes were refused: nothing was submitted"]
        assert sim.requests_by_operation.get("SubmitJob", 0) == 0


async def test_a_target_queue_aws_does_not_know_is_an_error_and_nothing_is_sent():
    async with world() as sim, open_api(endpoint_url=sim.url):
        code, _, err = await run_cli(sim, "retry", sim.job_id, "--queue", "NoSuchQueue", "--memory", "x2", "--yes")
        assert code == 1 and "no job queue named 'NoSuchQueue'" in err
        assert sim.requests_by_operation.get("SubmitJob", 0) == 0


@pytest.mark.parametrize(("flag", "value", "says"), [
    ("--memory", "x0", "a memory factor must be above 0"),
    ("--memory", "lots", "not a memory size"),
    ("--vcpus", "-2", "vCPUs must be above zero"),
    ("--timeout", "10s", "at least 60s"),
    ("--env", "AWS_BATCH_JOB_ID=1", "AWS Batch sets AWS_BATCH_JOB_ID itself"),
    ("--env", "novalue", "not KEY=VALUE"),
])
def test_bad_changes_are_one_line_usage_errors(flag, value, says, capsys):
    with pytest.raises(SystemExit) as e:
        cli.parse(["retry", "job-1", flag, value])
    assert e.value.code == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]


def test_the_dashboard_queue_and_the_retry_target_queue_are_apart():
    args = cli.parse(["--queue", "ProdQueue", "retry", "job-1", "--queue", "BigQueue"], {"queue": "FromConfig"})
    assert args.retry_queue == "BigQueue"
    assert cli.parse(["retry", "job-1"], {"queue": "FromConfig"}).retry_queue is None


async def test_retrying_the_original_again_goes_through_the_retry_that_failed():
    async with world() as sim, open_api(endpoint_url=sim.url) as api:
        assert (await run_cli(sim, "retry", sim.job_id, "--memory", "x1.5", "--yes"))[0] == 0
        sim.engine.run_until_idle()
        (first,) = await retries(api, sim.job_id)
        code, out, err = await run_cli(sim, "retry", sim.job_id, "--yes")  # the original's id, not the retry's
        assert code == 0, err + out
        assert "which failed: retried through it" in out, out
        second = [r for r in await retries(api, sim.job_id) if r["jobId"] != first["jobId"]]
        assert [r["tags"]["batchtui:retry-of"] for r in second] == [first["jobId"]]
        env = {e["name"]: e["value"] for e in second[0]["container"]["environment"]}
        assert env["BATCHTUI_ARRAY_INDEX"] == str(APP)  # the original index the bug keeps failing
        # a third time, with the second still to run: nothing more is sent
        code, out, _ = await run_cli(sim, "retry", sim.job_id, "--yes")
        assert code == 0 and "nothing to do" in out and sim.requests_by_operation["SubmitJob"] == 2
