"""Waiting steps: planned (plan.Waiting), kept on disk (waitplans), sent exactly once when their condition holds –
across two processes, a crash between submit and record, a corrupt or older file, a cancel."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import time
from types import MappingProxyType

import pytest
from actions_factory import array, overrides, plain, reference, snapshot

from batchtui import waitplans
from batchtui.errors import ApiError, EndpointUnreachable, Throttled
from batchtui.model import INDEX_ENV, RETRY_OF_TAG, Job, Status
from batchtui.plan import PLAN_TAG, Ref, Selection
from batchtui.retry_plan import plan_retry

RUNNING = ("SSSFSFSSSS", "SSSFSFSRpp")  # JobB done with 3 and 5 FAILED; JobC runs on, its 3 and 5 FAILED


class FakeApi:
    """SubmitJob and the lookup by tag, counted; `crash` makes the next SubmitJob take effect and then die."""

    region = "us-east-1"

    def __init__(self, delay_s: float = 0.0) -> None:
        self.submitted: list[dict] = []
        self.delay_s = delay_s
        self.crash = False
        self.refuse: Exception | None = None  # raised by every SubmitJob (nothing is created)
        self.calls = self.throttled = 0

    async def submit_job(self, **params):
        await asyncio.sleep(self.delay_s)
        if self.refuse is not None:
            self.calls += 1
            raise self.refuse
        self.submitted.append(params)
        job_id = f"new-{len(self.submitted)}"
        params["jobId"] = job_id
        if self.crash:
            self.crash = False
            raise asyncio.CancelledError  # the process is gone before the answer is recorded
        return {"jobId": job_id, "jobName": params["jobName"]}

    async def find_job(self, queue, name, tag, value):
        return next((p["jobId"] for p in self.submitted if p["jobName"] == name and p["tags"].get(tag) == value),
                    None)


pytestmark = pytest.mark.usefixtures("fresh_registry")


def kept(tmp_path, b: str = RUNNING[0], c: str = RUNNING[1]) -> waitplans.StoredPlan:
    plan = plan_retry(reference(b, c, "p" * 10, e=Status.PENDING), Selection("B"), downstream=True)
    stored = waitplans.keep(plan, {0: "b-retry", 1: "c-retry"}, "ProdQueue", "tester", plan_id="p1",
                            directory=tmp_path)
    assert stored is not None
    return stored


def names(api: FakeApi) -> list[str]:
    return [p["jobName"] for p in api.submitted]


# --- planning --------------------------------------------------------------------------------------------------


def test_a_dependent_of_a_running_upstream_is_planned_as_a_waiting_step_not_skipped():
    plan = plan_retry(reference(*RUNNING, "p" * 10, e=Status.PENDING), Selection("B"), downstream=True)
    assert [c.params["jobName"] for c in plan.calls] == ["JobB-retry", "JobC-retry"]
    d, e = plan.waiting
    (cond,) = d.conditions
    assert (cond.job_id, cond.retried, cond.others) == ("C", (3, 5), 8)
    assert cond.describe() == "waits for JobC's other 8 indices"
    assert d.call.params["dependsOn"] == [{"jobId": Ref(1)}, {"type": "SEQUENTIAL"}]
    assert e.after == (0,) and e.call.params["dependsOn"] == [{"jobId": Ref(0, waiting=True)}]
    summary = plan.summary()
    assert "W1. SubmitJob JobD-retry: whole JobD again (array of 10); waits for JobC's other 8 indices" in summary
    assert not plan.empty and not [s for s in plan.skipped if s.job_id in ("D", "E")]


def test_every_failed_index_of_the_running_upstream_is_retried_now_and_left_out_of_the_condition():
    # JobC[7] FAILED on its own (JobB[7] SUCCEEDED): resubmitted now with 3 and 5, so JobD waits for the other 7
    plan = plan_retry(reference("SSSFSFSSSS", "SSSFSFSFpp", "p" * 10, e=Status.PENDING), Selection("B"),
                      downstream=True)
    (cond,) = plan.waiting[0].conditions
    assert cond.retried == (3, 5, 7) and cond.describe() == "waits for JobC's other 7 indices"


def test_a_condition_over_ten_thousand_indices_is_stored_as_index_runs(tmp_path):
    b = "S" * 10_000
    c = "S" * 500 + "F" + "R" * 9_499
    plan = plan_retry(reference(b[:500] + "F" + b[501:], c, "p" * 10, e=Status.PENDING), Selection("B"),
                      downstream=True)
    stored = waitplans.keep(plan, {0: "b", 1: "c"}, "ProdQueue", "t", plan_id="big", directory=tmp_path)
    text = (tmp_path / "big.json").read_text()
    assert len(text) < 8_000 and json.loads(text)["steps"][0]["conditions"][0]["retried"] == [[500, 500]]
    assert plan.waiting[0].conditions[0].describe() == "waits for JobC's other 9,999 indices"
    assert waitplans.load(tmp_path / "big.json") == stored


# --- the file --------------------------------------------------------------------------------------------------


def test_the_kept_plan_reads_back_equal_with_the_immediate_ids_filled_in(tmp_path):
    stored = kept(tmp_path)
    again = waitplans.load(tmp_path / "p1.json")
    assert again == stored
    d, e = again.steps
    assert d.params["dependsOn"] == [{"jobId": "c-retry"}, {"type": "SEQUENTIAL"}]
    assert e.params["dependsOn"] == [{"jobId": Ref(0, waiting=True)}]
    assert json.loads((tmp_path / "p1.json").read_text())["version"] == waitplans.VERSION
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, renamed over


@pytest.mark.parametrize("text, said", [
    ("{not json", "not JSON"),
    ('{"version": 0, "planId": "p1"}', "a plan of version 0; this batchtui reads versions 1 and 2: not executed"),
    ('{"version": 1, "planId": "p1", "steps": [{"state": "waiting"}]}', "a damaged batchtui plan"),
    ("[1, 2]", "not a batchtui plan"),
])
def test_a_corrupt_or_older_plan_file_is_reported_in_one_line_and_never_executed(tmp_path, text, said):
    (tmp_path / "p1.json").write_text(text)
    plans, problems = waitplans.list_plans(tmp_path)
    assert plans == [] and len(problems) == 1 and said in problems[0] and "\n" not in problems[0]
    api = FakeApi()
    with pytest.raises(waitplans.PlanFileError, match="not executed"):
        asyncio.run(waitplans.advance(waitplans.Sender(api, tmp_path), "p1", reference("S" * 10, "S" * 10)))
    assert api.submitted == []


def test_the_plans_command_reports_a_corrupt_file_with_exit_1(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    (tmp_path / "batchtui" / "plans").mkdir(parents=True)
    (tmp_path / "batchtui" / "plans" / "bad.json").write_text("\x00garbage")
    run = subprocess.run([sys.executable, "-m", "batchtui.cli", "plans"], capture_output=True, text=True,
                         env={"XDG_STATE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1 and "not JSON" in run.stderr and "not executed" in run.stderr


# --- sending ---------------------------------------------------------------------------------------------------


def test_each_step_is_sent_once_when_its_condition_holds_and_never_before(tmp_path):
    kept(tmp_path)
    api = FakeApi()
    sender = waitplans.Sender(api, tmp_path)
    events = asyncio.run(waitplans.advance(sender, "p1", reference(*RUNNING)))
    assert events == [] and api.submitted == []
    assert "5 of JobC's other 8 indices SUCCEEDED" in waitplans.load(tmp_path / "p1.json").steps[0].reason
    done = reference(RUNNING[0], "SSSFSFSSSS")  # JobC over: its other 8 SUCCEEDED
    events = asyncio.run(waitplans.advance(sender, "p1", done))
    assert [e.kind for e in events] == ["submitted", "submitted"] and names(api) == ["JobD-retry", "JobE-retry"]
    d, e = api.submitted
    assert d["dependsOn"] == [{"jobId": "c-retry"}, {"type": "SEQUENTIAL"}]
    assert e["dependsOn"] == [{"jobId": d["jobId"]}]
    assert d["tags"][PLAN_TAG] == "p1-w1.1"  # fixed by the plan: the same in any process
    assert asyncio.run(waitplans.advance(sender, "p1", done)) == [] and len(api.submitted) == 2
    assert waitplans.load(tmp_path / "p1.json").state == waitplans.DONE


def retry_of_c7(status: Status) -> Job:
    """The user's own retry of JobC[7] (`batchtui retry C:7`): a plain job re-running the original index 7."""
    return plain("C7", status, name="JobC-retry-2", created=50, tags=MappingProxyType({RETRY_OF_TAG: "C"}),
                 container_overrides=overrides(env={INDEX_ENV: "7"}))


