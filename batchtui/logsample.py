"""Reading failed attempts' logs for triage's signatures: whose (`triage.sample_wanted`), where (the last attempt's
log stream and the job definition's log group, from DescribeJobs) and when (spare tokens of the call budget, after
the status reads, a few a refresh), never stalling or failing a refresh.

    sampler = LogSampler(api)
    await sampler.step(jobs)              # at the end of a refresh; then
    job = replace(job, log_samples=sampler.samples(job.job_id))

A finished attempt's log never changes, so what was read is kept for the session, keyed by its log stream, and a
failure is read at most once (twice when the first try met throttling or an AWS error). Per app group triage asks
for SAMPLE_PER_GROUP logs, SAMPLE_MIXED at most, so a job with 2,000 failures of a few kinds costs a few dozen
GetLogEvents calls in all, however many failures there are. A log that cannot be read (no stream, an empty or binary
log, a missing or unreadable log group) leaves its failure grouped by exit code and reason; a log group that is
missing or not readable is said once (`note`) and not asked again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from batchtui.aws import DEFAULT_LOG_GROUP, BatchPort, LogGroupNotFound, LogStreamNotFound
from batchtui.errors import AccessDenied, BatchtuiError
from batchtui.model import Job, LogSample, Status
from batchtui.triage import LOG_TAIL, last_error_line, sample_wanted

log = logging.getLogger(__name__)

SAMPLES_PER_REFRESH = 20  # failures whose logs one refresh reads at most (one DescribeJobs, 20 GetLogEvents)
STEP_S = 3.0  # the most one refresh spends on logs; what is left waits for the next refresh
PATIENCE_S = 0.5  # how long a call waits for a spare token before the step leaves the rest for later
MAX_TRIES = 2  # a log that met throttling or an AWS error is tried once more, in a later refresh

Key = tuple[str, int | None]  # (job id, index or None for a plain job)


@dataclass(frozen=True, slots=True)
class LogTarget:
    group: str
    stream: str


def log_target(detail: Mapping[str, Any]) -> LogTarget | None:
    """Where a described job's (or child's) last attempt logged: its stream, and the awslogs group of its job
    definition (Batch's /aws/batch/job unless logConfiguration says otherwise); None when it has no CloudWatch log
    (it never started, another log driver, no container)."""
    container = detail.get("container")
    container = container if isinstance(container, Mapping) else {}
    attempts = detail.get("attempts")
    last = attempts[-1] if isinstance(attempts, list) and attempts and isinstance(attempts[-1], Mapping) else {}
    last_container = last.get("container")
    last_container = last_container if isinstance(last_container, Mapping) else {}
    stream = last_container.get("logStreamName") or container.get("logStreamName")
    if not isinstance(stream, str) or not stream:
        return None
    conf = container.get("logConfiguration")
    conf = conf if isinstance(conf, Mapping) else {}
    if (conf.get("logDriver") or "awslogs") != "awslogs":
        return None
    options = conf.get("options")
    options = options if isinstance(options, Mapping) else {}
    group = options.get("awslogs-group")
    return LogTarget(group if isinstance(group, str) and group else DEFAULT_LOG_GROUP, stream)


def _child_id(key: Key) -> str:
    job_id, index = key
    return job_id if index is None else f"{job_id}:{index}"


class LogSampler:
    """The log samples of one session: what was read, what was tried, and the call counts."""

    def __init__(self, api: BatchPort) -> None:
        self.api = api
        self.by_stream: dict[LogTarget, LogSample] = {}  # the cache: a finished attempt's log never changes
        self._samples: dict[str, dict[int | None, LogSample]] = {}
        self._tried: dict[str, set[int | None]] = {}  # read, or given up on
        self._where: dict[Key, LogTarget | None] = {}  # described: where its log is (None: it has none)
        self._tries: Counter[Key] = Counter()
        self._quiet: dict[str, int] = {}  # job id → its failed count when it last wanted nothing
        self.unreadable: dict[str, str] = {}  # log group → why it cannot be read
        self.log_calls = 0  # GetLogEvents requests sent (each HTTP attempt)
        self.describe_calls = 0  # DescribeJobs sent to find log streams

    @property
    def note(self) -> str | None:
        """What could not be read, once per log group: shown beside the groups, never a failed refresh."""
        if not self.unreadable:
            return None
        return "; ".join(f"{why} ({group}): failure signatures there come from the reasons AWS lists"
                         for group, why in sorted(self.unreadable.items()))

    def samples(self, job_id: str) -> Mapping[int | None, LogSample]:
        return MappingProxyType(dict(self._samples.get(job_id) or {}))

    async def step(self, jobs: Iterable[Job]) -> None:
        """Read the logs triage wants next, within STEP_S and spare tokens; anything that goes wrong is kept to
        the samples (a log read must never break the refresh)."""
        try:
            async with asyncio.timeout(STEP_S):
                await self._step(list(jobs))
        except TimeoutError:
            pass
        except Exception:  # noqa: BLE001 - see above; the cause goes to the debug log
            log.debug("log sampling failed", exc_info=True)

    async def _step(self, jobs: list[Job]) -> None:
        wanted = self._wanted(jobs)[:SAMPLES_PER_REFRESH]
        if not wanted or not await self._describe([k for k in wanted if k not in self._where]):
            return
        for key in wanted:
            if key not in self._where:
                continue  # not described (no answer for it yet)
            if not await self._read(key):
                return  # no spare budget: the rest next refresh

    def _wanted(self, jobs: list[Job]) -> list[Key]:
        out: list[Key] = []
        for job in jobs:
            failed = job.array.count(Status.FAILED) if job.array is not None else int(job.status is Status.FAILED)
            if not failed or self._quiet.get(job.job_id) == failed:
                continue  # nothing failed, or nothing new failed since it last wanted nothing
            job = replace(job, log_samples=self.samples(job.job_id))
            keys = [(job.job_id, i) for i in sample_wanted(job, self._tried.get(job.job_id, set()))]
            if not keys:
                self._quiet[job.job_id] = failed
            out.extend(keys)
        return out

    async def _describe(self, keys: list[Key]) -> bool:
        """Where the wanted failures' logs are (one DescribeJobs for up to 100); False when the budget had no
        spare token for it."""
        if not keys:
            return True
        if not await self.api.spare(PATIENCE_S):
            return False
        self.describe_calls += 1
        try:
            found = await self.api.describe_jobs([_child_id(k) for k in keys])
        except BatchtuiError as e:
            log.debug("describing failures for their logs failed: %s", e)
            return False
        by_id = {str(d.get("jobId")): d for d in found if isinstance(d, Mapping)}
        for key in keys:
            detail = by_id.get(_child_id(key))
            self._where[key] = log_target(detail) if detail is not None else None
        return True

    async def _read(self, key: Key) -> bool:
        """Read one failure's log (or take it from the cache); False when no spare token came."""
        target = self._where[key]
        if target is None or target.group in self.unreadable:
            self._record(key, None)
            return True
        cached = self.by_stream.get(target)
        if cached is not None:
            self._record(key, cached)
            return True
        sent = getattr(self.api, "log_calls", 0)
        try:
            messages = await self.api.tail_log(target.group, target.stream, LOG_TAIL, PATIENCE_S)
        except (AccessDenied, LogGroupNotFound) as e:
            self.unreadable[target.group] = ("no permission for logs:GetLogEvents" if isinstance(e, AccessDenied)
                                             else "the log group does not exist")
            self._record(key, None)
            return True
        except LogStreamNotFound:
            messages = []  # expired, or never written: nothing to read, now or later
        except Exception as e:  # noqa: BLE001 - throttled, AWS-side, a malformed answer: maybe next time
            self._tries[key] += 1
            log.debug("reading %s failed: %s", target.stream, e)
            if self._tries[key] >= MAX_TRIES:
                self._record(key, None)
            return True
        finally:
            self.log_calls += getattr(self.api, "log_calls", 0) - sent  # every HTTP attempt, retries included
        if messages is None:
            return False  # no spare token: nothing was sent
        sample = LogSample(target.stream, last_error_line(messages))
        self.by_stream[target] = sample
        self._record(key, sample)
        return True

    def _record(self, key: Key, sample: LogSample | None) -> None:
        job_id, index = key
        self._tried.setdefault(job_id, set()).add(index)
        if sample is not None:
            self._samples.setdefault(job_id, {})[index] = sample
