"""The executor on a fake API: existence check, bulk errors, stop at the first failure, twice → once; the audit log."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import pytest
from actions_factory import array, plain, reference, snapshot

from batchtui import audit
from batchtui.actions import perform
from batchtui.errors import ApiError
from batchtui.execute import AlreadyExecuted, Registry, accepted_cancels, execute
from batchtui.model import Status
from batchtui.plan import Selection, plan_cancel
from batchtui.retry_plan import plan_retry


@dataclass
class Bulk:
    successful: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


class FakeApi:
    """Records calls; knows a set of job ids; can fail a given SubmitJob or refuse ids in bulk calls."""

    region = "us-east-1"
    endpoint_url = "http://127.0.0.1:1"

    def __init__(self, known: dict[str, str] | None = None) -> None:
        self.known = dict(known or {})  # id → status
        self.log: list[tuple[str, object]] = []
        self.fail_submit_at: int | None = None  # 0-based count of SubmitJob calls
        self.refuse: dict[str, str] = {}  # id → error code in bulk answers
        self.submits = 0

    async def describe_jobs(self, ids):
        self.log.append(("DescribeJobs", list(ids)))
        return [{"jobId": i, "status": self.known[i]} for i in ids if i in self.known]

    async def submit_job(self, **kwargs):
        self.log.append(("SubmitJob", kwargs))
        n = self.submits
        self.submits += 1
        if self.fail_submit_at == n:
            raise ApiError("SubmitJob was refused (ClientException): bad job definition")
        await asyncio.sleep(0)
        return {"jobId": f"new-{n}", "jobName": kwargs["jobName"]}

    async def _bulk(self, op, ids, reason):
        self.log.append((op, (list(ids), reason)))
        out = Bulk()
        for i in ids:  # like AWS: unknown ids count as successful
            if i in self.refuse:
                out.errors.append({"jobId": i, "code": self.refuse[i], "message": "cannot"})
            else:
                out.successful.append(i)
        return out

    async def cancel_jobs(self, ids, reason):
        return await self._bulk("CancelJobs", ids, reason)

    async def terminate_jobs(self, ids, reason):
        return await self._bulk("TerminateJobs", ids, reason)

    def ops(self) -> list[str]:
        return [op for op, _ in self.log]


def cancel_plan():
    snap = snapshot(array("B", "RRpp", name="JobB"))
    return plan_cancel(snap, Selection("B", frozenset(range(4))), "because")


async def test_cancel_checks_ids_exist_then_terminates_and_cancels():
    api = FakeApi({"B:0": "RUNNING", "B:1": "RUNNING", "B:2": "PENDING", "B:3": "PENDING"})
    seen = []
    outcome = await execute(api, cancel_plan(), progress=seen.append, registry=Registry())
    assert outcome.ok and not outcome.not_done
    assert api.ops() == ["DescribeJobs", "CancelJobs", "TerminateJobs"]
    assert api.log[2][1] == (["B:0", "B:1"], "because")
    assert seen[0].step is None and "checking that 4 job ids exist" in seen[0].message
    assert seen[-1].done == seen[-1].total == 2 and seen[-1].result.ok
    assert outcome.summary().startswith("Done: all 2 calls succeeded.")


async def test_unknown_id_is_an_error_and_nothing_is_cancelled():
    api = FakeApi({"B:0": "RUNNING", "B:1": "RUNNING", "B:2": "PENDING"})  # B:3 does not exist
    outcome = await execute(api, cancel_plan(), registry=Registry())
    assert not outcome.ok and outcome.missing == ("B:3",)
    assert outcome.error == "no such job: B:3 (nothing was cancelled)"
    assert api.ops() == ["DescribeJobs"]
    assert outcome.summary().startswith("Nothing was done: no such job: B:3")


async def test_a_plan_refused_by_the_check_may_run_again_once_the_ids_exist():
    reg = Registry()
    api = FakeApi({})
    plan = cancel_plan()
    assert not (await execute(api, plan, registry=reg)).ok
    api.known = {f"B:{i}": "PENDING" for i in range(4)}
    assert (await execute(api, plan, registry=reg)).ok


async def test_bulk_errors_are_reported_and_stop_the_run():
    api = FakeApi({f"B:{i}": s for i, s in enumerate(["RUNNING", "RUNNING", "PENDING", "PENDING"])})
    api.refuse = {"B:2": "ClientException"}  # in the first call (CancelJobs B:2, B:3)
    outcome = await execute(api, cancel_plan(), registry=Registry())
    assert not outcome.ok
    assert [s.ok for s in outcome.steps] == [False] and outcome.not_done == (1,)
    assert outcome.steps[0].errors == ({"jobId": "B:2", "code": "ClientException", "message": "cannot"},)
    assert outcome.steps[0].successful == ("B:3",)
    assert "1 of 2 job(s) refused, e.g. B:2: ClientException cannot" in outcome.error
    text = outcome.summary()
    assert "Stopped at step 1 of 2" in text and "Not done:" in text and "B:2: ClientException cannot" in text
    assert "TerminateJobs" not in api.ops()


async def test_accepted_cancels_name_only_what_aws_took():
    from datetime import UTC, datetime

    api = FakeApi({f"B:{i}": s for i, s in enumerate(["RUNNING", "RUNNING", "PENDING", "PENDING"])})
    api.refuse = {"B:2": "ClientException"}
    at = datetime(2026, 12, 4, 0, 52, tzinfo=UTC)
    took = accepted_cancels(await execute(api, cancel_plan(), registry=Registry()), at)
    # B:2 was refused and the TerminateJobs for B:0, B:1 never sent: only B:3 was cancelled
    assert [(c.job_id, c.indices, c.terminate, c.at, c.by) for c in took] == [("B", (3,), False, at, "you")]
    api = FakeApi({f"B:{i}": s for i, s in enumerate(["RUNNING", "RUNNING", "PENDING", "PENDING"])})
    took = accepted_cancels(await execute(api, cancel_plan(), registry=Registry()), at)
    assert [(c.indices, c.terminate) for c in took] == [((2, 3), False), ((0, 1), True)]


async def test_a_job_that_started_since_planning_is_warned_about():
    api = FakeApi({"B:0": "RUNNING", "B:1": "RUNNING", "B:2": "RUNNING", "B:3": "PENDING"})
    outcome = await execute(api, cancel_plan(), registry=Registry())
    assert outcome.ok and "started running after the plan was made" in outcome.warnings[0]


def retry_plan():
    return plan_retry(reference("SSSFSFFSSS", "SSSFSFFSSS"), Selection("B"), downstream=True)


async def test_retry_submits_in_order_substituting_new_ids():
    api = FakeApi()
    outcome = await execute(api, retry_plan(), registry=Registry())
    assert outcome.ok and outcome.new_jobs == {0: "new-0", 1: "new-1", 2: "new-2", 3: "new-3"}
    submitted = [kw for op, kw in api.log if op == "SubmitJob"]
    assert submitted[1]["dependsOn"] == [{"jobId": "new-0", "type": "N_TO_N"}]
    assert submitted[2]["dependsOn"] == [{"jobId": "new-1"}, {"type": "SEQUENTIAL"}]
    assert submitted[3]["dependsOn"] == [{"jobId": "new-2"}]
    assert "→ new job new-3" in outcome.summary()


async def test_a_failed_step_stops_the_run_and_says_what_was_and_was_not_done():
    api = FakeApi()
    api.fail_submit_at = 2
    outcome = await execute(api, retry_plan(), registry=Registry())
    assert not outcome.ok
    assert [s.ok for s in outcome.steps] == [True, True, False] and outcome.not_done == (3,)
    assert api.submits == 3  # step 4 never sent
    text = outcome.summary()
    assert text.startswith("Stopped at step 3 of 4: step 3 (SubmitJob) failed: not submitted: SubmitJob was refused")
    assert "1. SubmitJob JobB-retry" in text and "→ new job new-0" in text
    assert "Not done:\n  4. SubmitJob JobE-retry" in text


async def test_confirming_twice_submits_once():
    api, reg, plan = FakeApi(), Registry(), retry_plan()
    first = await execute(api, plan, registry=reg)
    with pytest.raises(AlreadyExecuted, match="was executed already"):
        await execute(api, plan, registry=reg)
    assert first.ok and api.submits == 4


async def test_two_confirmations_racing_submit_once():
    api, reg, plan = FakeApi(), Registry(), retry_plan()
    results = await asyncio.gather(execute(api, plan, registry=reg), execute(api, plan, registry=reg),
                                   return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["AlreadyExecuted", "Outcome"]
    assert api.submits == 4


async def test_an_equal_plan_built_again_is_refused_too():
    api, reg = FakeApi(), Registry()
    await execute(api, retry_plan(), registry=reg)
    with pytest.raises(AlreadyExecuted):
        await execute(api, retry_plan(), registry=reg)


async def test_a_failing_progress_callback_does_not_stop_the_action():
    def broken(_):
        raise RuntimeError("widget gone")

    api = FakeApi()
    outcome = await execute(api, retry_plan(), progress=broken, registry=Registry())
    assert outcome.ok and api.submits == 4
    assert outcome.warnings[0].startswith("progress display failed: RuntimeError")


async def test_async_progress_callbacks_are_awaited():
    seen = []

    async def show(p):
        seen.append(p.done)

    await execute(FakeApi(), retry_plan(), progress=show, registry=Registry())
    assert seen == [0, 1, 1, 2, 2, 3, 3, 4]


async def test_empty_plan_does_nothing():
    plan = plan_retry(snapshot(plain("A", Status.SUCCEEDED)), Selection("A"))
    api = FakeApi()
    outcome = await execute(api, plan, registry=Registry())
    assert outcome.ok and api.log == [] and "plan was empty" in outcome.summary()


# --- audit --------------------------------------------------------------------------------------------------


async def test_perform_records_intent_then_each_call_then_the_outcome(tmp_path):
    path = tmp_path / "state" / "batchtui" / "actions.jsonl"
    api = FakeApi({f"B:{i}": "PENDING" for i in range(4)})
    await perform(api, cancel_plan(), audit_path=path, profile="prod", registry=Registry())
    outcome, err = await perform(api, retry_plan(), audit_path=path, profile="prod", registry=Registry())
    assert err is None and outcome.ok
    records = [json.loads(x) for x in path.read_text().splitlines()]
    # cancel: intent, CancelJobs, TerminateJobs? (the plan's calls), outcome; retry: intent, 4 SubmitJobs, outcome
    assert [r["record"] for r in records][-6:] == ["intent", "call", "call", "call", "call", "outcome"]
    assert len({r["planId"] for r in records}) == 2
    (cancel, retry), bad = audit.read_actions(path.read_text().splitlines())
    assert bad == 0 and cancel.intent["action"] == "cancel" and retry.intent["action"] == "retry"
    intent = retry.intent
    assert intent["time"].endswith("Z") and intent["user"] and intent["host"] and intent["profile"] == "prod"
    assert intent["endpoint"] == "http://127.0.0.1:1" and intent["region"] == "us-east-1"
    assert intent["plan"]["calls"][1]["params"]["dependsOn"] == [{"jobId": "${step 1}", "type": "N_TO_N"}]
    assert [c["jobId"] for c in retry.calls] == ["new-0", "new-1", "new-2", "new-3"]
    assert retry.end["outcome"]["newJobs"] == {"1": "new-0", "2": "new-1", "3": "new-2", "4": "new-3"}
    assert cancel.intent["plan"]["reason"] == "because" and retry.state == audit.DONE


async def test_the_intent_is_on_disk_before_the_first_call(tmp_path):
    path = tmp_path / "actions.jsonl"
    seen_at_first_call: list[str] = []

    class Watching(FakeApi):
        async def submit_job(self, **kwargs):
            if not seen_at_first_call:
                seen_at_first_call.extend(path.read_text().splitlines())
            return await super().submit_job(**kwargs)

    await perform(Watching(), retry_plan(), audit_path=path, registry=Registry())
    assert [json.loads(x)["record"] for x in seen_at_first_call] == ["intent"]


async def test_the_dashboard_audits_with_the_clients_profile(tmp_path):
    path = tmp_path / "actions.jsonl"
    api = FakeApi()
    api.profile = "prod"  # what open_api(profile="prod") gives the dashboard's source
    await perform(api, retry_plan(), audit_path=path, registry=Registry())
    (action,), _ = audit.read_actions(path.read_text().splitlines())
    assert action.intent["profile"] == "prod"


async def test_an_intent_that_cannot_be_written_stops_the_action_before_any_call(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    api = FakeApi()
    with pytest.raises(audit.AuditError, match="nothing was done: could not write to the audit log"):
        await perform(api, retry_plan(), audit_path=blocker / "actions.jsonl", registry=Registry())
    assert api.log == []


async def test_a_later_record_that_cannot_be_written_is_returned_not_swallowed(tmp_path, monkeypatch):
    path = tmp_path / "actions.jsonl"
    real_append = audit.append

    def append_then_fail(line, p=None):
        if line["record"] != "intent":
            raise audit.AuditError(f"could not write to the audit log {p}: No space left on device")
        return real_append(line, p)

    monkeypatch.setattr(audit, "append", append_then_fail)
    outcome, err = await perform(FakeApi(), retry_plan(), audit_path=path, registry=Registry())
    assert outcome.ok  # the action happened
    assert isinstance(err, audit.AuditError)
    assert "carried out but not fully recorded" in str(err) and "No space left" in str(err)


def test_audit_path_follows_xdg_state_home_else_platformdirs(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert audit.audit_path() == tmp_path / "batchtui" / "actions.jsonl"
    monkeypatch.delenv("XDG_STATE_HOME")
    from platformdirs import user_state_dir

    assert audit.audit_path() == audit.Path(user_state_dir("batchtui")) / "actions.jsonl"


def test_audit_never_records_secrets():
    from types import MappingProxyType

    from actions_factory import overrides

    job = array("B", "FF", name="JobB", container_overrides=overrides(
        {"DB_PASSWORD": "hunter2", "GITHUB_TOKEN": "ghp_x", "MODE": "fast"}),
        parameters=MappingProxyType({"ApiKey": "abc", "Note": "AKIAABCDEFGHIJKLMNOP"}))
    plan = plan_retry(snapshot(job), Selection("B"))

    line = json.dumps(audit.intent_record("run", plan, audit.who(user="u")))
    for secret in ("hunter2", "ghp_x", '"abc"', "AKIAABCDEFGHIJKLMNOP"):
        assert secret not in line
    assert '"MODE", "value": "fast"' in line
    # the plan itself keeps them: the new job needs its environment
    assert {"name": "DB_PASSWORD", "value": "hunter2"} in plan.calls[0].params["containerOverrides"]["environment"]


async def test_stop_request_ends_the_run_between_calls_and_says_what_was_not_done():
    stop = asyncio.Event()
    api = FakeApi()

    def after_first(p):
        if p.result is not None and p.step == 0:
            stop.set()  # e.g. Ctrl-C while step 1 was in flight

    outcome = await execute(api, retry_plan(), progress=after_first, registry=Registry(), stop=stop)
    assert not outcome.ok and outcome.error == "stopped by request after step 1 of 4"
    assert api.submits == 1 and outcome.not_done == (1, 2, 3)
    assert "Not done:\n  2. SubmitJob JobC-retry" in outcome.summary()


async def test_readonly_makes_every_action_impossible():
    from batchtui.execute import ActionsDisabled

    reg = Registry()
    reg.forbid("batchtui runs with --readonly")
    api = FakeApi({f"B:{i}": "PENDING" for i in range(4)})
    with pytest.raises(ActionsDisabled, match="cannot cancel: batchtui runs with --readonly"):
        await execute(api, cancel_plan(), registry=reg)
    with pytest.raises(ActionsDisabled, match="cannot retry"):
        await perform(api, retry_plan(), registry=reg)
    assert api.log == []


def test_forbid_actions_locks_the_process_registry(monkeypatch):
    from batchtui import execute as ex

    monkeypatch.setattr(ex, "REGISTRY", Registry())
    ex.forbid_actions()
    with pytest.raises(ex.ActionsDisabled, match="--readonly"):
        asyncio.run(ex.execute(FakeApi(), retry_plan()))