def with_jobs(snap, *jobs: Job):
    return snapshot(*snap.jobs, *jobs)


def test_a_partner_failing_after_planning_blocks_the_step_with_the_fix_and_its_retry_unblocks_it(tmp_path):
    kept(tmp_path)
    api = FakeApi()
    sender = waitplans.Sender(api, tmp_path)
    c7_failed = reference(RUNNING[0], "SSSFSFSFSS")  # JobC over; JobC[7] FAILED on its own, after the plan
    events = asyncio.run(waitplans.advance(sender, "p1", c7_failed))
    assert api.submitted == [] and [(e.step, e.kind) for e in events] == [("JobD-retry", "blocked")]
    assert ("JobC[7] FAILED after this plan was made – retry it (`batchtui retry C:7 --downstream`, or R on it in "
            "the dashboard); this step then waits for that retry too") in events[0].text
    stored = waitplans.load(tmp_path / "p1.json")
    d, e = stored.steps
    assert stored.state == waitplans.PENDING and (d.state, e.state) == (waitplans.BLOCKED, waitplans.WAITING)
    assert d.fix == "batchtui retry C:7 --downstream" and e.reason == "waits for JobD-retry (blocked) to be submitted"
    assert stored.to_json()["blocked"] == 1 and stored.to_json()["steps"][0]["fix"] == d.fix
    assert "(1 blocked)" in waitplans.progress_line(stored) and "(1 blocked)" in stored.summary()
    assert waitplans.pending_originals(tmp_path) == {"D": "p1", "E": "p1"}  # a second retry plans them not again
    assert asyncio.run(waitplans.advance(sender, "p1", c7_failed)) == []  # said once, not every round
    running = asyncio.run(waitplans.advance(sender, "p1", with_jobs(c7_failed, retry_of_c7(Status.RUNNING))))
    assert [e.kind for e in running] == ["waiting"] and api.submitted == []
    assert "no longer blocked: waits for JobC's other 8 indices: 7 of JobC's other 8 indices SUCCEEDED" in \
        running[0].text
    repaired = with_jobs(c7_failed, retry_of_c7(Status.SUCCEEDED))
    done = asyncio.run(waitplans.advance(sender, "p1", repaired))
    assert [e.kind for e in done] == ["submitted", "submitted"] and names(api) == ["JobD-retry", "JobE-retry"]
    # sent only once the retry SUCCEEDED: no dependsOn on it (it would add nothing)
    assert api.submitted[0]["dependsOn"] == [{"jobId": "c-retry"}, {"type": "SEQUENTIAL"}]
    assert asyncio.run(waitplans.advance(sender, "p1", repaired)) == [] and len(api.submitted) == 2
    assert waitplans.load(tmp_path / "p1.json").state == waitplans.DONE


