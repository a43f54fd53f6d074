"""The audit log: every executed action as one JSON line in `$XDG_STATE_HOME/batchtui/actions.jsonl`.

Each line holds the time (ISO 8601 UTC), the OS user, the profile/region/endpoint, the plan (its calls, targets and
what it left alone) and the outcome. A line that cannot be written raises AuditError (exit 1 in the CLI, shown in
the dashboard): an action nobody can trace afterwards must not pass unnoticed. No key or token goes in: values of
environment variables that look secret are masked, and every string goes through `aws.redact`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batchtui.errors import BatchtuiError
from batchtui.execute import Outcome
from batchtui.plan import Plan, os_user

FILE_NAME = "actions.jsonl"
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_?KEY|AUTH", re.I)
MASK = "[redacted]"


class AuditError(BatchtuiError):
    """The audit line could not be written."""


def audit_path() -> Path:
    """$XDG_STATE_HOME/batchtui/actions.jsonl, else the platform's state directory (platformdirs)."""
    xdg = os.environ.get("XDG_STATE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore a relative path
        return Path(xdg) / "batchtui" / FILE_NAME
    from platformdirs import user_state_dir

    return Path(user_state_dir("batchtui")) / FILE_NAME


def record(plan: Plan, outcome: Outcome, *, user: str | None = None, profile: str | None = None,
           region: str | None = None, endpoint: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    from batchtui.aws import safe_url

    when = (now or datetime.now(UTC)).astimezone(UTC)
    line = {
        "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "user": user or os_user(),
        "profile": profile or os.environ.get("AWS_PROFILE"),
        "region": region,
        "endpoint": safe_url(endpoint) if endpoint else None,
        "action": plan.kind,
        "fingerprint": plan.fingerprint,
        "plan": plan.to_json(),
        "outcome": outcome.to_json(),
    }
    return _scrub(line)


def append(line: Mapping[str, Any], path: Path | None = None) -> Path:
    """Append one JSON line; AuditError naming the file and the cause when it cannot be written."""
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
        finally:
            os.close(fd)
    except OSError as e:
        why = e.strerror or str(e)
        raise AuditError(f"the action was carried out but could not be recorded in the audit log {path}: {why}") \
            from None
    return path


def append_action(plan: Plan, outcome: Outcome, path: Path | None = None, **context: Any) -> Path:
    """record() + append(): what the CLI and the dashboard call after execute()."""
    return append(record(plan, outcome, **context), path)


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
        if key == "fingerprint":  # our own sha256, not a secret
            return value
        return MASK if key is not None and SECRET_NAME.search(key) else redact(value)
    return value
