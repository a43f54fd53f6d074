"""`batchtui audit`: actions joined from their records, torn or foreign lines skipped and counted, old one-line
records still read, hostile text made printable, a missing log is not an error."""

from __future__ import annotations

import json

from batchtui import audit, cli


def write(path, *records) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))


INTENT = {"record": "intent", "planId": "p1", "time": "2026-12-02T14:00:00.000Z", "user": "alice", "host": "bastion",
          "profile": "prod", "region": "us-east-1", "endpoint": None, "action": "retry",
          "plan": {"calls": [{"operation": "SubmitJob"}, {"operation": "SubmitJob"}]}}


def test_actions_are_joined_and_their_state_told(tmp_path):
    ok_call = {"record": "call", "planId": "p1", "step": 1, "result": "ok", "jobId": "new-1"}
    actions, bad = audit.read_actions([
        json.dumps(INTENT), json.dumps(ok_call),
        json.dumps({**INTENT, "planId": "p2"}),  # killed after its intent
        '{"record": "call", "planId": "p1", "step"',  # a torn write
        json.dumps({"record": "outcome", "planId": "p1", "outcome": {"ok": False, "result": "unknown",
                                                                    "error": "step 2 lost"}}),
    ])
    assert bad == 1
    p1, p2 = actions
    assert p1.state == audit.UNKNOWN and p1.new_jobs == ["new-1"] and "outcome unknown – step 2 lost" in p1.describe()
    assert p2.state == audit.INTERRUPTED
    assert "2 calls: interrupted – outcome unknown (0 answered, step 1 may have been sent)" in p2.describe()
    assert p2.to_json()["inFlight"] == 1 and p2.to_json()["sent"] == 1


def test_old_one_line_records_still_read_as_complete_actions():
    old = {"time": "2026-11-30T10:00:00.000Z", "user": "bob", "action": "cancel", "plan": {"calls": [{}]},
           "outcome": {"ok": True, "steps": []}}
    (action,), bad = audit.read_actions([json.dumps(old)])
    assert bad == 0 and action.state == audit.DONE and "cancel" in action.describe()


def test_the_command_prints_the_last_n_printable_and_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    path = tmp_path / "batchtui" / "actions.jsonl"
    hostile = {**INTENT, "planId": "p3", "user": "\x1b]2;PWNED\x07eve\r\nfake line"}
    write(path, INTENT, {"record": "outcome", "planId": "p1", "outcome": {"ok": True}}, hostile, "not json")
    assert cli.main(["audit", "-n", "1"]) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and "eve fake line@bastion" in out and "\x1b" not in out and "PWNED" not in out
    assert err == f"batchtui: 1 unreadable line in {path} skipped\n"
    assert cli.main(["audit", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [a["planId"] for a in shown] == ["p1", "p3"] and [a["state"] for a in shown] == ["done", "interrupted"]


def test_no_log_yet_is_said_plainly(tmp_path, capsys):
    assert cli.main(["audit", "--file", str(tmp_path / "none.jsonl")]) == 0
    assert capsys.readouterr().out.startswith("no actions recorded in ")


def test_bad_flags_are_usage_errors(capsys):
    import pytest

    with pytest.raises(SystemExit) as e:
        cli.main(["audit", "-n", "many"])
    assert e.value.code == 2 and "not a whole number" in capsys.readouterr().err