def test_a_blocked_step_whose_repair_fails_again_says_so_and_stays_blocked(tmp_path):
    kept(tmp_path)
    api = FakeApi()
    sender = waitplans.Sender(api, tmp_path)
    events = asyncio.run(waitplans.advance(sender, "p1", with_jobs(reference(RUNNING[0], "SSSFSFSFSS"),
                                                                   retry_of_c7(Status.FAILED))))
    assert [e.kind for e in events] == ["blocked"] and api.submitted == []
    assert "JobC[7] FAILED again (its retry FAILED) – retry it (`batchtui retry C:7 --downstream`" in events[0].text


def test_many_failed_partners_are_fixed_by_retrying_the_whole_job(tmp_path):
    kept(tmp_path)
    sender = waitplans.Sender(FakeApi(), tmp_path)
    (event,) = asyncio.run(waitplans.advance(sender, "p1", reference(RUNNING[0], "FFFFFFFFFF")))
    assert "JobC indices 0–2, 4, 6–9 (8 indices) FAILED after this plan was made – retry them (`batchtui retry C " \
           "--downstream`" in event.text


@pytest.mark.parametrize("error, dropped", [
    (ApiError("SubmitJob was refused (ClientException): job definition work:3 is INACTIVE", refused=True), True),
    (Throttled("AWS is throttling SubmitJob"), False),
    (ApiError("SubmitJob failed: a 4xx botocore could not read"), False),
    (EndpointUnreachable("cannot reach http://127.0.0.1:1"), False)])
