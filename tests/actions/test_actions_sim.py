"""Cancel and retry against the simulator over HTTP: dry runs change nothing, cancel reaches every child, a retry
with --downstream repairs the reference pipeline, and confirming twice submits once."""

from __future__ import annotations

import asyncio
import io
import sys

import pytest

from batchtui import actions, cli, execute
from batchtui.aws import open_api
from batchtui.errors import BatchtuiError
from batchtui.plan import KIND_RETRY, Selection, describe_indices
from batchtui.retry_plan import plan_retry
from batchtui.scope import snapshot_for

# The simulator lands separately; until it does these tests skip rather than fail to import.
SimServer = pytest.importorskip("batchtui.sim.server").SimServer
SimConfig = pytest.importorskip("batchtui.sim.engine").SimConfig

SIZE = 120
SEED = 11
# With seed 11 and 120 children: JobA ends at ~12 min, every JobB child runs from ~13 min, some end from ~14 min.
JOBB_RUNNING_S = 14 * 60 + 30


pytestmark = pytest.mark.usefixtures("dummy_credentials", "fresh_registry")


def cfg(**kw) -> SimConfig:
    base = {"speed": 0.0, "seed": SEED, "pipeline": "reference", "array_size": SIZE, "summary_lag_s": 0.0}
    return SimConfig(**{**base, **kw})


