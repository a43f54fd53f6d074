"""CloudWatch Logs for simulated attempts: GetLogEvents and DescribeLogStreams over each attempt's output.

An attempt's lines are generated on demand from its unit and attempt number (deterministic), so nothing is stored per
line; lines appear as the simulated clock passes their timestamps, so a follower sees a running attempt's log grow.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from batchtui.sim.engine import ACCOUNT, REGION, Engine, SimError, Unit, draw, hash64

TOKEN_DIGITS = 56  # AWS tokens look like f/37098...; the number is a position here


def _error(code: str, message: str) -> SimError:
    return SimError(message, code=code, status=400)


def attempt_lines(engine: Engine, unit: Unit, n: int) -> list[tuple[int, str]]:
    """All (timestamp ms, message) lines attempt n will have written; the caller cuts at the clock."""
    job = unit.job
    att = (unit.attempts or [])[n - 1]
    start = att.started_at
    end = att.stopped_at if att.stopped_at is not None else att.planned_end
    keys = (engine.seed, job.name_key, unit.orig_index, unit.generation, n)
    module = (job.container.get("command") or ["python", "-m", "job"])[-1]
    module = module if module.startswith("pipeline.") else "job"
    where = f"array index {unit.index}" if unit.index is not None else "plain job"
    if unit.orig_index >= 0 and unit.orig_index != unit.index:
        where += f", re-running original index {unit.orig_index}"
    records = 1000 + int(draw(*keys, 21) * 9000)
    body = [
        f"INFO {module}: starting {job.name} ({where}), attempt {n}",
        f"INFO {module}: job id {unit.job_id}, {job.vcpus} vCPU, {job.memory:,} MiB",
        f"INFO {module}: reading manifest s3://pipeline-input/{job.name}/part-{max(unit.orig_index, 0):05d}.json",
        f"INFO {module}: {records:,} records to process",
    ]
    for pct in (25, 50, 75):
        body.append(f"INFO {module}: processed {records * pct // 100:,}/{records:,} records ({pct}%)")
    if att.outcome == "ok":
        body.append(f"INFO {module}: wrote s3://pipeline-output/{job.name}/part-{max(unit.orig_index, 0):05d}"
                    f".parquet ({draw(*keys, 22) * 900 + 20:.1f} MiB)")
        body.append(f"INFO {module}: done in {(end - start) / 1000:.1f} s")
    elif att.outcome == "exit1":
        body = body[:5] + _app_error(engine, unit, keys)
    elif att.outcome == "oom":
        gib = job.memory / 1024 * (1.05 + draw(*keys, 24) * 0.5)
        body = body[:5] + [
            f"INFO {module}: building join index ({gib:.1f} GiB estimated)",
            "WARNING: memory usage above 95% of the container limit",
            "Killed",
        ]
    elif att.outcome == "timeout":
        body = body[:6] + [f"INFO {module}: still working, {records * 60 // 100:,} records done"]
    elif att.outcome == "terminated":
        body = body[:4] + ["WARNING: received SIGTERM, shutting down", "INFO: exiting with status 143"]
    span = max(end - start, 1)
    count = len(body)
    lines = []
    for k, message in enumerate(body):
        # spread over the attempt; the last line lands at the very end (the failure's last words)
        t = start + (span * k) // max(count - 1, 1) if count > 1 else start
        lines.append((min(t, end), message))
    return lines


def _app_error(engine: Engine, unit: Unit, keys: tuple[int, ...]) -> list[str]:
    """An application error's traceback. SIM_APP_ERRORS=N (1-4, default 1) gives the job N different bugs, one per
    original index (the same on every attempt, as a bug would be), for triage to tell apart."""
    try:
        kinds = max(1, min(len(_APP_ERRORS), int(unit.job.env.get("SIM_APP_ERRORS", "1"))))
    except ValueError:
        kinds = 1
    site, error = _APP_ERRORS[hash64(engine.seed, unit.job.name_key, unit.orig_index, 25) % kinds]
    number = hash64(*keys, 23) % 10_000_000
    error = error.format(offset=number, shard=max(unit.orig_index, 0), part=max(unit.orig_index, 0))
    return ["Traceback (most recent call last):",
            '  File "/app/pipeline/__main__.py", line 88, in <module>',
            "    main()",
            '  File "/app/pipeline/__main__.py", line 61, in main',
            "    rows = transform(batch)",
            *site, error]


_APP_ERRORS = (
    (['  File "/app/pipeline/transform.py", line 142, in transform',
      '    raise ValueError(f"corrupt record at offset {offset}")'],
     "ValueError: corrupt record at offset {offset}"),
    (['  File "/app/pipeline/transform.py", line 97, in transform',
      '    expected = record["checksum"]'],
     "KeyError: 'checksum' in shard {shard}"),
    (['  File "/app/pipeline/io.py", line 30, in open_part',
      '    return open(path, "rb")'],
     "FileNotFoundError: [Errno 2] No such file or directory: '/scratch/part-{part:05d}.tmp'"),
    (['  File "/app/pipeline/io.py", line 55, in upload',
      '    s3.put_object(Bucket=bucket, Key=key, Body=data)'],
     "botocore.exceptions.ClientError: An error occurred (SlowDown) when calling the PutObject operation "
     "(reached max retries: 4): Please reduce your request rate."),
)


class LogsService:
    """The two CloudWatch Logs calls a log view needs, over awsJson1_1."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        if operation == "GetLogEvents":
            return self.get_log_events(body)
        if operation == "DescribeLogStreams":
            return self.describe_log_streams(body)
        raise _error("UnknownOperationException", f"Operation {operation} is not supported by batchtui sim")

    def _stream(self, group: str | None, name: Any) -> tuple[Unit, int]:
        if not isinstance(name, str) or not name:
            raise _error("InvalidParameterException", "logStreamName is required")
        found = self.engine.log_streams.get(name)
        if found is None or (group is not None and found[0].job.log_group != group):
            raise _error("ResourceNotFoundException", "The specified log stream does not exist.")
        return found

    def _group(self, body: dict[str, Any]) -> str | None:
        name, identifier = body.get("logGroupName"), body.get("logGroupIdentifier")
        if name is not None and identifier is not None:  # documented: "You must include either ..., but not both"
            raise _error("InvalidParameterException", "Specify either logGroupName or logGroupIdentifier, not both")
        group = name if name is not None else identifier
        if group is not None and not isinstance(group, str):
            raise _error("InvalidParameterException", "logGroupName must be a string")
        if isinstance(group, str) and group.startswith("arn:"):
            group = group.split(":log-group:", 1)[-1].removesuffix(":*")
        if group is not None and group not in self._groups():
            raise _error("ResourceNotFoundException", "The specified log group does not exist.")
        return group

    def _groups(self) -> set[str]:
        """The log groups that exist: Batch's default one and every group a job or job definition logs to (an
        awslogs-group must exist before a job can log to it)."""
        groups = set(self.engine.log_groups)  # not a scan of 20,000 jobs on every log call
        for revisions in self.engine.jobdefs.values():
            for jd in revisions:
                options = (jd.container.get("logConfiguration") or {}).get("options") or {}
                if isinstance(options.get("awslogs-group"), str):
                    groups.add(options["awslogs-group"])
        return groups

    def get_log_events(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self._group(body)
        if group is None:
            raise _error("InvalidParameterException", "logGroupName or logGroupIdentifier is required")
        unit, n = self._stream(group, body.get("logStreamName"))
        now = self.engine.now_ms
        start_time, end_time = _int_or_none(body, "startTime"), _int_or_none(body, "endTime")
        events = [(t, m) for t, m in attempt_lines(self.engine, unit, n) if t <= now
                  and (start_time is None or t >= start_time) and (end_time is None or t < end_time)]
        limit = body.get("limit", 10_000)
        if not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise _error("InvalidParameterException", "limit must be between 1 and 10000")
        token = body.get("nextToken")
        total = len(events)
        if token:
            if not isinstance(token, str) or token[:2] not in ("f/", "b/") or not token[2:].isdigit():
                raise _error("InvalidParameterException", "The specified nextToken is invalid.")
            pos = min(int(token[2:]), total)
            if token[0] == "f":
                lo, hi = pos, min(pos + limit, total)
            else:
                lo, hi = max(pos - limit, 0), pos
        elif body.get("startFromHead"):
            lo, hi = 0, min(limit, total)
        else:
            lo, hi = max(total - limit, 0), total
        page = events[lo:hi]
        forward = f"f/{hi:0{TOKEN_DIGITS}d}"
        if token and token.startswith("f/") and not page:
            forward = token  # at the end AWS hands back the token it was given
        ingest = now
        return {
            "events": [{"timestamp": t, "message": m, "ingestionTime": min(t + 200, ingest)} for t, m in page],
            "nextForwardToken": forward,
            "nextBackwardToken": f"b/{lo:0{TOKEN_DIGITS}d}",
        }

    def describe_log_streams(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self._group(body)
        if group is None:
            raise _error("InvalidParameterException", "logGroupName or logGroupIdentifier is required")
        prefix = body.get("logStreamNamePrefix") or ""
        if not isinstance(prefix, str):
            raise _error("InvalidParameterException", "logStreamNamePrefix must be a string")
        order = body.get("orderBy", "LogStreamName")
        if order not in ("LogStreamName", "LastEventTime"):
            raise _error("InvalidParameterException", f"orderBy must be LogStreamName or LastEventTime, not {order!r}")
        if prefix and order == "LastEventTime":
            raise _error("InvalidParameterException",
                         "Cannot order by LastEventTime with a logStreamNamePrefix.")
        limit = body.get("limit", 50)
        if not isinstance(limit, int) or not 1 <= limit <= 50:
            raise _error("InvalidParameterException", "limit must be between 1 and 50")
        now = self.engine.now_ms
        names = [name for name, (unit, _) in self.engine.log_streams.items()
                 if name.startswith(prefix) and unit.job.log_group == group]
        if order == "LogStreamName":
            names.sort(reverse=bool(body.get("descending")))
        else:
            names.sort(key=lambda name: self._last_event(name, now), reverse=bool(body.get("descending")))
        offset = _decode_offset(body.get("nextToken"))
        out: dict[str, Any] = {"logStreams": [self._describe(name, now) for name in names[offset:offset + limit]]}
        if offset + limit < len(names):
            out["nextToken"] = _encode_offset(offset + limit)
        return out

    def _last_event(self, name: str, now: int) -> int:
        unit, n = self.engine.log_streams[name]
        att = (unit.attempts or [])[n - 1]
        return min(now, att.stopped_at if att.stopped_at is not None else att.planned_end)

    def _describe(self, name: str, now: int) -> dict[str, Any]:
        unit, n = self.engine.log_streams[name]
        lines = [t for t, _ in attempt_lines(self.engine, unit, n) if t <= now]
        group = unit.job.log_group
        out: dict[str, Any] = {
            "logStreamName": name,
            "creationTime": (unit.attempts or [])[n - 1].started_at,
            "arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:{name}",
            "storedBytes": 0,
        }
        if lines:
            out.update(firstEventTimestamp=lines[0], lastEventTimestamp=lines[-1], lastIngestionTime=lines[-1] + 200)
        return out


def _int_or_none(body: dict[str, Any], key: str) -> int | None:
    """A Timestamp member (epoch ms, a JSON integer); botocore checks the type, a raw request may not."""
    value = body.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise _error("InvalidParameterException", f"{key} must be a number of milliseconds since the epoch")
    return value


def _encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode_offset(token: Any) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(str(token).encode()))["o"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except (ValueError, KeyError, TypeError):
        pass
    raise _error("InvalidParameterException", "The specified nextToken is invalid.")