def test_a_step_aws_refuses_for_good_is_dropped_once_and_a_throttled_one_waits_for_the_next_round(
        tmp_path, error, dropped):
    kept(tmp_path)
    api = FakeApi()
    api.refuse = error
    sender = waitplans.Sender(api, tmp_path)
    done = reference(RUNNING[0], "SSSFSFSSSS")
    first = asyncio.run(waitplans.advance(sender, "p1", done))
    again = asyncio.run(waitplans.advance(sender, "p1", done))
    stored = waitplans.load(tmp_path / "p1.json")
    if dropped:
        assert [e.kind for e in first] == ["dropped", "dropped"] and again == [] and api.calls == 1
        assert "JobD-retry dropped: AWS refused it" in first[0].text and "INACTIVE" in first[0].text
        assert stored.state == waitplans.DONE and stored.steps[0].reason.startswith("refused: ")
    else:  # nothing was created: the same step is tried again in the next round, still waiting
        assert [e.kind for e in first] == ["error"] and [e.kind for e in again] == ["error"] and api.calls == 2
        assert stored.state == waitplans.PENDING and stored.steps[0].state == waitplans.WAITING


def lock_holder(path) -> subprocess.Popen:
    """Another process holding the plan's lock (flock), started and holding it when this returns."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, time\n"
        f"fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_two_batchtui_processes_never_both_submit_a_step(tmp_path):
    kept(tmp_path)
    holder = lock_holder(tmp_path / "p1.lock")
    try:
        api = FakeApi()
        done = reference(RUNNING[0], "SSSFSFSSSS")
        assert asyncio.run(waitplans.advance(waitplans.Sender(api, tmp_path), "p1", done)) == []
        assert api.submitted == []  # the other process has the plan this round
    finally:
        holder.kill()
        holder.wait()
    assert names(api) == [] and len(asyncio.run(waitplans.advance(waitplans.Sender(api, tmp_path), "p1", done))) == 2


def test_two_senders_racing_on_one_plan_submit_each_step_once(tmp_path):
    kept(tmp_path)
    api = FakeApi(delay_s=0.2)  # a slow SubmitJob: the second sender comes while the first is sending
    done = reference(RUNNING[0], "SSSFSFSSSS")

    async def race():
        return await asyncio.gather(*(waitplans.advance(waitplans.Sender(api, tmp_path), "p1", done)
                                      for _ in range(2)))

    first, second = asyncio.run(race())
    assert names(api) == ["JobD-retry", "JobE-retry"] and (len(first), len(second)) == (2, 0)


def crashed_while_submitting(tmp_path) -> tuple[FakeApi, object]:
    """The kept plan's first step sent once JobC is over, the process gone before it recorded the answer."""
    kept(tmp_path)
    api = FakeApi()
    api.crash = True
    done = reference(RUNNING[0], "SSSFSFSSSS")
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(waitplans.advance(waitplans.Sender(api, tmp_path), "p1", done))
    return api, done


