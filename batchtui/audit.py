"""The audit log: every action, as it happens, in `$XDG_STATE_HOME/batchtui/actions.jsonl` (one JSON record a line).

An action is written as it runs (`Journal`, the executor's recorder), all records sharing its `planId`:

    {"record": "intent",  "planId", "time", "user", "host", "profile", "region", "endpoint", "account",
                          "action", "fingerprint", "plan"}          before the first call, flushed to disk
    {"record": "call",    "planId", "time", "step", "operation", "result": "ok"|"error"|"unknown", "jobId", ...}
    {"record": "outcome", "planId", "time", "outcome"}              or "interrupted": true, "inFlight": step

An intent without an outcome is a run that was killed: `read_actions` (and `batchtui audit`) calls it
"interrupted – outcome unknown". An intent that cannot be written stops the action before any call; a later record
that cannot be written is reported when the action ends (exit 1 in the CLI, shown in the dashboard).

No key or token goes in: values of environment variables and tags whose names say SECRET/TOKEN/PASSWORD/KEY… are
masked, and every other string goes through `aws.redact` (real credential shapes only, so paths stay readable).
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batchtui.errors import BatchtuiError
from batchtui.execute import Outcome, StepResult
from batchtui.plan import Plan, os_user
from batchtui.statedir import state_dir

FILE_NAME = "actions.jsonl"
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_?KEY|AUTH", re.I)
MASK = "[redacted]"
_ACCOUNT = re.compile(r"arn:aws[\w-]*:batch:[\w-]+:(\d{12}):")

INTENT, CALL, OUTCOME = "intent", "call", "outcome"
# What became of an action, as `batchtui audit` reports it.
DONE, FAILED, UNKNOWN, INTERRUPTED, STOPPED = "done", "failed", "outcome-unknown", "interrupted", "stopped"


class AuditError(BatchtuiError):
    """An audit record could not be written."""


def audit_path() -> Path:
    """$XDG_STATE_HOME/batchtui/actions.jsonl, else the platform's state directory (platformdirs)."""
    return state_dir() / FILE_NAME