async def run_cli(sim, *argv: str, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
    """The real command (argument parsing included) inside this event loop, next to the simulator (or anything
    else with a `url`: a proxy in front of it)."""
    args = cli.parse([*argv, "--endpoint-url", sim.url])
    out, err = io.StringIO(), io.StringIO()
    try:
        code = await actions.run(args, stdin or io.StringIO(), out, err)
    except BatchtuiError as e:  # as cli.main prints it
        err.write(f"batchtui: {e}\n")
        code = e.exit_code
    return code, out.getvalue(), err.getvalue()


async def children(api, parent: str, size: int) -> dict[int, dict]:
    """Every child of an array, described (status and statusReason)."""
    described = await api.describe_jobs([f"{parent}:{i}" for i in range(size)])
    return {int(d["jobId"].rpartition(":")[2]): d for d in described}


async def queue_jobs(api) -> list[dict]:
    out, kwargs = [], {"jobQueue": "ProdQueue", "maxResults": 100,
                       "filters": [{"name": "AFTER_CREATED_AT", "values": ["0"]}]}
    while True:
        page = await api.list_jobs(**kwargs)
        out += page.get("jobSummaryList") or []
        if not page.get("nextToken"):
            return out
        kwargs["nextToken"] = page["nextToken"]


async def finished_reference(sim, api) -> dict[str, dict]:
    """Run the reference pipeline to its end; its jobs by name, described."""
    sim.engine.run_until_idle()
    ids = sim.engine.reference_ids
    described = {d["jobName"]: d for d in await api.describe_jobs(list(ids.values()))}
    assert described["JobB"]["status"] == "FAILED", "this seed must give JobB some failed indices"
    return described


async def failed_indices(api, parent: str) -> list[int]:
    out, kwargs = [], {"arrayJobId": parent, "jobStatus": "FAILED", "maxResults": 1000}
    while True:
        page = await api.list_jobs(**kwargs)
        out += [s["arrayProperties"]["index"] for s in page.get("jobSummaryList") or []]
        if not page.get("nextToken"):
            return sorted(out)
        kwargs["nextToken"] = page["nextToken"]


async def test_retry_dry_run_names_the_failed_indices_and_changes_nothing():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        await finished_reference(sim, api)
        b = sim.engine.reference_ids["JobB"]
        failed = await failed_indices(api, b)
        before = await queue_jobs(api)
        code, out, err = await run_cli(sim, "retry", b, "--downstream", "--dry-run")
        assert code == 0, err
        assert f"JobB-retry: {'array of ' + str(len(failed)) if len(failed) > 1 else 'plain job'} re-running " \
               f"{describe_indices('JobB', failed)}" in out
        assert "JobE-retry" in out and "Dry run: nothing was changed." in out
        assert await queue_jobs(api) == before


async def test_cancel_dry_run_changes_nothing():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        sim.engine.advance(JOBB_RUNNING_S)
        b = sim.engine.reference_ids["JobB"]
        before = await children(api, b, SIZE)
        code, out, _ = await run_cli(sim, "cancel", b, "--dry-run")
        assert code == 0 and "TerminateJobs (1 id): terminate JobB" in out
        assert await children(api, b, SIZE) == before


async def test_cancelling_a_running_array_leaves_every_unfinished_child_failed_with_the_reason():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        sim.engine.advance(JOBB_RUNNING_S)
        b = sim.engine.reference_ids["JobB"]
        before = await children(api, b, SIZE)
        assert any(d["status"] == "RUNNING" for d in before.values())
        done_before = {i for i, d in before.items() if d["status"] in ("SUCCEEDED", "FAILED")}
        code, out, err = await run_cli(sim, "cancel", b, "--yes", "--reason", "bad input bucket")
        assert code == 0, err
        assert "Done: all 1 call succeeded." in out
        sim.engine.advance(5 * 60)
        after = await children(api, b, SIZE)
        for i, d in after.items():
            if i in done_before:
                assert d["status"] == before[i]["status"]
            else:
                assert d["status"] == "FAILED", (i, d["status"])
                assert d.get("statusReason") == "bad input bucket", (i, d.get("statusReason"))
        assert (await api.describe_jobs([b]))[0]["status"] == "FAILED"


async def test_cancelling_some_indices_splits_cancel_and_terminate():
    # 300 children do not all fit the compute pool at once: some run while others wait RUNNABLE
    async with SimServer(cfg(array_size=300), host="127.0.0.1", port=0) as sim, \
            open_api(endpoint_url=sim.url) as api:
        sim.engine.advance(13 * 60 + 30)
        b = sim.engine.reference_ids["JobB"]
        now = await children(api, b, 300)
        running = [i for i, d in now.items() if d["status"] == "RUNNING"][:3]
        waiting = [i for i, d in now.items() if d["status"] == "RUNNABLE"][:3]
        assert running and waiting
        targets = [f"{b}:{i}" for i in running + waiting]
        code, out, err = await run_cli(sim, "cancel", *targets, "--yes")
        assert code == 0, err
        assert "TerminateJobs" in out and "CancelJobs" in out
        sim.engine.advance(60)
        after = await children(api, b, 300)
        seen = {i: (now[i]["status"], after[i]["status"]) for i in running + waiting}
        assert all(after[i]["status"] == "FAILED" for i in running + waiting), seen
        assert all(after[i]["statusReason"].startswith("cancelled by batchtui (user ") for i in running + waiting)


# seed 11: JobB fails 5 indices, JobC exactly those; seed 0: JobC also fails 2 indices of its own (a second JobC
# retry without dependencies); seed 18: JobB fails one index (plain jobs chained by a standard dependency).
@pytest.mark.parametrize(("seed", "expected"), [
    (11, ["JobB-retry", "JobC-retry", "JobD-retry", "JobE-retry"]),
    (0, ["JobB-retry", "JobC-retry", "JobC-retry2", "JobD-retry", "JobE-retry"]),
    (18, ["JobB-retry", "JobC-retry", "JobC-retry2", "JobD-retry", "JobE-retry"]),
])
async def test_retrying_jobb_with_downstream_lets_the_reference_pipeline_finish(seed, expected):
    async with SimServer(cfg(seed=seed), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        await finished_reference(sim, api)
        b = sim.engine.reference_ids["JobB"]
        code, out, err = await run_cli(sim, "retry", b, "--downstream", "--yes")
        assert code == 0, err + out
        sim.engine.run_until_idle()
        jobs = {j["jobName"]: j for j in await queue_jobs(api)}
        assert sorted(n for n in jobs if "-retry" in n) == sorted(expected)
        for name in expected:
            assert jobs[name]["status"] == "SUCCEEDED", (name, jobs[name].get("statusReason"))
        # the retry re-ran exactly the failed indices, and JobE's retry kept its parameters
        retry_b = (await api.describe_jobs([jobs["JobB-retry"]["jobId"]]))[0]
        env = {e["name"]: e["value"] for e in retry_b["container"]["environment"]}
        failed = await failed_indices(api, b)
        key = "BATCHTUI_ARRAY_INDICES" if len(failed) > 1 else "BATCHTUI_ARRAY_INDEX"
        assert env[key] == ",".join(map(str, failed))
        assert retry_b["tags"]["batchtui:retry-of"] == b


async def test_confirming_twice_submits_once():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        await finished_reference(sim, api)
        b = sim.engine.reference_ids["JobB"]
        snap = await snapshot_for(api, [Selection(b)], KIND_RETRY)
        plan = plan_retry(snap, Selection(b), downstream=True)
        first, second = await asyncio.gather(execute.execute(api, plan), execute.execute(api, plan),
                                             return_exceptions=True)
        assert isinstance(first, execute.Outcome) and first.ok
        assert isinstance(second, execute.AlreadyExecuted)
        count = len(await queue_jobs(api))
        assert count == 5 + len(plan.calls)
        # a fresh command after that sees the retries and submits nothing
        code, out, _ = await run_cli(sim, "retry", b, "--downstream", "--yes")
        assert code == 0 and "nothing to do" in out and "already resubmitted as JobB-retry" in out
        assert len(await queue_jobs(api)) == count


async def test_unknown_id_exits_1_with_one_line_and_no_terminal_without_yes_is_refused():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim:
        code, _, err = await run_cli(sim, "cancel", "00000000-no-such-job", "--yes")
        assert code == 1 and err.count("\n") == 1 and "no job '00000000-no-such-job'" in err
        sim.engine.advance(JOBB_RUNNING_S)
        b = sim.engine.reference_ids["JobB"]
        code, out, err = await run_cli(sim, "cancel", b)  # stdin is not a terminal
        assert code == 2 and "pass --yes" in err and "TerminateJobs" in out


async def test_the_installed_command_end_to_end():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim:
        sim.engine.advance(JOBB_RUNNING_S)
        b = sim.engine.reference_ids["JobB"]

        async def batchtui(*argv: str) -> tuple[int, str, str]:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "batchtui.cli", *argv, "--endpoint-url", sim.url,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await proc.communicate()
            return proc.returncode, out.decode(), err.decode()

        code, out, err = await batchtui("cancel", b, "--dry-run")
        assert code == 0 and "Dry run: nothing was changed." in out, err
        code, out, err = await batchtui("cancel", f"{b}:{SIZE + 5}", "--yes")
        assert code == 1 and err == f"batchtui: no job {b}:{SIZE + 5}: JobB ({b}) has indices 0–{SIZE - 1}\n"
        code, out, err = await batchtui("cancel", b)
        assert code == 2 and "no terminal to ask for confirmation" in err
        code, out, err = await batchtui("cancel", b, "--yes")
        assert code == 0 and "Done: all 1 call succeeded." in out, err


async def once_json(sim) -> dict:
    """`batchtui --queue ProdQueue --once --json` in this event loop."""
    import json

    from batchtui import headless

    args = cli.parse(["--queue", "ProdQueue", "--once", "--json", "--since", "7d", "--endpoint-url", sim.url])
    out = io.StringIO()
    assert await headless.run(args, headless.Printer(True, out), headless._extra_fields()) == 0
    return json.loads(out.getvalue())


async def test_retries_are_joined_back_into_their_originals_in_the_json():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        await finished_reference(sim, api)
        ids = sim.engine.reference_ids
        failed = await failed_indices(api, ids["JobB"])
        code, out, err = await run_cli(sim, "retry", ids["JobB"], "--downstream", "--yes")
        assert code == 0, err + out
        doc = await once_json(sim)
        jobs = {j["jobName"]: j for j in doc["jobs"]}
        b, retry_b = jobs["JobB"], jobs["JobB-retry"]
        assert b["outlook"] == "failed" and b["childCounts"]["FAILED"] == len(failed)
        assert b["retries"] == [{"jobId": retry_b["jobId"], "indices": failed}]
        assert retry_b["retryOf"] == ids["JobB"]
        assert b["effectiveChildCounts"]["FAILED"] == 0
        assert b["effectiveOutlook"] == "on track" and jobs["JobE"]["effectiveOutlook"] == "on track"
        sim.engine.run_until_idle()
        doc = await once_json(sim)
        jobs = {j["jobName"]: j for j in doc["jobs"]}
        assert jobs["JobB"]["effectiveChildCounts"]["SUCCEEDED"] == SIZE
        assert {n: jobs[n]["effectiveOutlook"] for n in ("JobB", "JobC", "JobD", "JobE")} == dict.fromkeys(
            ("JobB", "JobC", "JobD", "JobE"), "succeeded")
        assert all(jobs[n]["outlook"] == "failed" for n in ("JobB", "JobE"))  # what AWS says of the originals


async def test_downstream_now_repairs_the_failed_partners_while_the_dependent_still_runs():
    """JobB has ended with failed indices, JobC runs on: its failed partners are resubmitted at once, N_TO_N on the
    new JobB, and once everything has run JobC is whole again in effect (its retry's children all SUCCEEDED)."""
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        ids = sim.engine.reference_ids
        for _ in range(24 * 60):  # a simulated minute at a time, to the moment JobB is over and JobC is not
            sim.engine.advance(60)
            b, c = await api.describe_jobs([ids["JobB"], ids["JobC"]])
            if b["status"] in ("SUCCEEDED", "FAILED") and c["status"] not in ("SUCCEEDED", "FAILED"):
                break
        assert b["status"] == "FAILED" and c["status"] == "PENDING"
        partners = await failed_indices(api, ids["JobC"])
        assert partners, "JobB's failed indices' partners have failed already"
        code, out, err = await run_cli(sim, "retry", ids["JobB"], "--downstream", "--yes")
        assert code == 0, err + out
        assert "failed while JobC runs on: resubmitted now" in out
        jobs = {j["jobName"]: j for j in await queue_jobs(api)}
        retry_c = (await api.describe_jobs([jobs["JobC-retry"]["jobId"]]))[0]
        assert retry_c["dependsOn"] == [{"jobId": jobs["JobB-retry"]["jobId"], "type": "N_TO_N"}]
        env = {e["name"]: e["value"] for e in retry_c["container"]["environment"]}
        assert [int(i) for i in env["BATCHTUI_ARRAY_INDICES"].split(",")] == partners
        sim.engine.run_until_idle()
        (retry_c,) = await api.describe_jobs([jobs["JobC-retry"]["jobId"]])
        assert retry_c["status"] == "SUCCEEDED", retry_c.get("statusReason")
