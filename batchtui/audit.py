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

Read back for the dashboard and --once/--watch (`HistoryReader`): the jobs this machine's SubmitJobs made (a retry
sent to another queue is followed by id, as no listing of the watched queue shows it) and the cancels AWS accepted
(who, when, terminate or cancel), as typed records – only for the --since window, read backwards from the end of the
file, then only what was appended since.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from batchtui.errors import BatchtuiError
from batchtui.execute import Outcome, StepResult
from batchtui.model import RETRY_OF_TAG, Cancel, split_child_id
from batchtui.plan import CANCEL, SUBMIT, TERMINATE, Plan, os_user
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


# --- what this machine sent, for the poller and the screens -----------------------------------------------------

# Records of processes acting at the same time interleave, and an action's calls come after its intent: the window
# is read this much further back, so an action begun just before it is not cut in half.
SLACK_S = 3600.0
BLOCK = 64 * 1024  # read backwards in blocks of this size
_TIME = re.compile(rb'"time"\s*:\s*"([^"]{1,40})"')


@dataclass(frozen=True, slots=True)
class Submitted:
    """A job one of this machine's SubmitJobs made: a retry (or a waiting step sent later) and where it went."""

    job_id: str
    job_name: str
    queue: str | None  # the jobQueue the SubmitJob named
    retry_of: str | None  # its batchtui:retry-of tag
    at: datetime  # when AWS answered


@dataclass(frozen=True, slots=True)
class History:
    """What the audit log holds for the window: the jobs submitted and the cancels AWS accepted, oldest first."""

    submitted: tuple[Submitted, ...] = ()
    cancels: tuple[Cancel, ...] = ()
    unreadable: int = 0  # lines that were not records (a torn write, a hand edit)
    read_bytes: int = 0  # how much of the file the reads so far took in (a bounded read: the window, then appends)

    @property
    def job_ids(self) -> tuple[str, ...]:
        return tuple(s.job_id for s in self.submitted)


@dataclass(frozen=True, slots=True)
class _Intent:
    """What a call record needs from its action's intent."""

    user: str | None
    steps: tuple[Mapping[str, Any], ...]  # the plan's calls' params, by step
    names: Mapping[str, str]  # the plan's targets: job id → name