def _now(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def account_of(plan: Plan) -> str | None:
    """The AWS account, when an ARN in the plan names it (a queue or job definition ARN does)."""
    found = _ACCOUNT.search(json.dumps(plan.to_json()))
    return found.group(1) if found else None


def who(*, user: str | None = None, profile: str | None = None, region: str | None = None,
        endpoint: str | None = None) -> dict[str, Any]:
    """Who acts, from where: the fields every intent carries."""
    from batchtui.aws import safe_url

    return {
        "user": user or os_user(),
        "host": socket.gethostname(),
        "profile": profile or os.environ.get("AWS_PROFILE"),
        "region": region,
        "endpoint": safe_url(endpoint) if endpoint else None,
    }


def intent_record(run_id: str, plan: Plan, context: Mapping[str, Any], now: datetime | None = None) -> dict:
    return _scrub({"record": INTENT, "planId": run_id, "time": _now(now), **context, "account": account_of(plan),
                   "action": plan.kind, "fingerprint": plan.fingerprint, "plan": plan.to_json()})


def call_record(run_id: str, result: StepResult, now: datetime | None = None) -> dict:
    return _scrub({"record": CALL, "planId": run_id, "time": _now(now), **result.to_json()})


def outcome_record(run_id: str, outcome: Outcome | None, in_flight: int | None = None,
                   now: datetime | None = None) -> dict:
    if outcome is None:  # interrupted: whatever was in flight may or may not have happened
        line = {"record": OUTCOME, "planId": run_id, "time": _now(now), "interrupted": True,
                "inFlight": None if in_flight is None else in_flight + 1}
    else:
        line = {"record": OUTCOME, "planId": run_id, "time": _now(now), "outcome": outcome.to_json()}
    return _scrub(line)


def append(line: Mapping[str, Any], path: Path | None = None) -> Path:
    """Append one JSON line and flush it to disk; AuditError naming the file and the cause when it cannot."""
    path = path or audit_path()
    text = json.dumps(line, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_APPEND: one write per line, so concurrent batchtui processes do not interleave within a line
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            data = text.encode()
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(f"short write ({written} of {len(data)} bytes)")
            os.fsync(fd)  # the intent must survive a crash or a kill that follows at once
        finally:
            os.close(fd)
    except OSError as e:
        why = e.strerror or str(e)
        raise AuditError(f"could not write to the audit log {path}: {why}") from None
    return path


@dataclass
class Journal:
    """The executor's recorder: intent before the first call, one record per call, then the outcome.

    An intent that cannot be written raises (nothing has been sent). Later failures are kept in `error`: the calls
    have happened by then, and the person must hear that they went unrecorded."""

    path: Path | None = None
    context: Mapping[str, Any] = field(default_factory=dict)  # who(): user, host, profile, region, endpoint
    error: AuditError | None = None

    def intent(self, run_id: str, plan: Plan) -> None:
        try:
            append(intent_record(run_id, plan, self.context), self.path)
        except AuditError as e:
            raise AuditError(f"nothing was done: {e} (every action is recorded before it is sent)") from None

    def call(self, run_id: str, result: StepResult) -> None:
        self._keep(call_record(run_id, result))

    def outcome(self, run_id: str, outcome: Outcome | None, in_flight: int | None) -> None:
        self._keep(outcome_record(run_id, outcome, in_flight))

    def _keep(self, line: Mapping[str, Any]) -> None:
        try:
            append(line, self.path)
        except AuditError as e:
            if self.error is None:
                self.error = AuditError(f"the action was carried out but not fully recorded: {e}")


# --- reading it back ------------------------------------------------------------------------------------------


@dataclass
class Action:
    """One action joined from its records: what was meant, each call's result, how it ended."""

    plan_id: str
    intent: dict[str, Any]
    calls: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] | None = None

    @property
    def state(self) -> str:
        if self.end is None or self.end.get("interrupted"):
            return INTERRUPTED
        outcome = self.end.get("outcome") or {}
        if outcome.get("ok"):
            return DONE
        if outcome.get("result") == "unknown" or any(c.get("result") == "unknown" for c in self.calls):
            return UNKNOWN
        if str(outcome.get("error") or "").startswith("stopped by request"):
            return STOPPED
        return FAILED

    @property
    def planned(self) -> int:
        return len((self.intent.get("plan") or {}).get("calls") or [])

    @property
    def new_jobs(self) -> list[str]:
        return [str(c["jobId"]) for c in self.calls if c.get("jobId")]

    @property
    def error(self) -> str | None:
        return ((self.end or {}).get("outcome") or {}).get("error")

    def to_json(self) -> dict[str, Any]:
        i = self.intent
        return {"planId": self.plan_id, "time": i.get("time"), "action": i.get("action"), "state": self.state,
                "user": i.get("user"), "host": i.get("host"), "profile": i.get("profile"), "region": i.get("region"),
                "endpoint": i.get("endpoint"), "account": i.get("account"), "calls": self.planned,
                "sent": len(self.calls) + (1 if self._in_flight else 0), "newJobs": self.new_jobs,
                "error": self.error,
                "inFlight": self._in_flight}

    @property
    def _in_flight(self) -> int | None:
        if self.end is None:  # killed: the step after the last recorded one may have been sent
            return len(self.calls) + 1 if len(self.calls) < self.planned else None
        return self.end.get("inFlight")

    def describe(self) -> str:
        """One line for a person."""
        i = self.intent
        where = " · ".join(str(x) for x in (i.get("profile") and f"profile {i['profile']}", i.get("region"),
                                            i.get("endpoint")) if x)
        head = f"{i.get('time', '?')}  {i.get('action', '?'):<6}  {i.get('user', '?')}@{i.get('host') or '?'}"
        head += f"  {where}" if where else ""
        n = self.planned
        calls = f"{n} call{'s' if n != 1 else ''}"
        state = self.state
        if state == DONE:
            what = f"{calls}: done" + (f", new jobs {', '.join(self.new_jobs)}" if self.new_jobs else "")
        elif state == INTERRUPTED:
            flight = self._in_flight
            what = (f"{calls}: interrupted – outcome unknown ({len(self.calls)} answered"
                    + (f", step {flight} may have been sent" if flight else "") + ")")
        elif state == UNKNOWN:
            what = f"{calls}: outcome unknown – {self.error}"
        else:
            what = f"{calls}: {state} – {self.error}"
        return f"{head}  [{self.plan_id}]  {what}"


def read_actions(lines: Iterable[str]) -> tuple[list[Action], int]:
    """Actions in the order they began, and how many lines could not be read (a torn write, a hand edit)."""
    actions: dict[str, Action] = {}
    bad = 0
    for n, text in enumerate(lines):
        try:
            line = json.loads(text)
        except ValueError:
            bad += bool(text.strip())
            continue
        if not isinstance(line, dict):
            bad += 1
            continue
        kind, plan_id = line.get("record"), str(line.get("planId") or "")
        if kind is None and "plan" in line:  # the one-line records of batchtui before 0.2: complete by themselves
            plan_id = f"line-{n + 1}"
            actions[plan_id] = Action(plan_id, line, [], {"outcome": line.get("outcome") or {}})
        elif kind == INTENT and plan_id:
            actions[plan_id] = Action(plan_id, line)
        elif kind == CALL and plan_id in actions:
            actions[plan_id].calls.append(line)
        elif kind == OUTCOME and plan_id in actions:
            actions[plan_id].end = line
        else:
            bad += 1
    return list(actions.values()), bad


def _scrub(value: Any, key: str | None = None) -> Any:
    from batchtui.aws import redact

    if isinstance(value, Mapping):
        # environment entries are {"name": ..., "value": ...}: mask the value when the name looks secret
        if set(value) == {"name", "value"} and SECRET_NAME.search(str(value.get("name"))):
            return {"name": value["name"], "value": MASK}
        return {k: _scrub(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        if key in ("fingerprint", "planId"):  # our own ids, not secrets
            return value
        return MASK if key is not None and SECRET_NAME.search(key) else redact(value)
    return value


# --- `batchtui audit` -----------------------------------------------------------------------------------------


def main(args: Any) -> int:
    """The last N actions, one line each (or one JSON array), oldest first; 1 when the log cannot be read."""
    from batchtui.sanitize import printable

    path = Path(args.file) if args.file else audit_path()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            actions, bad = read_actions(f)
    except FileNotFoundError:
        actions, bad = [], 0
    except OSError as e:
        raise BatchtuiError(f"cannot read the audit log {path}: {e.strerror or e}") from None
    shown = actions[-args.last:] if args.last else actions
    if args.json:
        print(json.dumps([a.to_json() for a in shown], ensure_ascii=False))
    elif not shown:
        print(f"no actions recorded in {printable(str(path))}")
    else:
        for a in shown:
            print(printable(a.describe()))
    if bad:
        import sys

        print(f"batchtui: {bad} unreadable line{'s' if bad != 1 else ''} in {path} skipped", file=sys.stderr)
    return 0
