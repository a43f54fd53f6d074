"""`batchtui cancel|retry` end to end on an in-memory Batch: plan, dry run, confirmation, exit codes, audit."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import time

import pytest
from minibatch import MiniBatch, patch_open_api, reference

from batchtui import audit, cli
from batchtui.model import Status
from batchtui.plan import KIND_CANCEL, KIND_RETRY, Selection
from batchtui.retry_plan import plan_retry
from batchtui.scope import snapshot_for


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


pytestmark = pytest.mark.usefixtures("fresh_registry")  # each test its own process, as it were


def audited(tmp_path) -> list[audit.Action]:
    path = tmp_path / "state" / "batchtui" / "actions.jsonl"
    actions, bad = audit.read_actions(path.read_text().splitlines() if path.exists() else [])
    assert bad == 0
    return actions


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --- scope: the snapshot of just the jobs concerned ----------------------------------------------------------


async def test_scope_for_retry_finds_upstream_dependents_and_failed_indices():
    mb = reference("SSFSF", "SSFSF")
    snap = await snapshot_for(mb, [Selection("B")], KIND_RETRY)
    assert [j.job_name for j in snap.jobs] == ["JobA", "JobB", "JobC", "JobD", "JobE"]
    assert snap.job("B").array.indices(Status.FAILED) == [2, 4]
    assert snap.job("B").array.indices(Status.SUCCEEDED) == [0, 1, 3]
    # a FAILED parent: only its FAILED children are listed (the rest must have SUCCEEDED)
    listed = [kw["jobStatus"] for op, kw in mb.log if op == "ListJobs" and kw.get("arrayJobId") == "B"]
    assert listed == ["FAILED"]


async def test_scope_lists_every_status_of_an_unfinished_array():
    mb = MiniBatch()
    mb.add("B", "JobB", "PENDING", size=4, children="RpSF")
    snap = await snapshot_for(mb, [Selection("B")], KIND_CANCEL)
    assert snap.job("B").array.statuses == bytes([Status.RUNNING, Status.PENDING, Status.SUCCEEDED, Status.FAILED])


async def test_scope_describes_a_few_selected_children_instead_of_listing():
    mb = MiniBatch()
    mb.add("B", "JobB", "PENDING", size=4, children="RpSF")
    snap = await snapshot_for(mb, [Selection("B", frozenset({0, 1}))], KIND_CANCEL)
    assert snap.job("B").array.status(0) is Status.RUNNING and snap.job("B").array.status(1) is Status.PENDING
    assert "ListJobs" not in mb.ops()


# --- the CLI -------------------------------------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_changes_nothing(monkeypatch, capsys, tmp_path):
    mb = reference("SSFSF", "SSFSF")
    patch_open_api(monkeypatch, mb)
    code, out, err = run(["retry", "B", "--downstream", "--dry-run"], capsys)
    assert code == 0
    assert "JobB-retry: array of 2 re-running JobB indices 2, 4 (2 indices)" in out
    assert "Dry run: nothing was changed." in out
    assert not {"SubmitJob", "CancelJobs", "TerminateJobs"} & set(mb.ops())
    assert audited(tmp_path) == []


def test_retry_with_yes_submits_the_chain_and_audits_it(monkeypatch, capsys, tmp_path):
    mb = reference("SSFSF", "SSFSF")
    patch_open_api(monkeypatch, mb)
    code, out, err = run(["retry", "B", "--downstream", "--yes"], capsys)
    assert code == 0, err
    assert [kw["jobName"] for op, kw in mb.log if op == "SubmitJob"] == ["JobB-retry", "JobC-retry", "JobD-retry",
                                                                          "JobE-retry"]
    assert "Done: all 4 calls succeeded." in out
    (action,) = audited(tmp_path)
    assert action.intent["action"] == "retry" and action.end["outcome"]["ok"] is True
    assert action.state == audit.DONE and len(action.calls) == 4


def test_retry_run_twice_submits_once(monkeypatch, capsys):
    mb = reference("SSFSF", "SSFSF")
    patch_open_api(monkeypatch, mb)
    assert run(["retry", "B", "--downstream", "--yes"], capsys)[0] == 0
    code, out, _ = run(["retry", "B", "--downstream", "--yes"], capsys)
    assert code == 0
    assert "nothing to do" in out and "already resubmitted as JobB-retry (new-0)" in out
    assert [op for op in mb.ops()].count("SubmitJob") == 4


def test_cancel_with_yes_cancels_and_terminates(monkeypatch, capsys, tmp_path):
    mb = MiniBatch()
    mb.add("B", "JobB", "PENDING", size=4, children="RpSF")
    patch_open_api(monkeypatch, mb)
    code, out, err = run(["cancel", "B:0", "B:1", "B:2", "--yes", "--reason", "bad input"], capsys)
    assert code == 0, err
    assert ("TerminateJobs", {"jobs": ["B:0"], "reason": "bad input"}) in mb.log
    assert ("CancelJobs", {"jobs": ["B:1"], "reason": "bad input"}) in mb.log
    assert mb.children["B"] == ["FAILED", "FAILED", "SUCCEEDED", "FAILED"]
    assert "JobB[2]: SUCCEEDED: already finished" in out
    assert audited(tmp_path)[0].intent["plan"]["reason"] == "bad input"


def test_unknown_job_id_exits_1_with_one_line(monkeypatch, capsys):
    patch_open_api(monkeypatch, reference("SF", "SF"))
    code, out, err = run(["cancel", "nope", "--yes"], capsys)
    assert code == 1
    assert err == "batchtui: no job 'nope' in us-east-1 (check the id, --region and --profile)\n"
    assert "Traceback" not in err


def test_unknown_index_exits_1_with_one_line(monkeypatch, capsys):
    patch_open_api(monkeypatch, reference("SF", "SF"))
    code, _, err = run(["cancel", "B:7", "--yes"], capsys)
    assert code == 1 and err.count("\n") == 1 and "no job B:7" in err


def test_without_yes_and_without_a_terminal_it_refuses_with_exit_2(monkeypatch, capsys):
    mb = MiniBatch()
    mb.add("B", "JobB", "PENDING", size=2, children="pp")
    patch_open_api(monkeypatch, mb)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped input is not a confirmation
    code, out, err = run(["cancel", "B"], capsys)
    assert code == 2
    assert "CancelJobs" in out  # the plan was shown
    assert err.strip() == ("batchtui: no terminal to ask for confirmation: nothing was cancelled; pass --yes to act "
                           "without asking (or --dry-run to only see the plan)")
    assert "CancelJobs" not in mb.ops()


def test_asks_on_a_terminal_and_a_no_changes_nothing(monkeypatch, capsys):
    mb = MiniBatch()
    mb.add("B", "JobB", "PENDING", size=2, children="pp")
    patch_open_api(monkeypatch, mb)
    monkeypatch.setattr("sys.stdin", Tty("n\n"))
    code, out, err = run(["cancel", "B"], capsys)
    assert code == 1 and "Proceed? [y/N]" in err and "not confirmed: nothing was cancelled" in err
    assert "CancelJobs" not in mb.ops()


def test_asks_on_a_terminal_and_a_yes_proceeds(monkeypatch, capsys):
    mb = MiniBatch()
    mb.add("B", "JobB", "PENDING", size=2, children="pp")
    patch_open_api(monkeypatch, mb)
    monkeypatch.setattr("sys.stdin", Tty("y\n"))
    code, out, _ = run(["cancel", "B"], capsys)
    assert code == 0 and mb.children["B"] == ["FAILED", "FAILED"]
    assert ("CancelJobs", {"jobs": ["B"], "reason": mb.log[-1][1]["reason"]}) in mb.log
    assert mb.log[-1][1]["reason"].startswith("cancelled by batchtui (user ")


def test_a_failed_call_exits_1_with_the_outcome(monkeypatch, capsys):
    mb = reference("SSFSF", "SSFSF")

    async def refuse(**kw):
        from batchtui.errors import ApiError

        raise ApiError("SubmitJob was refused (ClientException): queue disabled")

    mb.submit_job = refuse
    patch_open_api(monkeypatch, mb)
    code, out, err = run(["retry", "B", "--yes"], capsys)
    assert code == 1
    assert "Nothing" not in out and "Stopped at step 1 of 1" in out
    assert err.strip() == ("batchtui: step 1 (SubmitJob) failed: not submitted: SubmitJob was refused "
                           "(ClientException): queue disabled")


def test_audit_log_write_failure_exits_1_and_says_so(monkeypatch, capsys, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    mb = reference("SSFSF", "SSFSF")
    patch_open_api(monkeypatch, mb)
    code, out, err = run(["retry", "B", "--yes"], capsys)
    # the intent could not be recorded: nothing was sent
    assert code == 1 and "SubmitJob" not in mb.ops() and "Done" not in out
    assert err.startswith("batchtui: nothing was done: could not write to the audit log") and err.count("\n") == 1


def test_too_long_reason_is_a_usage_error(monkeypatch, capsys):
    patch_open_api(monkeypatch, reference("SF", "SF"))
    code, _, err = run(["cancel", "B", "--reason", "x" * 1025], capsys)
    assert code == 2 and "at most 1,024" in err


def test_nothing_to_do_exits_0_without_asking(monkeypatch, capsys):
    mb = MiniBatch()
    mb.add("A", "JobA", "SUCCEEDED")
    patch_open_api(monkeypatch, mb)
    code, out, _ = run(["retry", "A"], capsys)
    assert code == 0 and "nothing to do" in out and "JobA: is SUCCEEDED" in out


def test_plan_from_scope_matches_plan_from_a_hand_built_snapshot_shape():
    # the targeted fetch gives the planner what it needs: the same wiring as on the poller's snapshots
    import asyncio

    snap = asyncio.run(snapshot_for(reference("SSFSF", "SSFSF"), [Selection("B")], KIND_RETRY))
    plan = plan_retry(snap, Selection("B"), downstream=True)
    assert [c.params.get("dependsOn") for c in plan.calls][1][0]["type"] == "N_TO_N"
    assert plan.calls[0].params["containerOverrides"]["environment"] == [
        {"name": "BATCHTUI_ARRAY_INDICES", "value": "2,4"}]


async def test_ctrl_c_during_execution_finishes_the_call_in_flight_then_stops_and_records_it(monkeypatch, tmp_path):
    import signal

    from batchtui import actions

    mb = reference("SSFSF", "SSFSF")
    real_submit = mb.submit_job

    async def submit_and_interrupt(**kw):
        if mb.ops().count("SubmitJob") == 0:
            signal.raise_signal(signal.SIGINT)  # the person presses Ctrl-C while the first call is in flight
            await asyncio.sleep(0.01)
        return await real_submit(**kw)

    mb.submit_job = submit_and_interrupt
    patch_open_api(monkeypatch, mb)
    out, err = io.StringIO(), io.StringIO()
    code = await actions.run(cli.parse(["retry", "B", "--downstream", "--yes"]), io.StringIO(), out, err)
    assert code == 1
    assert mb.ops().count("SubmitJob") == 1  # the call in flight completed; no further call was made
    assert "stopping after the call in flight" in err.getvalue()
    assert "batchtui: stopped by request after step 1 of 4" in err.getvalue()
    assert "Not done:" in out.getvalue() and "→ new job new-0" in out.getvalue()
    (action,) = audited(tmp_path)
    assert action.end["outcome"]["newJobs"] == {"1": "new-0"} and action.end["outcome"]["notDone"] == [2, 3, 4]
    assert action.state == audit.STOPPED and "stopped" in action.describe()


class ClosedPipe(io.StringIO):
    """stdout whose reader went away (`batchtui ... | head -1`) from the first write whose text starts with `after`."""

    def __init__(self, after: str = "") -> None:
        super().__init__()
        self.after, self.broken = after, False

    def write(self, text: str) -> int:
        self.broken = self.broken or text.startswith(self.after)
        if self.broken:
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


def test_dry_run_into_a_closed_pipe_exits_0_without_a_traceback(monkeypatch, capsys):
    mb = reference("SSFSF", "SSFSF")
    patch_open_api(monkeypatch, mb)
    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert cli.main(["retry", "B", "--dry-run"]) == 0  # raised BrokenPipeError (a traceback) before
    assert capsys.readouterr().err == ""


def test_a_plan_nobody_could_read_is_not_executed_and_says_so(monkeypatch, capsys, tmp_path):
    mb = reference("SSFSF", "SSFSF")
    patch_open_api(monkeypatch, mb)
    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert cli.main(["retry", "B", "--yes"]) == 1
    assert capsys.readouterr().err == "batchtui: output closed before the plan was shown: nothing was submitted\n"
    assert "SubmitJob" not in mb.ops() and audited(tmp_path) == []


def test_an_outcome_that_cannot_reach_stdout_goes_to_stderr(monkeypatch, capsys, tmp_path):
    mb = reference("SSFSF", "SSFSF")
    patch_open_api(monkeypatch, mb)
    monkeypatch.setattr("sys.stdout", ClosedPipe(after="Done"))
    assert cli.main(["retry", "B", "--yes"]) == 0
    assert capsys.readouterr().err.startswith("Done: all 1 call succeeded.\n")  # the calls were made: say so
    assert "SubmitJob" in mb.ops() and len(audited(tmp_path)) == 1


class CtrlCAtThePrompt(Tty):
    """A person who presses Ctrl-C while "Proceed? [y/N]" waits, then (were the read not interrupted) Enter on y."""

    answered = False

    def readline(self, size: int = -1) -> str:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)  # the terminal read blocks: Ctrl-C has to interrupt it
        self.answered = True
        return "y\n"


def test_ctrl_c_at_the_prompt_exits_130_at_once_and_changes_nothing(monkeypatch, capsys):
    mb = MiniBatch()
    mb.add("B", "JobB", "PENDING", size=2, children="pp")
    patch_open_api(monkeypatch, mb)
    stdin = CtrlCAtThePrompt()
    monkeypatch.setattr("sys.stdin", stdin)
    code, _, err = run(["cancel", "B"], capsys)
    # Before: asyncio.run only cancelled its task on the first Ctrl-C, which waited for the read to finish.
    assert code == 130 and not stdin.answered
    assert "CancelJobs" not in mb.ops() and "Traceback" not in err