class HistoryReader:
    """Reads the audit log for `since_s` back from now, kept to the records of one endpoint and region (job ids of a
    simulator repeat; a cancel there is nothing to a real account). The first `read` takes the window from the end
    of the file, stopping at the first record older than it; each later one reads only what was appended since
    (another batchtui's retry, this dashboard's own), and forgets what left the window."""

    def __init__(self, path: Path | None = None, *, since_s: float, endpoint: str | None = None,
                 region: str | None = None, user: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.since_s = since_s
        self._where = (_url(endpoint), region)
        self._user = user or os_user()
        self._clock = clock
        self._offset = 0
        self._file: tuple[int, int] | None = None  # (device, inode) read so far: a new file is read anew
        self._intents: dict[str, tuple[datetime, _Intent | None]] = {}  # None: another endpoint's, or no plan
        self._submitted: dict[str, Submitted] = {}
        self._cancels: list[Cancel] = []
        self._bad = 0
        self._read = 0

    def read(self) -> History:
        """The window as the file holds it now; a log that cannot be read is an empty history (nothing to add)."""
        path = self.path or audit_path()
        cutoff = datetime.fromtimestamp(self._clock() - self.since_s, UTC)
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                if self._file != (st.st_dev, st.st_ino) or st.st_size < self._offset:  # new, replaced, truncated
                    self._restart((st.st_dev, st.st_ino))
                    lines, self._offset = _window(f, st.st_size, cutoff - timedelta(seconds=SLACK_S))
                else:
                    lines, self._offset = _appended(f, self._offset, st.st_size)
        except OSError:
            return self._history(cutoff)
        for line in lines:
            self._read += len(line) + 1
            self._take(line)
        return self._history(cutoff)

    def _restart(self, file: tuple[int, int]) -> None:
        self._file, self._offset = file, 0
        self._intents, self._submitted, self._cancels, self._bad, self._read = {}, {}, [], 0, 0

    def _history(self, cutoff: datetime) -> History:
        old = cutoff - timedelta(seconds=SLACK_S)
        self._intents = {k: v for k, v in self._intents.items() if v[0] >= old}
        self._submitted = {k: v for k, v in self._submitted.items() if v.at >= cutoff}
        self._cancels = [c for c in self._cancels if c.at >= cutoff]
        return History(tuple(self._submitted.values()), tuple(self._cancels), self._bad, self._read)

    def _take(self, raw: bytes) -> None:
        try:
            line = json.loads(raw)
        except ValueError:
            self._bad += bool(raw.strip())
            return
        if not isinstance(line, dict):
            self._bad += 1
            return
        at = _time(line.get("time"))
        kind, plan_id = line.get("record"), str(line.get("planId") or "")
        if at is None or not plan_id:
            return  # batchtui's records before 0.2 (one line an action, no calls): nothing to follow in them
        if kind == INTENT:
            self._intents[plan_id] = (at, self._intent(line))
        elif kind == CALL and plan_id in self._intents:
            intent = self._intents[plan_id][1]
            if intent is not None and line.get("ok") is True:
                self._call(line, intent, at)

    def _intent(self, line: Mapping[str, Any]) -> _Intent | None:
        if (_url(line.get("endpoint")), line.get("region") or self._where[1]) != self._where:
            return None
        plan = line.get("plan")
        if not isinstance(plan, Mapping):
            return None
        steps: tuple[Mapping[str, Any], ...] = tuple(
            c["params"] if isinstance(c, Mapping) and isinstance(c.get("params"), Mapping) else {}
            for c in plan.get("calls") or ())
        names = {str(t.get("jobId")): str(t.get("jobName") or t.get("jobId")) for t in plan.get("targets") or ()
                 if isinstance(t, Mapping) and t.get("jobId")}
        user = line.get("user")
        return _Intent(user if isinstance(user, str) else None, steps, names)

    def _call(self, line: Mapping[str, Any], intent: _Intent, at: datetime) -> None:
        op, step = line.get("operation"), line.get("step")
        params: Mapping[str, Any] = (intent.steps[step - 1] if isinstance(step, int) and 0 < step <= len(intent.steps)
                                     else {})
        if op == SUBMIT and isinstance(line.get("jobId"), str):
            tags = params.get("tags")
            queue, of = params.get("jobQueue"), tags.get(RETRY_OF_TAG) if isinstance(tags, Mapping) else None
            job_id = line["jobId"]
            self._submitted[job_id] = Submitted(job_id, str(line.get("jobName") or job_id),
                                                queue if isinstance(queue, str) else None,
                                                of if isinstance(of, str) else None, at)
        elif op in (CANCEL, TERMINATE):
            by = "you" if intent.user in (None, self._user) else intent.user
            self._cancels.extend(_cancels(line.get("successful"), intent.names, at, op == TERMINATE, by))


def _cancels(successful: Any, names: Mapping[str, str], at: datetime, terminate: bool,
             by: str | None) -> Iterator[Cancel]:
    """A bulk cancel's accepted ids as Cancels, like execute.accepted_cancels: a whole job, or a job's indices."""
    indices: dict[str, list[int]] = {}
    for text in successful if isinstance(successful, list) else ():
        if not isinstance(text, str):
            continue
        job_id, index = split_child_id(text)
        if index is None:
            yield Cancel(job_id, names.get(job_id, job_id), None, at, terminate, by or "you")
        else:
            indices.setdefault(job_id, []).append(index)
    for job_id, took in indices.items():
        yield Cancel(job_id, names.get(job_id, job_id), tuple(took), at, terminate, by or "you")


def _window(f: BinaryIO, size: int, cutoff: datetime) -> tuple[list[bytes], int]:
    """The complete lines at the end of the file back to the first one older than `cutoff` (oldest first), and
    the offset after the last complete line. Read backwards a block at a time: a big log costs its window only."""
    end = _complete_end(f, size)  # an unfinished last line (a write in progress) waits for the next read
    out: list[bytes] = []
    pos, rest = end, b""
    while pos > 0:
        start = max(0, pos - BLOCK)
        f.seek(start)
        lines = (f.read(pos - start) + rest).split(b"\n")
        pos = start
        rest = lines.pop(0) if pos > 0 else b""  # the first piece may be the end of a line further back
        for line in reversed(lines):
            found = _TIME.search(line, 0, 200) if line else None
            if found is not None and (t := _time(found.group(1).decode("ascii", "replace"))) and t < cutoff:
                out.reverse()
                return out, end
            if line:
                out.append(line)
    out.reverse()
    return out, end


def _complete_end(f: BinaryIO, size: int) -> int:
    """The offset just after the file's last newline (0 when it has none)."""
    pos = size
    while pos > 0:
        start = max(0, pos - BLOCK)
        f.seek(start)
        cut = f.read(pos - start).rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        pos = start
    return 0


def _appended(f: BinaryIO, offset: int, size: int) -> tuple[list[bytes], int]:
    """The complete lines written after `offset`, and the offset after the last of them."""
    f.seek(offset)
    data = f.read(size - offset)
    cut = data.rfind(b"\n")
    if cut < 0:
        return [], offset
    return [line for line in data[:cut].split(b"\n") if line], offset + cut + 1


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _url(endpoint: Any) -> str | None:
    from batchtui.aws import safe_url

    return safe_url(endpoint) if isinstance(endpoint, str) and endpoint else None


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