def test_a_crash_between_submit_and_record_is_resumed_by_finding_the_job_not_by_sending_again(tmp_path):
    api, done = crashed_while_submitting(tmp_path)
    assert waitplans.load(tmp_path / "p1.json").steps[0].state == waitplans.SUBMITTING
    restarted = waitplans.Sender(api, tmp_path, lookup_delays_s=(0.0,))  # a new process, the same plan file
    events = asyncio.run(waitplans.advance(restarted, "p1", done))
    assert "JobD-retry was submitted already (found by its tag batchtui:plan=p1-w1.1)" in events[0].text
    assert names(api) == ["JobD-retry", "JobE-retry"]  # JobD-retry once, JobE-retry chained to the one found
    assert api.submitted[1]["dependsOn"] == [{"jobId": "new-1"}]


def test_a_killed_process_leaves_no_stale_lock(tmp_path):
    kept(tmp_path)
    holder = lock_holder(tmp_path / "p1.lock")
    holder.kill()
    holder.wait()
    time.sleep(0.05)
    with waitplans.locked("p1", tmp_path) as got:
        assert got


def test_a_cancelled_plan_sends_nothing(tmp_path):
    kept(tmp_path)
    cancelled = waitplans.cancel("p1", "tester", tmp_path)
    assert cancelled.state == waitplans.CANCELLED and "cancelled by tester" in cancelled.note
    api = FakeApi()
    assert asyncio.run(waitplans.advance(waitplans.Sender(api, tmp_path), "p1",
                                         reference(RUNNING[0], "SSSFSFSSSS"))) == []
    assert api.submitted == [] and waitplans.list_plans(tmp_path)[0][0].state == waitplans.CANCELLED
    with pytest.raises(waitplans.BatchtuiError, match="cancelled already"):
        waitplans.cancel("p1", "tester", tmp_path)


def test_a_second_retry_never_plans_a_step_a_pending_plan_already_waits_to_send(tmp_path):
    kept(tmp_path)
    pending = waitplans.pending_originals(tmp_path)
    assert pending == {"D": "p1", "E": "p1"}
    plan = plan_retry(reference(*RUNNING, "p" * 10, e=Status.PENDING), Selection("B"), downstream=True,
                      pending=pending)
    assert not plan.waiting
    reasons = {s.job_id: s.reason for s in plan.skipped}
    assert "its retry waits already in plan p1 (batchtui plans): not planned again" in reasons["D"]
    assert "p1" in reasons["E"]
    waitplans.cancel("p1", "tester", tmp_path)
    assert waitplans.pending_originals(tmp_path) == {}


def test_a_step_left_submitting_is_left_to_the_lookup_which_finds_it_or_lets_it_be_sent_once(tmp_path):
    api, done = crashed_while_submitting(tmp_path)
    sender = waitplans.Sender(api, tmp_path, lookup_delays_s=(0.0,))
    stranded = waitplans.load(tmp_path / "p1.json")
    assert waitplans.stranded(stranded)
    # the dashboard's round: no lookup there, nothing sent, JobE-retry still waits for JobD-retry
    assert asyncio.run(waitplans.advance(sender, "p1", done, look_up=False)) == [] and names(api) == ["JobD-retry"]
    assert waitplans.load(tmp_path / "p1.json").steps[0].state == waitplans.SUBMITTING
    (found,) = asyncio.run(waitplans.look_up(sender, "p1"))
    assert found.kind == "submitted" and "found by its tag batchtui:plan=p1-w1.1" in found.text
    assert not waitplans.stranded(waitplans.load(tmp_path / "p1.json"))
    (sent,) = asyncio.run(waitplans.advance(sender, "p1", done, look_up=False))
    assert sent.kind == "submitted" and names(api) == ["JobD-retry", "JobE-retry"]
    assert api.submitted[1]["dependsOn"] == [{"jobId": "new-1"}]  # chained to the job the lookup found


def test_a_lookup_that_finds_nothing_lets_the_next_round_send_the_step_once(tmp_path):
    kept(tmp_path)
    sender = waitplans.Sender(FakeApi(), tmp_path, lookup_delays_s=(0.0,))
    plan = waitplans.load(tmp_path / "p1.json")
    d = dataclasses.replace(plan.steps[0], state=waitplans.SUBMITTING)  # marked, then the process died unsent
    waitplans.save(dataclasses.replace(plan, steps=(d, plan.steps[1])), tmp_path)
    assert asyncio.run(waitplans.look_up(sender, "p1")) == []
    step = waitplans.load(tmp_path / "p1.json").steps[0]
    assert step.state == waitplans.WAITING and "was never created" in step.reason
    events = asyncio.run(waitplans.advance(sender, "p1", reference(RUNNING[0], "SSSFSFSSSS"), look_up=False))
    assert [e.kind for e in events] == ["submitted", "submitted"] and names(sender.api) == ["JobD-retry", "JobE-retry"]


def test_a_plan_says_which_process_made_it_and_a_version_1_file_still_reads(tmp_path):
    plan = plan_retry(reference(*RUNNING, "p" * 10, e=Status.PENDING), Selection("B"), downstream=True)
    stored = waitplans.keep(plan, {0: "b", 1: "c"}, "ProdQueue", "t", plan_id="p2", directory=tmp_path,
                            origin=waitplans.made_by("batchtui retry"))
    assert stored is not None and stored.origin.startswith("batchtui retry (pid ")
    data = json.loads((tmp_path / "p2.json").read_text())
    assert data["origin"] == stored.origin and waitplans.load(tmp_path / "p2.json") == stored
    old = {k: v for k, v in data.items() if k != "origin"} | {"version": 1}  # as batchtui wrote it before
    (tmp_path / "p2.json").write_text(json.dumps(old))
    again = waitplans.load(tmp_path / "p2.json")
    assert again.origin is None and again.steps == stored.steps and again.state == waitplans.PENDING


def test_a_step_whose_upstream_aws_no_longer_returns_is_dropped_not_kept_waiting(tmp_path):
    kept(tmp_path)
    running = reference(*RUNNING)
    gone = snapshot(*(dataclasses.replace(j, gone=True) if j.job_id == "C" else j for j in running.jobs))
    events = asyncio.run(waitplans.advance(waitplans.Sender(FakeApi(), tmp_path), "p1", gone))
    assert [e.kind for e in events] == ["dropped", "dropped"]
    assert "JobC (C) is no longer returned by AWS (retention)" in events[0].text and "plan the retry anew" in \
        events[0].text
    done = snapshot(*(dataclasses.replace(j, gone=True) if j.job_id == "C" else j
                      for j in reference(RUNNING[0], "SSSFSFSSSS").jobs))
    kept(tmp_path)  # kept anew: its last known state is over and good, so it is sent
    api = FakeApi()
    assert [e.kind for e in asyncio.run(waitplans.advance(waitplans.Sender(api, tmp_path), "p1", done))] == \
        ["submitted", "submitted"]


def test_a_step_whose_dependency_failed_is_dropped_since_aws_would_fail_it_at_once(tmp_path):
    kept(tmp_path)  # JobD-retry depends on c-retry, the plan's immediate retry of JobC[3] and JobC[5]
    c_retry = array("c-retry", "SF", name="JobC-retry", created=40, status=Status.FAILED,
                    tags=MappingProxyType({RETRY_OF_TAG: "C"}),
                    container_overrides=overrides(env={"BATCHTUI_ARRAY_INDICES": "3,5"}))
    api = FakeApi()
    events = asyncio.run(waitplans.advance(waitplans.Sender(api, tmp_path), "p1",
                                           with_jobs(reference(RUNNING[0], "SSSFSFSSSS"), c_retry)))
    assert api.submitted == [] and [e.kind for e in events] == ["dropped", "dropped"]
    assert "it depends on JobC-retry (c-retry), which FAILED: it would fail at once – retry that (`batchtui retry " \
           "c-retry --downstream`)" in events[0].text
